/**
 * Issue 12, "the terminal": what a person at a terminal sees from `check`
 * and `sink` (through a pseudo-terminal made by script(1) where it matters).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, RUN_JS, cleanEnv, runCli } from './cli-harness.ts';
import { startSink } from '../../../sink/index.ts';

const SAMPLE_CSV = join(ROOT, 'test/fixtures/addresses/sample.csv');

describe('the terminal', function () {
  this.timeout(30_000);

  it('check on a .csv without --column says it looks like CSV and names the column', async () => {
    const r = await runCli(['check', '--offline', SAMPLE_CSV]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: \S+sample\.csv looks like CSV \(header: id, name, email\) but --column is not set \[EV_ERR_INVALID_OPTION\]\nhint: pass --column email to read addresses from that column\n$/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'ev-term-'));
    try {
      // A .csv holding one address per line is just a list.
      const plain = join(dir, 'plain.csv');
      writeFileSync(plain, 'a@example.com\n');
      const ok = await runCli(['check', '--offline', plain]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(
        ok.stderr,
        /^1 address checked \(0 duplicates skipped\) in /m,
        'singular, not "1 addresses"',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check with no file and a terminal on stdin says it reads standard input; not when stdin is a pipe', async () => {
    const command = `${process.execPath} ${RUN_JS} check --offline -o jsonl`;
    const tty = await runCli(['-qec', command, '/dev/null'], {
      script: '/usr/bin/script',
      direct: true,
      input: 'a@example.com\n\u0004',
    });
    assert.equal(tty.code, 0, tty.stdout);
    assert.match(
      tty.stdout,
      /reading addresses from standard input, one per line \(end with Ctrl-D; or pass a file\)/,
    );
    assert.match(tty.stdout, /"address":"a@example.com"/);
    const piped = await runCli(['check', '--offline'], { input: 'a@example.com\n' });
    assert.doesNotMatch(piped.stderr, /reading addresses/);
  });

  it('--fail-on says which verdicts caused exit 1; counts are formatted one way', async () => {
    const r = await runCli(['check', '--offline', '--fail-on', 'invalid,risky'], {
      input: 'a@example.com\nnot-an-address\nalso bad\nb@example.com\n',
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^4 addresses checked \(0 duplicates skipped\) in [\d.]+s, [\d,]+\/s: 2 valid, 2 invalid, 0 risky, 0 unknown$/m,
    );
    assert.match(r.stderr, /^exit 1: --fail-on invalid,risky matched 2 invalid$/m);
    const pass = await runCli(['check', '--offline', '--fail-on', 'invalid'], {
      input: 'a@example.com\n',
    });
    assert.equal(pass.code, 0);
    assert.doesNotMatch(pass.stderr, /exit 1/);
  });

  it('sink prints an export line that makes tail, send and messages work against it at once', async () => {
    const child = spawn(
      process.execPath,
      [RUN_JS, 'sink', '--smtp-port', '0', '--http-port', '0', '--host', '127.0.0.1'],
      { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          const m = /^export (EV_SINK=\S+ EV_TOKEN=\S+)/m.exec(stderr);
          if (m) resolve(m[1]);
        });
        child.on('close', () => reject(new Error(`sink exited: ${stderr}`)));
      });
      const env = Object.fromEntries(
        line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      assert.match(env.EV_SINK, /^http:\/\/127\.0\.0\.1:\d+$/);
      const sent = await runCli(['send', '--to', 'export-line@example.com', '-o', 'json'], { env });
      assert.equal(sent.code, 0, sent.stderr);
      const list = await runCli(['messages', 'list', '-o', 'json'], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.equal((JSON.parse(list.stdout) as { total: number }).total, 1);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
  });

  it('a passing run on a terminal prints each step once (live), then only the verdict', async () => {
    const command = `${process.execPath} ${RUN_JS} run --local ${join(ROOT, 'examples', 'articles-flow.yaml')}`;
    const r = await runCli(['-qec', command, '/dev/null'], {
      script: '/usr/bin/script',
      direct: true,
      env: { NO_COLOR: '1' },
    });
    assert.equal(r.code, 0, r.stdout);
    const steps = r.stdout
      .split('\n')
      .filter((l) => /^ {2}✓ /.test(l))
      .map((l) => l.replace(/:.*/, ''));
    assert.equal(steps.length, 8, r.stdout);
    assert.equal(new Set(steps).size, 8, 'no step printed twice');
    assert.match(r.stdout, /PASSED articles-flow .*\r?\n(\r?\n)?PASSED: 1 flow, 8 steps: 8 passed/);
    // Without a terminal (CI logs), the report on stdout keeps every step.
    const piped = await runCli(['run', '--local', join(ROOT, 'examples', 'articles-flow.yaml')]);
    assert.equal(piped.stdout.split('\n').filter((l) => /^ {2}✓ /.test(l)).length, 8);
  });

  it('tail says when the sink is unreachable and when it is back', async () => {
    const first = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: 0 });
    const token = first.token ?? '';
    const port = first.httpPort;
    const child = spawn(
      process.execPath,
      [RUN_JS, 'tail', '-f', '--sink', first.url, '--token', token],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    let stderr = '';
    const waitFor = (re: RegExp): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(stderr)) {
            child.stderr.off('data', check);
            resolve();
          }
        };
        child.stderr.on('data', check);
        child.once('close', () => reject(new Error(`tail exited: ${stderr}`)));
        check();
      });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    let second: Awaited<ReturnType<typeof startSink>> | null = null;
    try {
      // tail is following once it prints a message sent now.
      assert.equal(
        (
          await runCli([
            'send',
            '--sink',
            first.url,
            '--token',
            token,
            '--to',
            'before@example.com',
          ])
        ).code,
        0,
      );
      const deadline = Date.now() + 15_000;
      while (!stdout.includes('before@example.com')) {
        assert.ok(Date.now() < deadline, `tail never printed the message: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await first.stop();
      await waitFor(/sink 127\.0\.0\.1:\d+ is unreachable \(.*\); retrying…/);
      second = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: port, token });
      await waitFor(
        /sink 127\.0\.0\.1:\d+ is back after \d+s, restarted: its events from before the restart are gone/,
      );
    } finally {
      child.kill('SIGINT');
      await closed;
      await second?.stop();
    }
  });

  it("send's progress line fits a 60-column terminal and formats numbers one way", async () => {
    const sink = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: 0 });
    try {
      const command = `stty cols 60; ${process.execPath} ${RUN_JS} send --sink ${sink.url} --token ${sink.token ?? ''} --to 'p{{n}}@example.com' --count 1200 --concurrency 8`;
      const r = await runCli(['-qec', command, '/dev/null'], {
        script: '/usr/bin/script',
        direct: true,
        env: { NO_COLOR: '1' },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stdout);

      const frames = r.stdout
        .split(/\r|\n/)
        // eslint-disable-next-line no-control-regex -- removing the erase-line escape of a progress line
        .map((l) => l.replace(/\u001b\[K/g, ''))
        .filter((l) => /\d+\/1,200 sent/.test(l));
      assert.ok(frames.length >= 2, r.stdout);
      for (const f of frames)
        assert.ok(f.length < 60, `${JSON.stringify(f)} is ${f.length} columns`);
      assert.ok(
        frames.some((f) => f.startsWith('1,200/1,200 sent: 1,200 accepted')),
        frames.join('\n'),
      );
    } finally {
      await sink.stop();
    }
  });
});
