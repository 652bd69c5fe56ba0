/**
 * The bundled sink process (dist/sink/sink.bundle.mjs, what the cluster runs):
 * env configuration, endpoints on stderr, JSON logs on stdout, the parse
 * worker re-entering the bundle, and SIGTERM: stop accepting, finish the DATA
 * in flight, close WebSockets with a close frame, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RawSmtp } from './support/raw-smtp.ts';

const BUNDLE = join(import.meta.dirname, '../../../dist/sink/sink.bundle.mjs');

interface Started {
  child: ChildProcess;
  smtpPort: number;
  httpPort: number;
  token: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

async function startBundle(env: Record<string, string>): Promise<Started> {
  assert.ok(existsSync(BUNDLE), 'run `npm run build` first (npm test does)');
  const child = spawn(process.execPath, [BUNDLE], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoints on stderr: ${err}`)), 15_000);
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      if (/token \S+/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${err}`));
    });
  });
  return {
    child,
    smtpPort: Number(/smtp:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]),
    httpPort: Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]),
    token: /token (\S+)/.exec(err)![1],
    stdout: () => out,
    exit,
  };
}

describe('sink process (bundle)', function () {
  this.timeout(30_000);

  it('prints endpoints and a generated token, logs JSON, analyses in its worker, and stops cleanly on SIGTERM', async () => {
    const sink = await startBundle({
      EV_HOST: '127.0.0.1',
      EV_SMTP_PORT: '0',
      EV_HTTP_PORT: '0',
      EV_MAX_MESSAGES: '100',
    });
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${sink.httpPort}/api/events?since=0`, [
        'email-validate.v1',
        `bearer.${sink.token}`,
      ]);
      const frames: Array<{ type: string; data?: { id?: string } }> = [];
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });

      // a first message, to see the worker's analysis arrive
      const c1 = await RawSmtp.open(sink.smtpPort);
      await c1.waitReplies(1);
      await c1.command('EHLO p.example');
      await c1.command('MAIL FROM:<a@example.com>');
      await c1.command('RCPT TO:<b@example.com>');
      await c1.command('DATA');
      const r1 = await c1.command('Subject: one\r\n\r\nbody\r\n.');
      const id1 = /queued as (\S+)/.exec(r1.text)![1];
      const deadline = Date.now() + 10_000;
      while (!frames.some((f) => f.type === 'message.analyzed' && f.data?.id === id1)) {
        assert.ok(Date.now() < deadline, "message.analyzed from the bundle's worker");
        await new Promise<void>((resolve) => ws.once('message', () => resolve()));
      }

      // a second message is mid-DATA when SIGTERM arrives
      await c1.command('MAIL FROM:<a@example.com>');
      await c1.command('RCPT TO:<b@example.com>');
      await c1.command('DATA');
      c1.write('Subject: in flight\r\n\r\nfirst half\r\n');
      sink.child.kill('SIGTERM');
      // wait until the sink has begun stopping (readiness drops), then finish the message
      const until = Date.now() + 10_000;
      while ((await fetch(`http://127.0.0.1:${sink.httpPort}/readyz`)).status === 200) {
        assert.ok(Date.now() < until, '/readyz should drop once SIGTERM is handled');
        await new Promise((r) => setTimeout(r, 10));
      }
      const r2 = await c1.command('second half\r\n.');
      assert.equal(r2.code, 250, 'DATA in flight is finished');
      const r3 = await c1.command('NOOP');
      assert.equal(r3.code, 421, 'then the session is closed');

      assert.equal(await closed, 1001, 'WebSocket closed with a close frame');
      assert.equal(await sink.exit, 0);
      const logs = sink
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { level: string; msg: string });
      assert.ok(logs.some((l) => l.msg === 'sink started'));
      assert.ok(logs.some((l) => l.msg === 'sink stopped'));
      assert.ok(!sink.stdout().includes(sink.token), 'the token is never logged');
    } finally {
      sink.child.kill('SIGKILL');
    }
  });

  it('refuses a bad option with its name and exit code 2', async () => {
    const child = spawn(process.execPath, [BUNDLE], {
      env: { PATH: process.env.PATH ?? '', EV_MAX_MESSAGES: 'many' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(
      err,
      /^error EV_ERR_INVALID_OPTION: maxMessages \(--max-messages, EV_MAX_MESSAGES\) must be a whole number, got "many"/,
    );
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  });
});
