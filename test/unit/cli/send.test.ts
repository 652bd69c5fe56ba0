import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { parseTemplate, renderTemplate } from '../../../plugin/lib/send/template.ts';
import { TokenBucket } from '../../../plugin/lib/send/token-bucket.ts';
import { sendBatch, validateSendOptions, type MailTransport } from '../../../plugin/lib/send/send-batch.ts';
import { formatSendReport } from '../../../plugin/lib/render/send-report.ts';

describe('send: templates', () => {
  it('renders {{n}}, {{count}} and {{run}}', () => {
    const t = parseTemplate('--subject', 'Order {{n}}/{{ count }} ({{run}})');
    assert.equal(renderTemplate(t, { n: 3, count: 10, run: 'abc' }), 'Order 3/10 (abc)');
    assert.equal(t.constant, false);
    assert.equal(parseTemplate('--body', 'plain').constant, true);
  });
  it('rejects unknown variables up front', () => {
    assert.throws(() => parseTemplate('--subject', 'Hi {{name}}'), /--subject uses an unknown template variable \{\{name\}\}/);
  });
});

describe('send: token bucket', () => {
  it('spaces takes at the rate with a fake clock', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const bucket = new TokenBucket({ rate: 10, burst: 1, now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; } });
    for (let i = 0; i < 5; i++) await bucket.take();
    assert.equal(now, 400, 'first token is free, then one every 100 ms');
    assert.deepEqual(sleeps, [100, 100, 100, 100]);
  });
  it('stops waiting when aborted', async () => {
    let now = 0;
    const ac = new AbortController();
    const bucket = new TokenBucket({ rate: 1, burst: 1, now: () => now, sleep: async (ms) => { now += ms; ac.abort(); } });
    await bucket.take(ac.signal);
    await assert.rejects(bucket.take(ac.signal));
    await bucket.take(); // a later caller is not blocked by the aborted one
  });
  it('rejects a non-positive rate', () => {
    assert.throws(() => new TokenBucket({ rate: 0 }), RangeError);
  });
});

describe('send: batch accounting', () => {
  const base = { smtp: { host: '127.0.0.1', port: 1 }, from: 'app@example.com', subject: 'S {{n}}', body: 'B', concurrency: 3, runId: 'r1' };

  it('validates flags before sending', () => {
    assert.throws(() => validateSendOptions({ ...base, to: ['x@y'], count: 0 }), /--count/);
    assert.throws(() => validateSendOptions({ ...base, to: ['x@y'], count: 1, concurrency: 0 }), /--concurrency/);
    assert.throws(() => validateSendOptions({ ...base, to: ['x@y'], count: 1, rate: -1 }), /--rate/);
    assert.throws(() => validateSendOptions({ ...base, to: [], count: 1 }), /--to is required/);
    assert.throws(() => validateSendOptions({ ...base, to: ['not an address'], count: 1 }), /not an email address/);
    validateSendOptions({ ...base, to: ['user+{{n}}@example.com'], count: 1 });
  });

  it('counts accepted, rejected (5xx), deferred (4xx) and failed separately', async () => {
    const seen: string[] = [];
    let closed = false;
    const transport: MailTransport = {
      async sendMail(msg) {
        const to = (msg.to as string[])[0];
        seen.push(`${to}|${msg.subject as string}`);
        if (to.startsWith('bounce')) throw Object.assign(new Error('all rejected'), { code: 'EENVELOPE', rejectedErrors: [{ responseCode: 550, response: '550 5.1.1 No such user', recipient: to }] });
        if (to.startsWith('defer')) throw Object.assign(new Error('Data failed'), { code: 'EMESSAGE', responseCode: 451, response: '451 4.7.1 Try later' });
        if (to.startsWith('down')) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' });
        return { accepted: [to], rejected: [] };
      },
      close() { closed = true; },
    };
    const kinds = ['ok', 'bounce', 'defer', 'down'];
    let i = 0;
    const report = await sendBatch({ ...base, to: ['{{n}}@example.com'], count: 8, transport });
    assert.equal(report.messages, 8);
    assert.equal(report.accepted, 8);
    assert.ok(closed);
    assert.equal(new Set(seen).size, 8, 'each message has its own number');

    const report2 = await sendBatch({ ...base, to: ['x@example.com'], count: 8, transport: {
      async sendMail(msg) { const k = kinds[i++ % 4]; return transport.sendMail({ ...msg, to: [`${k}@example.com`] }); },
      close() {},
    } });
    assert.deepEqual([report2.accepted, report2.rejected, report2.deferred, report2.failed], [2, 2, 2, 2]);
    assert.deepEqual(report2.samples.map((s) => [s.kind, s.count]).sort(), [['deferred', 2], ['failed', 2], ['rejected', 2]]);
    const text = formatSendReport(report2);
    assert.match(text, /^Sent 8 message\(s\) .* 2 accepted, 2 rejected, 2 deferred, 2 failed/);
    assert.match(text, /550 5\.1\.1 No such user/);
  });

  it('never runs more than --concurrency sends at once', async () => {
    let active = 0;
    let peak = 0;
    const transport: MailTransport = {
      async sendMail() {
        active++; peak = Math.max(peak, active);
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
});
