/**
 * The hostile corpus (test/fixtures/hostile, one file per case; generate.py
 * there rebuilds it): the sink stays up, answers each case with the right
 * codes, and stores every accepted message exactly once.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from '../../../sink/index.ts';
import type { RunningSink } from '../../../sink/index.ts';
import { RawSmtp, dataPayload } from './support/raw-smtp.ts';

const DIR = join(import.meta.dirname, '../../fixtures/hostile');
const SIZE = 512 * 1024;

interface Expect {
  stored: number;
  /** Exact reply codes after the greeting, when given. */
  replies?: number[];
  /** Codes that must appear. */
  includes?: number[];
}

const ACCEPTED: Expect = { stored: 1, replies: [250, 250, 250, 354, 250, 221] };
const SMUGGLED: Expect = { stored: 1, replies: [250, 250, 250, 354, 250, 221] };

/** Every fixture needs an entry: .eml files default to "accepted and stored once". */
const EXPECTATIONS: Record<string, Expect> = {
  'oversize-body.eml': { stored: 0, replies: [250, 250, 250, 354, 552, 221] },
  'smuggling-lf-dot-lf.smtp': SMUGGLED,
  'smuggling-cr-dot-cr.smtp': SMUGGLED,
  'smuggling-lf-dot-crlf.smtp': SMUGGLED,
  'smuggling-crlf-dot-lf.smtp': SMUGGLED,
  'smuggling-cr-dot-crlf.smtp': SMUGGLED,
  'pipelined-two-messages.smtp': {
    stored: 2,
    replies: [250, 250, 250, 354, 250, 250, 250, 354, 250, 221],
  },
  'command-line-too-long.smtp': { stored: 0, replies: [250, 421] },
  'data-without-rcpt.smtp': { stored: 0, replies: [250, 250, 503, 221] },
  'nul-in-command.smtp': { stored: 0, replies: [250, 501, 501, 221] },
  'http-request-to-smtp.smtp': { stored: 0, replies: [421] },
  'bad-address-syntax.smtp': { stored: 0, replies: [250, 501, 250, 501, 501, 221] },
  'unknown-commands-flood.smtp': { stored: 0, includes: [500, 421] },
  'recipient-flood-1100.smtp': { stored: 1, includes: [452, 354, 221] },
  'size-param-too-large.smtp': { stored: 0, replies: [250, 552, 221] },
  'eight-bit-command.smtp': { stored: 1, replies: [250, 250, 250, 354, 250, 221] },
};

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.eml') || f.endsWith('.smtp'))
  .sort();

async function play(sink: RunningSink, file: string): Promise<RawSmtp> {
  const bytes = readFileSync(join(DIR, file));
  const c = await RawSmtp.open(sink.smtpPort);
  await c.waitReplies(1);
  if (file.endsWith('.smtp')) {
    c.write(bytes);
    await c.waitClosed();
  } else {
    await c.command('EHLO hostile.example');
    await c.command('MAIL FROM:<a@example.com>');
    await c.command('RCPT TO:<b@example.com>');
    await c.command('DATA');
    const n = c.replies.length + 1;
    c.write(dataPayload(bytes));
    await c.waitReplies(n);
    await c.command('QUIT');
    await c.waitClosed();
  }
  c.close();
  return c;
}

describe('sink: hostile SMTP corpus', function () {
  this.timeout(60_000);
  let sink: RunningSink;

  before(async () => {
    sink = await startSink({ maxMessageSize: SIZE, noAuth: true });
  });
  after(async () => {
    await sink?.stop();
  });

  it('has at least 30 fixtures, each with an expectation', () => {
    assert.ok(fixtures.length >= 30, `only ${fixtures.length} fixtures`);
    for (const f of fixtures)
      assert.ok(f.endsWith('.eml') || EXPECTATIONS[f], `no expectation for ${f}`);
  });

  for (const file of fixtures) {
    it(`answers ${file} correctly and stores accepted mail exactly once`, async () => {
      const expect = EXPECTATIONS[file] ?? ACCEPTED;
      const before = sink.context.store.count;
      const c = await play(sink, file);
      const codes = c.replies.slice(1).map((r) => r.code);
      if (expect.replies) assert.deepEqual(codes, expect.replies);
      for (const code of expect.includes ?? [])
        assert.ok(codes.includes(code), `expected a ${code} in ${codes.join(',')}`);
      const ids = c.replies
        .map((r) => /queued as (\S+)/.exec(r.text)?.[1])
        .filter((x): x is string => x !== undefined);
      assert.equal(ids.length, expect.stored, 'accepted messages');
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(sink.context.store.count - before, expect.stored, 'stored messages');
      for (const id of ids) {
        assert.ok(sink.context.store.get(id), `message ${id} stored`);
        const detail = await sink.context.store.detail(id);
        assert.ok(detail, 'detail resolves (broken MIME is stored as received, never dropped)');
      }
      if (file.startsWith('smuggling-')) {
        const raw = sink.context.store.raw(ids[0])!.toString('latin1');
        assert.match(raw, /smuggled/, 'the smuggled commands stay inside the one message');
        assert.equal(sink.context.store.list(0, 10, { from: 'evil@' }).total, 0);
      }
      if (file.endsWith('.eml') && expect.stored === 1) {
        const original = readFileSync(join(DIR, file));
        const raw = sink.context.store.raw(ids[0])!;
        const crlf = Buffer.from('\r\n');
        const expected =
          original.length >= 2 && original.subarray(-2).equals(crlf)
            ? original
            : Buffer.concat([original, crlf]);
        // an empty message is "CRLF . CRLF" right after DATA: nothing, or the one CRLF, is the content
        assert.ok(
          raw.equals(expected) || (original.length === 0 && raw.length === 0),
          'the raw source is stored byte for byte',
        );
      }
    });
  }

  it('is still up and parses everything after the corpus', async () => {
    const c = await RawSmtp.open(sink.smtpPort);
    await c.waitReplies(1);
    assert.equal((await c.command('EHLO after.example')).code, 250);
    assert.equal((await c.command('MAIL FROM:<a@example.com>')).code, 250);
    assert.equal((await c.command('RCPT TO:<b@example.com>')).code, 250);
    assert.equal((await c.command('DATA')).code, 354);
    const n = c.replies.length + 1;
    c.write(dataPayload(Buffer.from('Subject: after\r\n\r\nstill here\r\n')));
    assert.equal((await c.waitReplies(n))[n - 1].code, 250);
    c.close();
    await sink.analysisIdle();
    const all = sink.context.store.list(0, 1000).items;
    assert.ok(
      all.every((m) => m.parsed),
      'every stored message went through the full parse',
    );
  });
});
