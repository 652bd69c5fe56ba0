import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { parseTemplate, renderTemplate } from '../../../../../plugin/lib/send/template.ts';
import { FakeClock } from '../../../../support/fake-clock.ts';
import { rateBurst } from '../../../../../src/limits/token-bucket.ts';
import {
  sendBatch,
  validateSendOptions,
  type MailTransport,
} from '../../../../../plugin/lib/send/send-batch.ts';
import { formatSendReport } from '../../../../../plugin/lib/render/send-report.ts';

describe('send: templates', () => {
  it('renders {{n}}, {{count}} and {{run}}', () => {
    const t = parseTemplate('--subject', 'Order {{n}}/{{ count }} ({{run}})');
    assert.equal(renderTemplate(t, { n: 3, count: 10, run: 'abc' }), 'Order 3/10 (abc)');
    assert.equal(t.constant, false);
    assert.equal(parseTemplate('--body', 'plain').constant, true);
  });
  it('rejects unknown variables up front', () => {
    assert.throws(
      () => parseTemplate('--subject', 'Hi {{name}}'),
      /--subject uses an unknown template variable \{\{name\}\}/,
    );
  });
});

describe('send: batch accounting', () => {
  const base = {
    smtp: { host: '127.0.0.1', port: 1 },
    from: 'app@example.com',
    subject: 'S {{n}}',
    body: 'B',
    concurrency: 3,
    runId: 'r1',
  };

  it('validates flags before sending', () => {
    assert.throws(() => validateSendOptions({ ...base, to: ['x@y'], count: 0 }), /--count/);
    assert.throws(
      () => validateSendOptions({ ...base, to: ['x@y'], count: 1, concurrency: 0 }),
      /--concurrency/,
    );
    assert.throws(
      () => validateSendOptions({ ...base, to: ['x@y'], count: 1, rate: -1 }),
      /--rate/,
    );
    assert.throws(() => validateSendOptions({ ...base, to: [], count: 1 }), /--to is required/);
    assert.throws(
      () => validateSendOptions({ ...base, to: ['not an address'], count: 1 }),
      /not an email address/,
    );
    validateSendOptions({ ...base, to: ['user+{{n}}@example.com'], count: 1 });
  });

  it('counts accepted, rejected (5xx), deferred (4xx) and failed separately', async () => {
    const seen: string[] = [];
    let closed = false;
    const transport: MailTransport = {
      async sendMail(msg) {
        const to = (msg.to as string[])[0];
        seen.push(`${to}|${msg.subject as string}`);
        if (to.startsWith('bounce'))
          throw Object.assign(new Error('all rejected'), {
            code: 'EENVELOPE',
            rejectedErrors: [
              { responseCode: 550, response: '550 5.1.1 No such user', recipient: to },
            ],
          });
        if (to.startsWith('defer'))
          throw Object.assign(new Error('Data failed'), {
            code: 'EMESSAGE',
            responseCode: 451,
            response: '451 4.7.1 Try later',
          });
        if (to.startsWith('down'))
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' });
        return { accepted: [to], rejected: [] };
      },
      close() {
        closed = true;
      },
    };
    const kinds = ['ok', 'bounce', 'defer', 'down'];
    let i = 0;
    const report = await sendBatch({ ...base, to: ['{{n}}@example.com'], count: 8, transport });
    assert.equal(report.messages, 8);
    assert.equal(report.accepted, 8);
    assert.ok(closed);
    assert.equal(new Set(seen).size, 8, 'each message has its own number');

    const report2 = await sendBatch({
      ...base,
      to: ['x@example.com'],
      count: 8,
      transport: {
        async sendMail(msg) {
          const k = kinds[i++ % 4];
          return transport.sendMail({ ...msg, to: [`${k}@example.com`] });
        },
        close() {},
      },
    });
    assert.deepEqual(
      [report2.accepted, report2.rejected, report2.deferred, report2.failed],
      [2, 2, 2, 2],
    );
    assert.deepEqual(report2.samples.map((s) => [s.kind, s.count]).sort(), [
      ['deferred', 2],
      ['failed', 2],
      ['rejected', 2],
    ]);
    const text = formatSendReport(report2);
    assert.match(text, /^Sent 8 message\(s\) .* 2 accepted, 2 rejected, 2 deferred, 2 failed/);
    assert.match(text, /550 5\.1\.1 No such user/);
  });

  it('never runs more than --concurrency sends at once', async () => {
    let active = 0;
    let peak = 0;
    const transport: MailTransport = {
      async sendMail() {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        return { accepted: ['x'] };
      },
      close() {},
    };
    const report = await sendBatch({ ...base, to: ['x@example.com'], count: 50, transport });
    assert.equal(report.accepted, 50);
    assert.equal(peak, 3);
  });

  it('paces sends at --rate with the shared token bucket (fake clock)', async () => {
    const clock = new FakeClock(1000);
    const at: number[] = [];
    const transport: MailTransport = {
      async sendMail() {
        at.push(clock.now() - 1000);
        return { accepted: ['x'] };
      },
      close() {},
    };
    const done = sendBatch({
      ...base,
      to: ['x@example.com'],
      count: 5,
      rate: 10,
      transport,
      clock,
    });
    await clock.runUntilIdle();
    const report = await done;
    assert.deepEqual(at, [0, 100, 200, 300, 400]);
    assert.equal(report.elapsedMs, 400);
    assert.equal(report.ratePerSecond, 12.5);
    assert.equal(rateBurst(0.5), 1);
    assert.equal(rateBurst(500), 50);
  });

  it('stops at once when aborted, reporting what was sent', async () => {
    const ac = new AbortController();
    let sent = 0;
    const transport: MailTransport = {
      async sendMail() {
        if (++sent === 3) ac.abort();
        return { accepted: ['x'] };
      },
      close() {},
    };
    const report = await sendBatch({
      ...base,
      to: ['x@example.com'],
      count: 100,
      concurrency: 1,
      transport,
      signal: ac.signal,
    });
    assert.equal(report.messages, 3);
    assert.equal(report.interrupted, true);
  });
});
