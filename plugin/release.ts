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
 * - `email-validate.yaml`, the krew manifest from manifests/krew/ with the archive's
 *   real sha256 on every platform (the JavaScript is the same everywhere; krew's
 *   caveat says Node.js >= 22.19 must be on PATH);
 * - `SHA256SUMS` for all of them.
 *
 *   node plugin/release.ts [--out DIR]     (default dist/release)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ReleaseArtifacts {
  tarball: string;
  krewArchive: string;
  krewManifest: string;
  sums: string;
}

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
): string {
  const doc = parseDocument(template);
  const platforms = doc.getIn(['spec', 'platforms']) as {
    items: Array<{ set(k: string, v: unknown): void; get(k: string): unknown }>;
  };
  for (const platform of platforms.items) {
    const uri = String(platform.get('uri'));
    platform.set('uri', uri.replace(/[^/]+$/, archiveName));
    platform.set('sha256', digest);
    // The archive holds npm's `package/` folder; krew copies its contents into the plugin's folder.
    platform.set('files', [{ from: 'package/*', to: '.' }]);
    platform.set('bin', 'plugin/bin/run.js');
  }
  doc.setIn(['spec', 'version'], `v${version}`);
  return doc.toString({ lineWidth: 0 });
}

export function release(outDir: string): ReleaseArtifacts {
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
        krewArchive,
        'package',
      ],
      tree,
      { ...process.env, GZIP: '-n' },
    );

    const krewManifest = join(outDir, 'email-validate.yaml');
    const template = readFileSync(join(root, 'manifests', 'krew', 'email-validate.yaml'), 'utf8');
    writeFileSync(
      krewManifest,
      renderKrewManifest(template, archiveName, sha256(krewArchive), pkg.version),
    );

    const sums = join(outDir, 'SHA256SUMS');
    // Only what this run wrote: files left in the out dir by earlier runs are not this release.
    const files = [tarball, krewArchive, krewManifest].map((f) => basename(f)).sort();
    writeFileSync(sums, files.map((f) => `${sha256(join(outDir, f))}  ${f}\n`).join(''));
    return { tarball, krewArchive, krewManifest, sums };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--out');
  const out = resolve(
    i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, 'dist', 'release'),
  );
  const artifacts = release(out);
  for (const file of [artifacts.tarball, artifacts.krewArchive, artifacts.krewManifest]) {
    process.stdout.write(`${sha256(file)}  ${file}\n`);
  }
}
