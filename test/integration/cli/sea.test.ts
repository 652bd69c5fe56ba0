/**
 * The single executable (plugin/build-sea.ts) as a user without Node.js meets it:
 * built fresh, run with a PATH that holds nothing but kubectl and the executable
 * (no node anywhere), directly and through kubectl's plugin discovery. What it
 * prints must be what the script form prints; what it embeds (the sink bundle, the
 * worker threads) must work without the files dist/ has.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSea, seaUnsupported } from '../../../plugin/build-sea.ts';
import { requireTool } from '../../support/require-tool.ts';
import { RUN_JS, ROOT } from './cli-harness.ts';

const BIN = 'kubectl-email_validate';

describe('single executable (npm run build:sea)', function () {
  this.timeout(240_000);
  let work: string;
  let bin: string;
  let exe: string;
  /** Only PATH (the folder with kubectl and the executable) and HOME: no node on PATH, no NODE_* settings. */
  let env: NodeJS.ProcessEnv;

  before(async function () {
    const why = seaUnsupported();
    if (why !== null) {
      if (process.env.CI === 'true') throw new Error(`${why}: with CI=true the SEA test must run`);
      process.stdout.write(`      skipped: ${why}\n`);
      this.skip();
    }
    const kubectl = requireTool(
      this,
      'kubectl',
      'kubectl (the machines have it; see CONTRIBUTING.md)',
    );
    work = mkdtempSync(join(tmpdir(), 'ev-sea-test-'));
    bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(kubectl, join(bin, 'kubectl'));
    exe = await buildSea(join(bin, BIN));
    env = { PATH: bin, HOME: work };
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const sea = (args: string[], input = ''): SpawnSyncReturns<string> =>
    spawnSync(exe, args, { env, cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  /** The script form under the pinned Node, for comparison. */
  const script = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [RUN_JS, ...args], {
      env: { PATH: process.env.PATH, HOME: work },
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('has no node to fall back on: PATH holds only kubectl and the executable', () => {
    const r = spawnSync('node', ['-e', '0'], { env });
    assert.match(String(r.error), /ENOENT/);
  });

  it('prints the same --help, command help and --version as the script form', () => {
    for (const args of [['--help'], ['up', '--help'], ['messages', 'list', '-h'], ['--version']]) {
      const a = sea(args);
      const b = script(args);
      assert.equal(a.status, 0, `${args.join(' ')}: ${a.stderr}`);
      assert.equal(a.stdout, b.stdout, args.join(' '));
    }
    assert.match(sea(['--help']).stdout, /\$ kubectl email-validate \[COMMAND\]/);
    assert.match(
      sea(['--version']).stdout,
      /^kubectl-email-validate\/\d+\.\d+\.\d+ linux-x64 node-v24\./,
    );
  });

  it('answers a typo with the command as typed and a suggestion, exit 2', () => {
    const r = sea(['mesages', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "mesages list"/);
    assert.match(r.stderr, /did you mean "kubectl email-validate messages list"\?/);
  });

  it('runs the example flow against its embedded sink (run --local)', () => {
    const r = sea(['run', '--local', 'examples/articles-flow.yaml']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASSED: 1 flow, 8 steps: 8 passed, 0 failed/m);
  });

  it("checks addresses in its worker thread (the embedded worker bundle, not dist/'s file)", () => {
    const r = sea(['check', '--offline', '-o', 'json'], 'ok@example.com\nbad@@example.com\n');
    assert.equal(r.status, 0, r.stderr);
    const verdicts = r.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { address: string; verdict: string }).verdict);
    assert.deepEqual(verdicts, ['valid', 'invalid']);
  });

  it('ships the same sink bundle as dist/ (manifests is deterministic: same output as the script form)', () => {
    const args = ['manifests', '--token', 'sea-test-token', '-o', 'json'];
    const a = sea(args);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, script(args).stdout);
    assert.match(a.stdout, /"kind": "ConfigMap"/);
  });

  it('runs a sink whose parse worker (embedded) parses what send delivers', async () => {
    const token = 'sea-test-token-0123456789';
    const sink = spawn(exe, ['sink', '--smtp-port', '0', '--http-port', '0', '--token', token], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      // The start-up lines (stderr; stdout has the JSON logs): SMTP first, the copy-paste line last.
      let smtp = '';
      let api = '';
      const deadline = setTimeout(() => sink.kill('SIGKILL'), 30_000);
      for await (const line of createInterface({ input: sink.stderr })) {
        smtp = /^SMTP\s+smtp:\/\/(\S+)/.exec(line)?.[1] ?? smtp;
        api = /^export EV_SINK=(\S+)/.exec(line)?.[1] ?? api;
        if (api) break;
      }
      clearTimeout(deadline);
      assert.ok(smtp && api, 'the sink printed its SMTP and API addresses');
      const sent = sea(['send', '--smtp', smtp, '--to', 'a@example.com', '--subject', 'SEA parse']);
      assert.equal(sent.status, 0, sent.stderr);
      // Parsing is asynchronous (the worker thread): ask until it is done, within a deadline.
      const until = Date.now() + 20_000;
      let got: { subject?: string; parsed?: boolean } = {};
      while (!got.parsed && Date.now() < until) {
        const r = sea(['messages', 'get', 'latest', '--sink', api, '--token', token, '-o', 'json']);
        assert.equal(r.status, 0, r.stderr);
        got = JSON.parse(r.stdout) as typeof got;
      }
      assert.equal(got.parsed, true);
      assert.equal(got.subject, 'SEA parse');
    } finally {
      sink.kill('SIGTERM');
      if (sink.exitCode === null) await once(sink, 'exit');
    }
  });

  it('is found by kubectl plugin discovery as kubectl email-validate', () => {
    const kubectl = join(bin, 'kubectl');
    const help = spawnSync(kubectl, ['email-validate', '--help'], { env, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /\$ kubectl email-validate \[COMMAND\]/);
    const version = spawnSync(kubectl, ['email-validate', 'version', '-o', 'json'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(version.status, 0, version.stderr);
    assert.match((JSON.parse(version.stdout) as { node: string }).node, /^v24\./);
  });
});
