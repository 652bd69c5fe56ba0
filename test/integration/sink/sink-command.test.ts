/**
 * `kubectl email-validate sink` (the oclif command, built into dist/): flags,
 * endpoints and token on stderr, a message through it, Ctrl-C/SIGTERM -> exit 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

const ROOT = join(import.meta.dirname, '../../..');
const RUN = join(ROOT, 'plugin', 'bin', 'run.js');

describe('kubectl email-validate sink', function () {
  this.timeout(60_000); // oclif start-up is slow on a loaded CI machine

  it('runs in the foreground with the given flags and stops on SIGTERM with exit 0', async () => {
    assert.ok(
      existsSync(join(ROOT, 'dist', 'plugin', 'commands', 'sink.js')),
      'run `npm run build` first (npm test does)',
    );
    const child = spawn(
      process.execPath,
      [
        RUN,
        'sink',
        '--smtp-port',
        '0',
        '--http-port',
        '0',
        '--max-messages',
        '5',
        '--tls-self-signed',
        '--log-level',
        'warn',
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no endpoints: ${err}`)), 45_000);
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
    try {
      assert.match(err, /SMTP {2}smtp:\/\/127\.0\.0\.1:\d+ \(STARTTLS, self-signed certificate\)/);
      const smtpPort = Number(/smtp:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]);
      const httpPort = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1]);
      const token = /token (\S+)/.exec(err)![1];
      await nodemailer
        .createTransport({
          host: '127.0.0.1',
          port: smtpPort,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
        })
        .sendMail({
          from: 'a@example.com',
          to: 'b@example.com',
          subject: 'via the command',
          text: 'x',
        });
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/messages`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as {
        total: number;
        items: Array<{ subject: string; envelope: { tls: boolean } }>;
      };
      assert.equal(body.total, 1);
      assert.equal(body.items[0].subject, 'via the command');
      assert.equal(body.items[0].envelope.tls, true);
      assert.equal((await fetch(`http://127.0.0.1:${httpPort}/api/messages`)).status, 401);
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rejects a bad flag value with a one-line error and exit 2', async () => {
    const child = spawn(process.execPath, [RUN, 'sink', '--max-bytes', 'lots'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /\(--max-bytes, EV_MAX_BYTES\) must be a size such as 256MiB, got "lots"/);
    assert.doesNotMatch(err, /\n\s+at /);
  });
});
