/**
 * Release artifacts from one command (`npm run release`, after the build):
 *
 * - the npm tarball, `kubectl-email-validate-VERSION.tgz`. Its dependencies are bundled
 *   (`bundleDependencies`, set on a staged copy only: in the repository's own
 *   package.json it would make `npm ci` run install scripts that allowScripts keeps
 *   off), installed there from package-lock.json with `npm ci --omit=dev`, so
 *   `npm install -g ./kubectl-email-validate-VERSION.tgz` needs no registry and
 *   installs exactly the versions this repository tested;
 * - the krew archive, `kubectl-email-validate-vVERSION.tar.gz`: the same package tree,
 *   written reproducibly (sorted names, fixed times and owners, gzip without a name or
 *   time), so the same commit gives the same digest;
 * - the single executable for linux-x64 (plugin/build-sea.ts), `kubectl-email_validate-linux-x64`,
 *   and its krew archive `kubectl-email-validate-vVERSION-linux-amd64.tar.gz` (the
 *   executable and LICENSE, written as reproducibly as the other archive), when this
 *   machine can build it (else a note on stderr says why, and the rest is released);
 * - `email-validate.yaml`, the krew manifest from manifests/krew/ with the real sha256
 *   of the archive each platform installs: linux/amd64 the single executable (no
 *   Node.js needed), the others the JavaScript archive (krew's caveat says Node.js
 *   >= 22.19 must be on PATH there);
 * - `SHA256SUMS` for all of them.
 *
 *   node plugin/release.ts [--out DIR] [--no-sea]     (default dist/release)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { buildSea, seaUnsupported } from './build-sea.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ReleaseArtifacts {
  tarball: string;
  krewArchive: string;
  krewManifest: string;
  sums: string;
  /** The single executable and its krew archive; null when this machine cannot build one. */
  sea: { executable: string; krewArchive: string } | null;
}

/** A krew archive that installs the single executable instead of the JavaScript tree. */
export interface SeaKrewArchive {
  name: string;
  sha256: string;
  /** krew's platform selector, e.g. { os: 'linux', arch: 'amd64' }. */
  os: string;
  arch: string;
}

/** The krew manifest's name of the executable inside the archive (krew links it as the plugin). */
const SEA_BIN = 'kubectl-email_validate';

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The krew manifest template with the archive's digest on every platform and the files it unpacks. */
export function renderKrewManifest(
  template: string,
  archiveName: string,
  digest: string,
  version: string,
  seaArchives: SeaKrewArchive[] = [],
): string {
  const doc = parseDocument(template);
  const platforms = doc.getIn(['spec', 'platforms']) as {
    items: Array<{
      set(k: string, v: unknown): void;
      get(k: string): unknown;
      getIn(p: string[]): unknown;
    }>;
  };
  for (const platform of platforms.items) {
    const uri = String(platform.get('uri'));
    const sea = seaArchives.find(
      (a) =>
        platform.getIn(['selector', 'matchLabels', 'os']) === a.os &&
        platform.getIn(['selector', 'matchLabels', 'arch']) === a.arch,
    );
    if (sea) {
      platform.set('uri', uri.replace(/[^/]+$/, sea.name));
      platform.set('sha256', sea.sha256);
      platform.set('files', [
        { from: SEA_BIN, to: '.' },
        { from: 'LICENSE', to: '.' },
      ]);
      platform.set('bin', SEA_BIN);
      continue;
    }
    platform.set('uri', uri.replace(/[^/]+$/, archiveName));
    platform.set('sha256', digest);
    // The archive holds npm's `package/` folder; krew copies its contents into the plugin's folder.
    platform.set('files', [{ from: 'package/*', to: '.' }]);
    platform.set('bin', 'plugin/bin/run.js');
  }
  doc.setIn(['spec', 'version'], `v${version}`);
  return doc.toString({ lineWidth: 0 });
}

/** tar + gzip without names, times or owners that vary: the same input gives the same digest. */
function reproducibleTarGz(out: string, cwd: string, entries: string[]): void {
  run(
    'tar',
    [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mode=u+rwX,go+rX,go-w',
      '-czf',
      out,
      ...entries,
    ],
    cwd,
    { ...process.env, GZIP: '-n' },
  );
}

export async function release(
  outDir: string,
  options: { sea?: boolean } = {},
): Promise<ReleaseArtifacts> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  mkdirSync(outDir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'ev-release-'));
  try {
    // The build already ran (npm run release runs it first); skip the prepare script.
    const plain = run(
      'npm',
      ['pack', '--ignore-scripts', '--silent', '--pack-destination', stage],
      root,
    )
      .trim()
      .split('\n')
      .pop()!;
    const staged = join(stage, 'staged');
    mkdirSync(staged);
    run('tar', ['-xzf', join(stage, plain), '-C', staged], root);
    const pkgDir = join(staged, 'package');
    copyFileSync(join(root, 'package-lock.json'), join(pkgDir, 'package-lock.json'));
    run(
      'npm',
      [
        'ci',
        '--omit=dev',
        '--ignore-scripts',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      pkgDir,
    );
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    writeFileSync(
      join(pkgDir, 'package.json'),
      `${JSON.stringify({ ...manifest, bundleDependencies: true }, null, 2)}\n`,
    );
    rmSync(join(pkgDir, 'package-lock.json'));
    const packed = run(
      'npm',
      ['pack', '--ignore-scripts', '--silent', '--pack-destination', stage],
      pkgDir,
    )
      .trim()
      .split('\n')
      .pop()!;
    const tarball = join(outDir, packed);
    copyFileSync(join(stage, packed), tarball);

    const tree = join(stage, 'tree');
    mkdirSync(tree);
    run('tar', ['-xzf', tarball, '-C', tree], root);
    const archiveName = `${pkg.name}-v${pkg.version}.tar.gz`;
    const krewArchive = join(outDir, archiveName);
    reproducibleTarGz(krewArchive, tree, ['package']);

    let sea: ReleaseArtifacts['sea'] = null;
    const seaArchives: SeaKrewArchive[] = [];
    const why = options.sea === false ? 'not asked for (--no-sea)' : seaUnsupported();
    if (why === null) {
      const executable = join(outDir, `${SEA_BIN}-linux-x64`);
      await buildSea(executable);
      const seaTree = join(stage, 'sea');
      mkdirSync(seaTree);
      copyFileSync(executable, join(seaTree, SEA_BIN));
      copyFileSync(join(root, 'LICENSE'), join(seaTree, 'LICENSE'));
      const name = `${pkg.name}-v${pkg.version}-linux-amd64.tar.gz`;
      reproducibleTarGz(join(outDir, name), seaTree, [SEA_BIN, 'LICENSE']);
      sea = { executable, krewArchive: join(outDir, name) };
      seaArchives.push({ name, sha256: sha256(sea.krewArchive), os: 'linux', arch: 'amd64' });
    } else {
      process.stderr.write(`release: no single executable: ${why}\n`);
    }

    const krewManifest = join(outDir, 'email-validate.yaml');
    const template = readFileSync(join(root, 'manifests', 'krew', 'email-validate.yaml'), 'utf8');
    writeFileSync(
      krewManifest,
      renderKrewManifest(template, archiveName, sha256(krewArchive), pkg.version, seaArchives),
    );

    const sums = join(outDir, 'SHA256SUMS');
    // Only what this run wrote: files left in the out dir by earlier runs are not this release.
    const files = [
      tarball,
      krewArchive,
      krewManifest,
      ...(sea ? [sea.executable, sea.krewArchive] : []),
    ]
      .map((f) => basename(f))
      .sort();
    writeFileSync(sums, files.map((f) => `${sha256(join(outDir, f))}  ${f}\n`).join(''));
    return { tarball, krewArchive, krewManifest, sums, sea };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = resolve(
    i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, 'dist', 'release'),
  );
  const artifacts = await release(out, { sea: !process.argv.includes('--no-sea') });
  for (const file of [
    artifacts.tarball,
    artifacts.krewArchive,
    artifacts.krewManifest,
    ...(artifacts.sea ? [artifacts.sea.executable, artifacts.sea.krewArchive] : []),
  ]) {
    process.stdout.write(`${sha256(file)}  ${file}\n`);
  }
}
