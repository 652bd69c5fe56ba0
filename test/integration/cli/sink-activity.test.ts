/**
 * Issue 12, "the terminal": `sink` on a terminal prints one line per message
 * (cut to the width), a summary every few seconds under load, and nothing of
 * that when stdout is not a terminal unless --activity asks for it.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { RUN_JS, cleanEnv, runCli } from './cli-harness.ts';
import { ACTIVITY_MAX_LINES } from '../../../plugin/lib/render/sink-activity.ts';

/** A running `sink`, its output so far, and a way to wait for a pattern in it. */
interface Running {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  waitUntil(done: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  sinkUrl: string;
  stop(): Promise<void>;
}

async function startSinkProcess(mode: { cols: number } | { args: string[] }): Promise<Running> {
  const sinkArgs = `sink --smtp-port 0 --http-port 0 --host 127.0.0.1 --no-auth`;
  // On a pty: the shell prints its pid, then becomes the sink (exec), so the test can stop it by pid.
  const child =
    'cols' in mode
      ? spawn(
          '/usr/bin/script',
          [
            '-qec',
            `stty cols ${mode.cols}; echo "PID $$"; exec ${process.execPath} ${RUN_JS} ${sinkArgs}`,
            '/dev/null',
          ],
          { env: cleanEnv({ NO_COLOR: '1' }), stdio: ['pipe', 'pipe', 'pipe'] },
        )
      : spawn(process.execPath, [RUN_JS, ...sinkArgs.split(' '), ...mode.args], {
          env: cleanEnv({ NO_COLOR: '1' }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: string): void => {
    out += d.replace(/\r/g, '');
    for (const w of waiters) w();
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const waitUntil = <T>(found: () => T | null, what: string, timeoutMs = 30_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = found();
        if (m !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const waitFor = (re: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray> =>
    waitUntil(() => re.exec(out), what, timeoutMs);
  const pid = 'cols' in mode ? Number((await waitFor(/^PID (\d+)$/m, 'pid'))[1]) : (child.pid ?? 0);
  const sinkUrl = (await waitFor(/export EV_SINK=(\S+)/, 'export line'))[1];
  return {
    child,
    output: () => out,
    waitFor,
    waitUntil: async (done, what, timeoutMs) => {
      await waitUntil(() => (done() ? true : null), what, timeoutMs);
    },
    sinkUrl,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await closed;
    },
  };
}

async function send(sinkUrl: string, args: string[]): Promise<void> {
  const r = await runCli(['send', '--sink', sinkUrl, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
}

/** The activity lines in the output (not the JSON logs or the start-up lines). */
function activityLines(out: string): string[] {
  return out.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d{3} {2}[A-Z]/.test(l));
}

describe('sink on a terminal shows what arrives', function () {
  this.timeout(90_000);

  it('one line per message at 60 columns, then a summary under load', async () => {
    const sink = await startSinkProcess({ cols: 60 });
    try {
      await send(sink.sinkUrl, [
        '--from',
        'notifications@shop.example.com',
        '--to',
        'someone.with.a.long.address+{{n}}@customers.example.com',
        '--subject',
        'Your order {{n}} has shipped and is on its way to you',
        '--count',
        '3',
      ]);
      await send(sink.sinkUrl, ['--to', 'bounce@example.com']);
      await sink.waitFor(/REJECTED/, 'rejection line');
      const lines = activityLines(sink.output());
      assert.equal(lines.filter((l) => /RECEIVED/.test(l)).length, 3, sink.output());
      for (const l of lines)
        assert.ok(Array.from(l).length <= 60, `${JSON.stringify(l)} is ${l.length} columns`);
      const first = lines.find((l) => /RECEIVED/.test(l))!;
      assert.match(first, /^\S+ {2}RECEIVED {2}notificat.*… -> someone\.w.*… {2}"Your ord.*…$/);

      // Under load: at most ACTIVITY_MAX_LINES lines in the window, then a summary line.
      await send(sink.sinkUrl, ['--to', 'load+{{n}}@example.com', '--count', '100']);
      await sink.waitFor(/BUSY {6}\+\d+ in \d+s \([\d,]+\/s\): \d+ received/, 'summary');
      // The load may straddle windows: wait until lines and summaries account for all 100.
      const counted = (): number =>
        activityLines(sink.output()).filter((l) => l.includes('load+')).length +
        [...sink.output().matchAll(/BUSY {6}\+(\d+) in /g)].reduce((n, m) => n + Number(m[1]), 0);
      await sink.waitUntil(() => counted() >= 100, 'every load message counted');
      const loadLines = activityLines(sink.output()).filter((l) => l.includes('load+'));
      assert.ok(loadLines.length <= ACTIVITY_MAX_LINES, `${loadLines.length} lines under load`);
      assert.equal(counted(), 100, 'every message counted once');
      for (const l of activityLines(sink.output()))
        assert.ok(Array.from(l).length <= 60, `${JSON.stringify(l)} is ${l.length} columns`);
    } finally {
      await sink.stop();
    }
  });

  it('nothing of that when stdout is not a terminal, unless --activity', async () => {
    const quiet = await startSinkProcess({ args: [] });
    try {
      await send(quiet.sinkUrl, ['--to', 'piped@example.com', '--count', '2']);
      const list = await runCli(['messages', 'list', '--sink', quiet.sinkUrl, '-o', 'json']);
      assert.equal((JSON.parse(list.stdout) as { total: number }).total, 2);
    } finally {
      await quiet.stop();
    }
    assert.deepEqual(activityLines(quiet.output()), [], quiet.output());

    const asked = await startSinkProcess({ args: ['--activity'] });
    try {
      await send(asked.sinkUrl, ['--to', 'asked@example.com']);
      await asked.waitFor(/RECEIVED {2}\S+ -> asked@example\.com/, 'activity line');
    } finally {
      await asked.stop();
    }
  });
});
