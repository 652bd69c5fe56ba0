/**
 * The SMTP front end tells the GC valve about every DATA chunk it is done with
 * (sink/gc-valve.ts): copied into the transfer's blocks or, past the memory
 * budget, dropped. Real SMTP on loopback; the valve's collection is recorded.
 */
import assert from 'node:assert/strict';
import { GcValve, YOUNG_DISCARD_TRIGGER_BYTES } from '../../../sink/gc-valve.ts';
import type { GcKind } from '../../../sink/gc-valve.ts';
import { MemoryBudget } from '../../../sink/memory-budget.ts';
import { RulesEngine } from '../../../sink/rules.ts';
import { dataPayload } from './support/raw-smtp.ts';
import { startSmtpFront } from './support/smtp-front.ts';

const MiB = 1024 * 1024;

async function transfer(budget: MemoryBudget, bytes: number) {
  const calls: GcKind[] = [];
  let counted = 0;
  const gcValve = new GcValve({ gc: (kind) => calls.push(kind), now: () => 0 });
  const discardedChunks = gcValve.discardedChunks.bind(gcValve);
  gcValve.discardedChunks = (n: number) => {
    counted += n;
    discardedChunks(n);
  };
  const front = await startSmtpFront({ rules: new RulesEngine(), budget, gcValve });
  const c = front.client;
  try {
    await c.waitReplies(1);
    await c.command('EHLO x');
    await c.command('MAIL FROM:<a@example.com>');
    await c.command('RCPT TO:<b@example.com>');
    assert.equal((await c.command('DATA')).code, 354);
    const body = Buffer.alloc(bytes, 'x');
    body.write('Subject: big\r\n\r\n');
    for (let i = 76; i < bytes; i += 78) body.write('\r\n', i);
    c.write(dataPayload(body));
    const replies = await c.waitReplies(6, 30_000);
    return { code: replies[5].code, calls, counted };
  } finally {
    await front.close();
  }
}

describe('sink: the SMTP front end feeds the GC valve', () => {
  it('a stored transfer past the trigger: every chunk counted once copied, one minor collection asked for', async () => {
    const bytes = YOUNG_DISCARD_TRIGGER_BYTES + MiB;
    const r = await transfer(new MemoryBudget(), bytes);
    assert.equal(r.code, 250);
    // dataPayload ends the content with CRLF before the final dot: the DATA stream gives it too
    assert.equal(r.counted, bytes + 2, 'the message bytes, as the DATA stream gave them');
    assert.deepEqual(r.calls, ['minor']);
  });

  it('a transfer refused for memory (452): its dropped chunks are counted too', async () => {
    const bytes = YOUNG_DISCARD_TRIGGER_BYTES + MiB;
    const r = await transfer(new MemoryBudget({ inflight: MiB }), bytes);
    assert.equal(r.code, 452);
    assert.equal(r.counted, bytes + 2);
    assert.deepEqual(r.calls, ['minor']);
  });
});
