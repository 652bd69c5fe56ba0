/**
 * Limits that keep hostile or stuck clients from exhausting the sink: maximum
 * clients, idle timeout, total session deadline, and a clear error when a
 * port is taken.
 */
import assert from 'node:assert/strict';
import { isEmailValidateError } from '../../../src/errors.ts';
import { startSink } from '../../../sink/index.ts';
import { RawSmtp } from './support/raw-smtp.ts';

describe('sink: limits', function () {
  this.timeout(20_000);

  it('refuses clients beyond --max-clients with 421 and serves the others', async () => {
    const sink = await startSink({ noAuth: true, maxClients: 2 });
    const open: RawSmtp[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = await RawSmtp.open(sink.smtpPort);
        await c.waitReplies(1);
        open.push(c);
      }
      const third = await RawSmtp.open(sink.smtpPort);
      await third.waitClosed();
      assert.equal(third.replies[0]?.code, 421);
      assert.match(third.replies[0].text, /Too many connected clients/);
      assert.equal((await open[0].command('NOOP')).code, 250);
    } finally {
      for (const c of open) c.close();
      await sink.stop();
    }
  });

  it('drops a silent client after the idle timeout', async () => {
    const sink = await startSink({ noAuth: true, idleTimeoutMs: 1000 });
    try {
      const c = await RawSmtp.open(sink.smtpPort);
      await c.waitReplies(1);
      await c.waitClosed(10_000);
      assert.equal(c.replies[1]?.code, 421);
      assert.match(c.replies[1].text, /Timeout/);
    } finally {
      await sink.stop();
    }
  });

  it('ends a session at its total deadline even if the client stays busy', async () => {
    const sink = await startSink({ noAuth: true, sessionTimeoutMs: 1000 });
    try {
      const c = await RawSmtp.open(sink.smtpPort);
      await c.waitReplies(1);
      // keep the session active: every NOOP reply triggers the next NOOP
      const keepBusy = () => {
        if (!c.closed) c.command('NOOP').then(keepBusy, () => undefined);
      };
      keepBusy();
      await c.waitClosed(10_000);
      const last = c.replies.at(-1)!;
      assert.equal(last.code, 421);
      assert.match(last.text, /Session time limit/);
    } finally {
      await sink.stop();
    }
  });

  it('names the port when it cannot listen (EV_ERR_SINK_LISTEN)', async () => {
    const first = await startSink({ noAuth: true });
    try {
      await assert.rejects(
        startSink({ noAuth: true, smtpPort: first.smtpPort }),
        (err: unknown) => {
          assert.ok(isEmailValidateError(err));
          assert.equal(err.code, 'EV_ERR_SINK_LISTEN');
          assert.match(
            err.message,
            new RegExp(`127\\.0\\.0\\.1:${first.smtpPort} \\(EADDRINUSE\\)`),
          );
          return true;
        },
      );
    } finally {
      await first.stop();
    }
  });
});
