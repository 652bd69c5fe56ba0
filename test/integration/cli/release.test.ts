/**
 * `npm run release` as a user meets its output: the npm tarball installed with
 * `npm install -g` into an empty prefix (offline: its dependencies are bundled) and the
 * krew archive unpacked as krew would, each run through real kubectl plugin discovery.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { release, type ReleaseArtifacts } from '../../../plugin/release.ts';
import { requireTool } from '../../support/require-tool.ts';

const ROOT = join(import.meta.dirname, '../../..');
/** The user's PATH without the project's node_modules/.bin, with a current Node (the pinned one) first. */
const USER_PATH = [
  dirname(process.execPath),
  ...(process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules')),
].join(delimiter);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

describe('release artifacts (npm run release)', function () {
  this.timeout(300_000);
  let work: string;
  let artifacts: ReleaseArtifacts;
  let kubectl: string;

  before(async function () {
    kubectl = requireTool(this, 'kubectl', 'kubectl (the machines have it; see CONTRIBUTING.md)');
    work = mkdtempSync(join(tmpdir(), 'ev-release-test-'));
    // A file left by an earlier run must not be listed in this release's SHA256SUMS.
    mkdirSync(join(work, 'out'));
    writeFileSync(join(work, 'out', `${pkg.name}-0.0.1.tgz`), 'stale');
    artifacts = await release(join(work, 'out'));
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("writes the tarball, the krew archive and a krew manifest carrying the archive's real sha256", () => {
    const manifest = parse(readFileSync(artifacts.krewManifest, 'utf8')) as {
      spec: {
        version: string;
        platforms: Array<{
          sha256: string;
          uri: string;
          bin: string;
          selector: { matchLabels: { os: string; arch: string } };
        }>;
      };
    };
    assert.equal(manifest.spec.version, `v${pkg.version}`);
    assert.ok(manifest.spec.platforms.length >= 2);
    for (const p of manifest.spec.platforms) {
      const { os, arch } = p.selector.matchLabels;
      if (artifacts.sea && os === 'linux' && arch === 'amd64') {
        // linux/amd64 installs the single executable (test/integration/cli/sea.test.ts runs it).
        assert.equal(p.sha256, sha256(artifacts.sea.krewArchive));
        assert.ok(p.uri.endsWith(`/${pkg.name}-v${pkg.version}-linux-amd64.tar.gz`), p.uri);
        assert.equal(p.bin, 'kubectl-email_validate');
        continue;
      }
      assert.equal(p.sha256, sha256(artifacts.krewArchive));
      assert.ok(p.uri.endsWith(`/${pkg.name}-v${pkg.version}.tar.gz`), p.uri);
    }
    const sums = readFileSync(artifacts.sums, 'utf8');
    assert.match(
      sums,
      new RegExp(`^${sha256(artifacts.tarball)}  ${pkg.name}-${pkg.version}\\.tgz$`, 'm'),
    );
    assert.deepEqual(
      sums
        .trim()
        .split('\n')
        .map((l) => l.split('  ')[1]),
      [
        `${pkg.name}-${pkg.version}.tgz`,
        `${pkg.name}-v${pkg.version}.tar.gz`,
        'email-validate.yaml',
        ...(artifacts.sea
          ? ['kubectl-email_validate-linux-x64', `${pkg.name}-v${pkg.version}-linux-amd64.tar.gz`]
          : []),
      ].sort(),
    );
    const listing = execFileSync('tar', ['-tzf', artifacts.tarball], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    }).split('\n');
    if (artifacts.sea) {
      const seaListing = execFileSync('tar', ['-tzf', artifacts.sea.krewArchive], {
        encoding: 'utf8',
      });
      assert.deepEqual(seaListing.trim().split('\n').sort(), ['LICENSE', 'kubectl-email_validate']);
    }
    assert.ok(
      !listing.some(
        (f) => f.startsWith('package/dist/sea/') || f.startsWith('package/dist/release/'),
      ),
      'no single executable or earlier release inside the npm tarball',
    );
    for (const file of [
      'package/LICENSE',
      'package/dist/cli/cli.cjs',
      'package/dist/cli/commands.cjs',
      'package/plugin/bin/run.js',
      'package/dist/sink/sink.bundle.mjs',
      'package/node_modules/@oclif/core/package.json',
    ]) {
      assert.ok(listing.includes(file), `${file} in the tarball`);
    }
  });

  it('npm install -g of the tarball into an empty prefix gives a plugin kubectl finds; --help and the example flow pass', () => {
    const prefix = join(work, 'prefix');
    const install = spawnSync(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        artifacts.tarball,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(install.status, 0, install.stderr);
    const env = { PATH: `${join(prefix, 'bin')}${delimiter}${USER_PATH}`, HOME: work };
    const help = spawnSync(kubectl, ['email-validate', '--help'], { env, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /\$ kubectl email-validate \[COMMAND\]/);
    const flow = join(prefix, 'lib', 'node_modules', pkg.name, 'examples', 'articles-flow.yaml');
    const run = spawnSync(kubectl, ['email-validate', 'run', '--local', flow], {
      env,
      encoding: 'utf8',
      cwd: work,
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^PASSED: 1 flow, 8 steps: 8 passed, 0 failed/m);
  });

  it('the krew archive, unpacked as krew does, runs through kubectl plugin discovery', () => {
    const dir = join(work, 'krew');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    execFileSync('tar', ['-xzf', artifacts.krewArchive, '-C', dir]);
    symlinkSync(
      join(dir, 'package', 'plugin', 'bin', 'run.js'),
      join(dir, 'bin', 'kubectl-email_validate'),
    );
    const res = spawnSync(kubectl, ['email-validate', 'version', '-o', 'json'], {
      env: { PATH: `${join(dir, 'bin')}${delimiter}${USER_PATH}`, HOME: work },
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { version: string }).version, pkg.version);
  });
});
