/**
 * SMTP commands and DATA, mutated: sessions built from a grammar of real
 * commands, broken variants (bare LF, NUL, 8-bit, overlong lines, unknown
 * verbs, pipelined bursts, early hang-ups) and mutated bodies, against a real
 * in-process sink on 127.0.0.1 port 0.
 *
 * Invariants: every message answered 250 ("queued as ID") is stored exactly
 * once and nothing else is; the process keeps answering SMTP and /livez.
 */
import { startSink } from '../../sink/index.ts';
import { RawSmtp, dataPayload } from '../integration/sink/support/raw-smtp.ts';
import { FuzzBudget, Prng } from './prng.ts';
import type { FuzzOptions, FuzzResult } from './types.ts';

export const name = 'smtp';

/** Sessions per run at most (a fast machine must still stop). */
const MAX_CASES = 50_000;
/** A reply slower than this is a failure (the sink answers in milliseconds; this is not a timing test, it bounds a hang). */
const REPLY_DEADLINE_MS = 10_000;
const SIZE = 256 * 1024;

const VERBS = [
  'EHLO',
  'HELO',
  'MAIL FROM:',
  'RCPT TO:',
  'DATA',
  'RSET',
  'NOOP',
  'VRFY',
  'EXPN',
  'HELP',
  'STARTTLS',
  'AUTH PLAIN',
  'AUTH LOGIN',
  'BDAT',
  'XCLIENT',
  'QUIT',
  'GET / HTTP/1.1',
  'mail from:',
  'Rcpt To:',
];
const ADDRESSES = [
  '<a@example.com>',
  '<>',
  '<b+tag@example.com>',
  '<"q u"@example.com>',
  '<@route:c@example.com>',
  'a@example.com',
  '<a@[127.0.0.1]>',
  '<ü@例え.jp>',
  '<a@b@c>',
  '<' + 'x'.repeat(300) + '@example.com>',
  '<a@example.com> SIZE=10',
  '<a@example.com> BODY=8BITMIME',
  '<a@example.com> SMTPUTF8',
  '<a@example.com> SIZE=999999999999',
];

/** AUTH and STARTTLS start exchanges a burst cannot end reliably; they are fuzzed one command at a time. */
const PIPELINABLE = VERBS.filter((v) => !v.startsWith('AUTH') && v !== 'STARTTLS');

const SCRIPT = ['EHLO', 'MAIL FROM:', 'RCPT TO:', 'DATA'];

function mutateLine(r: Prng, line: string): string | Buffer {
  switch (r.int(14)) {
    case 0:
      return `${line}\n`; // bare LF
    case 1:
      return `${line}\0junk\r\n`;
    case 2:
      return Buffer.concat([Buffer.from(line), r.bytes(r.range(1, 40)), Buffer.from('\r\n')]);
    case 3:
      return `${line}${'A'.repeat(r.pick([510, 1000, 5000, 70_000]))}\r\n`;
    case 4:
      return `${line.toLowerCase()}\r\n`;
    case 5:
      return `  ${line}  \r\n`;
    default:
      return `${line}\r\n`;
  }
}

function body(r: Prng): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`Subject: fuzz ${r.int(1e9)}\r\nFrom: a@example.com\r\n\r\n`),
  ];
  const n = r.range(0, 6);
  for (let i = 0; i < n; i++) {
    parts.push(
      r.pick([
        Buffer.from('.leading dot\r\n'),
        Buffer.from('\r\n.\r\n'.slice(r.int(3))),
        Buffer.from('line\n.\nsmuggle\r\n'),
        r.bytes(r.range(0, 2000)),
        Buffer.from('x'.repeat(r.pick([10, 998, 20_000])) + '\r\n'),
        Buffer.from('\r.\r'),
      ]),
    );
  }
  if (r.chance(0.05)) parts.push(Buffer.alloc(SIZE + 10, 0x61)); // over SIZE: 552, not stored
  return Buffer.concat(parts);
}

async function session(r: Prng, port: number, accepted: string[]): Promise<string | null> {
  const c = await RawSmtp.open(port);
  const sent: string[] = [];
  const write = c.write.bind(c);
  c.write = (data: Buffer | string) => {
    sent.push(JSON.stringify(data.toString().slice(0, 120)));
    write(data);
  };
  try {
    await c.waitReplies(1, REPLY_DEADLINE_MS);
    const wellFormed = r.chance(0.5);
    const steps = r.range(1, 14);
    for (let i = 0; i < steps && !c.closed; i++) {
      // Half the sessions follow the real order (EHLO, MAIL, RCPT, DATA) with
      // detours, so that many messages are accepted; the rest wander.
      const verb =
        wellFormed && r.chance(0.85)
          ? SCRIPT[i % SCRIPT.length]
          : r.chance(0.6)
            ? r.pick(SCRIPT)
            : r.pick(VERBS);
      if (r.chance(0.03)) {
        c.close();
        return null;
      } // hang up mid-session
      if (r.chance(0.05)) {
        // A pipelined burst ends the session: its replies cannot be paired one
        // by one, so it ends with a lone dot (closes a DATA it may have opened)
        // and QUIT, and every reply is read before the server closes.
        const burst = Array.from(
          { length: r.range(2, 20) },
          () => `${r.pick(PIPELINABLE)} ${r.pick(ADDRESSES)}\r\n`,
        ).join('');
        c.write(`${burst}\r\n.\r\nQUIT\r\n`);
        await c.waitClosed(REPLY_DEADLINE_MS);
        return null;
      }
      const arg = verb.endsWith(':')
        ? r.pick(ADDRESSES)
        : verb === 'EHLO' || verb === 'HELO'
          ? r.pick(['fuzz.example', '', '[127.0.0.1]', 'ä.example'])
          : r.chance(0.2)
            ? r.bytes(8).toString('latin1')
            : '';
      const before = c.replies.length;
      const line = mutateLine(r, `${verb}${verb.endsWith(':') ? '' : ' '}${arg}`.trimEnd());
      // A mutated write can hold several lines (a bare LF, random bytes): each gets a reply,
      // except the lines after a 354, which are message data whatever verb this step meant.
      const lines = (Buffer.isBuffer(line) ? line : Buffer.from(line)).filter(
        (b) => b === 0x0a,
      ).length;
      c.write(line);
      const opened = (): boolean => c.replies.slice(before).some((x) => x.code === 354);
      while (c.replies.length < before + lines && !opened() && !c.closed)
        await c.waitReplies(c.replies.length + 1, REPLY_DEADLINE_MS);
      if (opened() && !c.closed) {
        const n = c.replies.length + 1;
        c.write(dataPayload(body(r)));
        await c.waitReplies(n, REPLY_DEADLINE_MS);
      }
    }
    // QUIT may be eaten as an AUTH answer (then 501): ask again, a few times.
    for (let k = 0; k < 3 && !c.closed; k++) {
      const n = c.replies.length + 1;
      c.write('QUIT\r\n');
      await c.waitReplies(n, REPLY_DEADLINE_MS);
      if (c.replies[n - 1]?.code === 221) break;
    }
    await c.waitClosed(REPLY_DEADLINE_MS);
  } catch (err) {
    return `${(err as Error).message}; sent ${sent.join(' ')}; replies ${c.replies.map((x) => x.code).join(',')}`;
  } finally {
    for (const reply of c.replies) {
      const id = reply.code === 250 ? /queued as (\S+)/.exec(reply.text)?.[1] : undefined;
      if (id) accepted.push(id);
    }
    c.close();
  }
  return null;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const failures: string[] = [];
  const sink = await startSink({
    noAuth: true,
    maxMessageSize: SIZE,
    maxMessages: 1_000_000,
    maxBytes: 1024 ** 3,
    parseInWorker: false,
  });
  const root = new Prng(opts.seed);
  const budget = new FuzzBudget(opts.seconds, MAX_CASES);
  const accepted: string[] = [];
  try {
    while (budget.more()) {
      const caseSeed = root.int(2 ** 32);
      const problem = await session(new Prng(caseSeed), sink.smtpPort, accepted);
      if (problem) failures.push(`case seed ${caseSeed}: ${problem}`);
      if (problem && process.env.FUZZ_DEBUG) opts.log(problem);
    }
    const distinct = new Set(accepted);
    if (distinct.size !== accepted.length)
      failures.push(
        `an ID was answered 250 twice: ${accepted.length} answers, ${distinct.size} IDs`,
      );
    for (const id of distinct)
      if (!sink.context.store.get(id)) failures.push(`answered 250 as ${id} but not stored`);
    if (sink.context.store.count !== distinct.size)
      failures.push(`stored ${sink.context.store.count} messages for ${distinct.size} accepted`);
    const live = await fetch(`${sink.url}/livez`).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    if (live !== 200) failures.push(`/livez answered ${live}`);
    opts.log(`${budget.cases} sessions, ${distinct.size} messages accepted`);
  } finally {
    await sink.stop();
  }
  return { cases: budget.cases, failures };
}
