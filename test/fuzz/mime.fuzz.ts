/**
 * MIME structure: random trees of multiparts (deep nesting, thousands of
 * parts, reused and missing boundaries), message/rfc822 inside messages,
 * broken transfer encodings, hostile headers (encoded-word garbage, NUL,
 * unknown charsets, non-ASCII Content-Types), HTML nesting bombs; delivered
 * over SMTP to a real sink that parses in its worker.
 *
 * Invariants: each message is answered 250 and stored exactly once, byte for
 * byte; its detail view answers 200; every attachment it lists downloads
 * (200); the process keeps answering /livez.
 */
import { startSink } from '../../sink/index.ts';
import { sendOne } from '../support/sink-memory.ts';
import { FuzzBudget, Prng } from './prng.ts';
import type { FuzzOptions, FuzzResult } from './types.ts';

export const name = 'mime';

const MAX_CASES = 5000;
/** Each message stays under this (a structure bomb, not a size test: the SIZE limit is tested elsewhere). */
const MAX_MESSAGE_BYTES = 256 * 1024;
const SIZE = 1024 * 1024;
const REQUEST_DEADLINE_MS = 30_000;

const CHARSETS = ['utf-8', 'iso-8859-1', 'x-unknown', 'utf-7', 'gb2312', '', '"utf-8', 'utf-16le'];
const ENCODINGS = ['7bit', 'base64', 'quoted-printable', '8bit', 'binary', 'x-uuencode', 'b64', ''];
const LEAF_TYPES = [
  'text/plain',
  'text/html',
  'application/octet-stream',
  'image/png',
  'application/pdf',
  'text/calendar',
  'application/x-évil\u0001',
  'text/plain; format=flowed; delsp=yes',
  'message/delivery-status',
  'garbage',
];

function headerGarbage(r: Prng): string {
  return r.pick([
    `Subject: =?utf-8?B?${Buffer.from(r.bytes(r.range(0, 30))).toString('base64')}?=`,
    'Subject: =?x-unknown?Q?=FF=FE?= =?utf-8?q?unterminated',
    `X-Nul: a\0b`,
    `X-Long: ${'x'.repeat(r.pick([100, 2000, 20_000]))}`,
    `X-Folded: a\r\n${' b\r\n'.repeat(r.range(1, 200))} c`,
    `From: ${'"a" <a@b>, '.repeat(r.range(1, 300))}x@y`,
    "Content-Disposition: attachment; filename*=utf-8''%E2%80%AE%F0%9F.exe",
    `Received: ${r
      .bytes(40)
      .toString('latin1')
      .replace(/[\r\n]/g, ' ')}`,
  ]);
}

function leaf(r: Prng): string {
  const type = r.pick(LEAF_TYPES);
  const enc = r.pick(ENCODINGS);
  const charset = r.pick(CHARSETS);
  const named = r.chance(0.5)
    ? `; name="${r.pick(['a.bin', 'ü.pdf', '../../etc/passwd', '', 'x'.repeat(500)])}"`
    : '';
  const disp = r.chance(0.5)
    ? `\r\nContent-Disposition: ${r.pick(['attachment', 'inline', 'garbage'])}; filename="f${r.int(100)}.dat"`
    : '';
  let body: string;
  switch (r.int(6)) {
    case 0:
      body = Buffer.from(r.bytes(r.range(0, 3000)))
        .toString('base64')
        .replace(/.{76}/g, '$&\r\n');
      break;
    case 1:
      body = '!!!not base64 @@@\r\n====';
      break;
    case 2:
      body = `${'<div>'.repeat(r.range(1, 3000))}deep${'</div>'.repeat(r.int(10))}`;
      break;
    case 3:
      body = '=ZZ=\r\nsoft break =\r\n=E2=80';
      break;
    case 4:
      body = r
        .bytes(r.range(0, 2000))
        .toString('latin1')
        .replace(/\r?\n\.?/g, '\r\n');
      break;
    default:
      body = 'plain text body\r\n'.repeat(r.range(1, 50));
  }
  return `Content-Type: ${type}${charset ? `; charset=${charset}` : ''}${named}\r\nContent-Transfer-Encoding: ${enc}${disp}\r\n\r\n${body}`;
}

function node(r: Prng, depth: number, budget: { parts: number }): string {
  if (depth <= 0 || budget.parts <= 0 || r.chance(0.3)) {
    budget.parts--;
    return leaf(r);
  }
  if (r.chance(0.1)) return `Content-Type: message/rfc822\r\n\r\n${message(r, depth - 1, budget)}`;
  const boundary = r.pick([
    `b${depth}`,
    'same',
    '',
    `${'-'.repeat(r.range(1, 70))}x`,
    'a b',
    `"q${depth}"`,
  ]);
  const quoted = boundary.startsWith('"') ? boundary : `"${boundary}"`;
  const bare = boundary.replace(/"/g, '');
  const n = r.pick([0, 1, 2, 3, 5, r.range(10, 400)]);
  const parts: string[] = [];
  for (let i = 0; i < n && budget.parts > 0; i++)
    parts.push(`--${bare}\r\n${node(r, depth - 1, budget)}\r\n`);
  const close = r.chance(0.8) ? `--${bare}--\r\n` : '';
  return `Content-Type: multipart/${r.pick(['mixed', 'alternative', 'related', 'digest', 'x-unknown'])}; boundary=${quoted}\r\n\r\npreamble\r\n${parts.join('')}${close}epilogue\r\n`;
}

function message(r: Prng, depth: number, budget: { parts: number }): string {
  const headers = [
    `From: fuzz@example.com`,
    `To: mime@example.com`,
    `Subject: mime ${r.int(1e9)}`,
    'MIME-Version: 1.0',
  ];
  const extra = r.chance(0.3) ? r.range(1, 5) : 0;
  for (let i = 0; i < extra; i++) headers.push(headerGarbage(r));
  if (r.chance(0.05)) for (let i = 0; i < 3000; i++) headers.push(`X-H${i}: v`);
  return `${headers.join('\r\n')}\r\n${node(r, depth, budget)}`;
}

/** What the store keeps for what we sent (sendOne dot-stuffs; the stored message ends with CRLF). */
function expectedRaw(sent: Buffer): Buffer {
  const crlf = Buffer.from('\r\n');
  return sent.length >= 2 && sent.subarray(-2).equals(crlf) ? sent : Buffer.concat([sent, crlf]);
}

async function get(url: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const failures: string[] = [];
  const sink = await startSink({
    noAuth: true,
    maxMessageSize: SIZE,
    maxMessages: 100_000,
    maxBytes: 1024 ** 3,
  });
  const root = new Prng(opts.seed);
  const budget = new FuzzBudget(opts.seconds, MAX_CASES);
  let stored = 0;
  try {
    while (budget.more()) {
      const caseSeed = root.int(2 ** 32);
      const r = new Prng(caseSeed);
      const depth = r.pick([1, 2, 3, 5, 20, 200]);
      let text = message(r, depth, { parts: r.pick([5, 50, 2000]) });
      if (Buffer.byteLength(text, 'latin1') > MAX_MESSAGE_BYTES)
        text = text.slice(0, MAX_MESSAGE_BYTES);
      const raw = Buffer.from(text, 'latin1');
      const where = `case seed ${caseSeed} (${raw.length} bytes, depth ${depth})`;
      const sent = await sendOne(sink.smtpPort, raw);
      if (sent.code !== 250 || sent.id === null) {
        failures.push(`${where}: answered ${sent.code}`);
        continue;
      }
      stored++;
      const kept = sink.context.store.raw(sent.id);
      if (!kept || !kept.equals(expectedRaw(raw)))
        failures.push(`${where}: stored bytes differ from the message sent`);
      try {
        const detail = await get(`${sink.url}/api/messages/${sent.id}`);
        if (detail.status !== 200) {
          failures.push(`${where}: detail answered ${detail.status}`);
          continue;
        }
        const attachments =
          (detail.json as { attachments?: Array<{ index: number }> }).attachments ?? [];
        for (const a of attachments.slice(0, 20)) {
          const res = await fetch(`${sink.url}/api/messages/${sent.id}/attachments/${a.index}`, {
            signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
          });
          await res.arrayBuffer();
          if (res.status !== 200)
            failures.push(`${where}: attachment ${a.index} answered ${res.status}`);
        }
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message}`);
      }
    }
    if (sink.context.store.count !== stored)
      failures.push(`stored ${sink.context.store.count} messages for ${stored} accepted`);
    const live = await fetch(`${sink.url}/livez`).then(
      (res) => res.status,
      (e: Error) => e.message,
    );
    if (live !== 200) failures.push(`/livez answered ${live}`);
    opts.log(`${budget.cases} messages, ${stored} stored`);
  } finally {
    await sink.stop();
  }
  return { cases: budget.cases, failures };
}
