/**
 * Issue 12, "nothing lost when stopped" and "install anywhere" for send and
 * the sink environment: a stopped send still reports, --smtp alone needs no
 * kubeconfig, and an exported EV_SINK never fights a flag the user typed.
 */
import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink } from '../../../sink/index.ts';
import { ROOT, RUN_JS, cleanEnv, runCli } from './cli-harness.ts';

type Sink = Awaited<ReturnType<typeof startSink>>;

interface SendJson {
  messages: number;
  accepted: number;
  rejected: number;
  deferred: number;
  failed: number;
  interrupted: boolean;
}

describe('send and the sink environment', function () {
  this.timeout(60_000);
  let sink: Sink;
  let home: string;

  before(async () => {
    sink = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: 0 });
    home = await mkdtemp(join(tmpdir(), 'ev-home-'));
  });
  after(async () => {
    await sink?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** How many messages with this subject prefix the sink holds. */
  async function held(subject: string): Promise<number> {
    const res = await fetch(
      `${sink.url}/api/messages?subject=${encodeURIComponent(subject)}&limit=1`,
      { headers: { authorization: `Bearer ${sink.token ?? ''}` } },
    );
    return ((await res.json()) as { total: number }).total;
  }

  /** Starts a slow send, waits until the sink holds `atLeast` of its messages, sends `signal`, and collects the result. */
  async function stopSend(
    signal: NodeJS.Signals,
    subject: string,
    extra: string[],
    atLeast: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(
      process.execPath,
      [
        RUN_JS,
        'send',
        '--sink',
        sink.url,
        '--token',
        sink.token ?? '',
        '--to',
        'u{{n}}@example.com',
        '--subject',
        `${subject} {{n}}`,
        '--count',
        '100000',
        '--rate',
        '40',
        ...extra,
      ],
      { env: cleanEnv({ HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 20_000;
    while ((await held(subject)) < atLeast) {
      assert.ok(Date.now() < deadline, `the sink never held ${atLeast} messages: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill(signal);
    return { code: await closed, stdout, stderr };
  }

  it('SIGTERM stops send with exit 143 and still prints the counts so far, in -o json', async () => {
    const r = await stopSend('SIGTERM', 'StopJson', ['-o', 'json'], 3);
    assert.equal(r.code, 143, r.stderr);
    const report = JSON.parse(r.stdout) as SendJson;
    assert.equal(report.interrupted, true);
    assert.ok(report.messages >= 3 && report.messages < 100000, `messages: ${report.messages}`);
    assert.equal(report.accepted, report.messages, 'each message sent was accepted');
    assert.ok(
      (await held('StopJson')) >= report.accepted,
      'the report does not count more than the sink got',
    );
  });

  it('Ctrl-C (SIGINT) stops send with exit 130 and the text report says it was interrupted', async () => {
    const r = await stopSend('SIGINT', 'StopText', [], 2);
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      r.stdout,
      /^Sent \d+ message\(s\) in .*: \d+ accepted, 0 rejected, 0 deferred \(interrupted\)$/m,
    );
  });

  it('send --smtp HOST:PORT works with no kubeconfig at all, like swaks', async () => {
    const r = await runCli(
      [
        'send',
        '--smtp',
        `127.0.0.1:${sink.smtpPort}`,
        '--to',
        'swaks-like@example.com',
        '-o',
        'json',
      ],
      { env: { HOME: home } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as SendJson).accepted, 1);
    assert.match(r.stderr, /\(--smtp\)/);
    const refused = await runCli(['send', '--smtp', '127.0.0.1:1', '--to', 'a@example.com'], {
      env: { HOME: home },
    });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /hint: check that an SMTP server listens on 127\.0\.0\.1:1\n/);
  });

  it('without a kubeconfig, the hint names only ways this command has', async () => {
    const list = await runCli(['messages', 'list'], { env: { HOME: home } });
    assert.equal(list.code, 3);
    assert.match(
      list.stderr,
      /hint: point --kubeconfig or KUBECONFIG at a kubeconfig file, or use --sink URL to run without a cluster\.\n/,
    );
    const status = await runCli(['status'], { env: { HOME: home } });
    assert.match(status.stderr, /hint: point --kubeconfig or KUBECONFIG at a kubeconfig file\.\n/);
    const send = await runCli(['send', '--to', 'a@example.com'], { env: { HOME: home } });
    assert.match(send.stderr, /or use --sink URL \/ --smtp HOST:PORT to run without a cluster/);
  });

  it('an exported EV_SINK is a default: run --local and -n are not refused because of it', async () => {
    const env = { HOME: home, EV_SINK: 'http://127.0.0.1:1', EV_TOKEN: 'stale' };
    const run = await runCli(['run', '--local', join(ROOT, 'examples', 'articles-flow.yaml')], {
      env,
    });
    assert.equal(run.code, 0, run.stderr);
    // -n chooses a cluster sink: EV_SINK steps aside (here: no kubeconfig, said as such, not a conflict).
    const ns = await runCli(['messages', 'list', '-n', 'team-a'], { env });
    assert.doesNotMatch(ns.stderr, /cannot be combined/);
    assert.match(ns.stderr, /EV_ERR_KUBECONFIG_MISSING/);
    // Without a typed flag, EV_SINK / EV_TOKEN are used.
    const direct = await runCli(['messages', 'list', '-o', 'json'], {
      env: { HOME: home, EV_SINK: sink.url, EV_TOKEN: sink.token ?? '' },
    });
    assert.equal(direct.code, 0, direct.stderr);
  });
});
