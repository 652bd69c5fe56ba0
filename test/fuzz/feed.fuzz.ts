/**
 * The WebSocket event feed under many clients at once: readers, slow readers
 * (stop reading, resume later), quitters, clients with bad parameters or
 * credentials, random `since`/`types`/`instance`, while events are appended.
 *
 * Invariants: a reader gets every event after its `since` in order, without
 * duplicates or holes (except an explicit `gap`); a slow reader that resumes
 * either catches up the same way or is closed with 4008, never cut by a bare
 * EOF; refused upgrades answer 4xx/503, never 5xx otherwise; every socket is
 * released when the clients leave; /livez answers.
 */
import WebSocket from 'ws';
import { startSink } from '../../sink/index.ts';
import { FuzzBudget, Prng } from './prng.ts';
import type { FuzzOptions, FuzzResult } from './types.ts';

export const name = 'feed';

const MAX_CASES = 200;
const TOKEN = 'feed-fuzz-token-0123456789';
/** Clients per case; the sink's cap is 256, so some cases go past it. */
const MAX_CLIENTS = 300;
/** Events appended per case: past the feed's 20,000-event lag bound, so slow readers are dropped. */
const MAX_EVENTS = 30_000;
const DEADLINE_MS = 30_000;

type Mode = 'reader' | 'slow' | 'quitter' | 'bad';

interface Client {
  mode: Mode;
  since: number | null;
  typed: boolean;
  ws: WebSocket | null;
  frames: Array<{ type: string; seq?: number; data?: { to?: number } }>;
  opened: boolean;
  status: number | null;
  closeCode: number | null;
  closed: Promise<void>;
}

function open(r: Prng, port: number, mode: Mode, lastSeq: number, crowd: boolean): Client {
  // A crowd does not replay the whole window each (tens of thousands of events × hundreds of clients).
  const since = r.chance(0.3)
    ? null
    : r.pick([
        crowd ? Math.max(0, lastSeq - 100) : 0,
        Math.max(0, lastSeq - r.int(50)),
        lastSeq,
        lastSeq + 1000,
      ]);
  const typed = r.chance(0.2);
  const params = new URLSearchParams();
  if (since !== null) params.set('since', String(since));
  if (typed) params.set('types', 'message.deleted');
  if (r.chance(0.1)) params.set('instance', r.pick(['other', '']));
  if (mode === 'bad')
    params.set(r.pick(['since', 'types']), r.pick(['-1', 'x', 'nope.*', '99999999999999999999']));
  const headers: Record<string, string> =
    mode === 'bad' && r.chance(0.5)
      ? { authorization: 'Bearer wrong' }
      : { authorization: `Bearer ${TOKEN}` };
  const client: Client = {
    mode,
    since,
    typed,
    ws: null,
    frames: [],
    opened: false,
    status: null,
    closeCode: null,
    closed: Promise.resolve(),
  };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events?${params.toString()}`, [], {
    headers,
  });
  client.ws = ws;
  client.closed = new Promise<void>((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      client.status = res.statusCode ?? null;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      client.opened = true;
      if (mode === 'slow') ws.pause();
    });
    ws.on('message', (data: Buffer) => {
      client.frames.push(JSON.parse(data.toString('utf8')) as Client['frames'][number]);
      if (mode === 'quitter' && client.frames.length >= 3) ws.close();
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      client.closeCode = code;
      resolve();
    });
  });
  return client;
}

function checkSequence(c: Client, where: string, failures: string[]): number {
  let last: number | null = null;
  for (const f of c.frames) {
    if (f.type === 'hello') continue;
    if (f.type === 'gap') {
      last = f.data?.to ?? last;
      continue;
    }
    if (typeof f.seq !== 'number') continue;
    if (last !== null && f.seq <= last)
      failures.push(`${where}: seq ${f.seq} after ${last} (duplicate or out of order)`);
    if (last !== null && !c.typed && f.seq !== last + 1)
      failures.push(`${where}: hole between ${last} and ${f.seq}`);
    last = f.seq;
  }
  return last ?? 0;
}

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const failures: string[] = [];
  const sink = await startSink({ token: TOKEN });
  const root = new Prng(opts.seed);
  const budget = new FuzzBudget(opts.seconds, MAX_CASES);
  const events = sink.context.events;
  let dropped = 0;
  try {
    while (budget.more()) {
      const caseSeed = root.int(2 ** 32);
      const r = new Prng(caseSeed);
      // A quarter of the cases: one reader and one reader that stops, under a flood of large events.
      const slowCase = r.chance(0.25);
      const n = slowCase ? 2 : r.pick([1, 5, 20, 60, r.range(100, MAX_CLIENTS)]);
      const clients: Client[] = [];
      for (let i = 0; i < n; i++) {
        const mode = slowCase
          ? i === 0
            ? 'reader'
            : 'slow'
          : r.pick<Mode>(['reader', 'reader', 'reader', 'slow', 'quitter', 'bad']);
        clients.push(open(r, sink.httpPort, mode, events.lastSeq, n > 60));
      }
      if (
        !(await until(
          () => clients.every((c) => c.opened || c.status !== null || c.closeCode !== null),
          DEADLINE_MS,
        ))
      ) {
        failures.push(
          `case seed ${caseSeed}: ${clients.filter((c) => !(c.opened || c.status !== null || c.closeCode !== null)).length} of ${n} upgrades neither opened nor refused within ${DEADLINE_MS} ms`,
        );
      }
      // Many events to few clients (slow readers pass the lag bound), few events to many clients:
      // the frames sent stay bounded (events × clients), so a case ends in seconds.
      const total = slowCase
        ? MAX_EVENTS
        : n > 60
          ? r.pick([0, 10, 1000])
          : r.pick([0, 10, 1000, r.range(5000, MAX_EVENTS)]);
      // Large events in the slow case: the paused reader's socket fills and it falls past the lag bound (4008).
      const pad = slowCase ? 1500 : r.pick([0, 0, 200]);
      for (let i = 0; i < total; i++) {
        events.append('message.deleted', { id: `fuzz-${caseSeed}-${i}-${'x'.repeat(pad)}` });
        if (i % 500 === 499) await new Promise((res) => setImmediate(res));
      }
      const last = events.lastSeq;
      for (const c of clients) if (c.mode === 'slow') c.ws?.resume();
      const where = (c: Client, i: number) =>
        `case seed ${caseSeed}, client ${i} (${c.mode}, since ${c.since}${c.typed ? ', typed' : ''})`;
      // Readers (and resumed slow readers not dropped) reach the last event, or a slow one gets 4008.
      const caughtUp = (c: Client) =>
        c.frames.some((f) => f.seq === last) ||
        ((c.frames.find((f) => f.type === 'hello') as { since?: number } | undefined)?.since ??
          0) >= last;
      await until(
        () =>
          clients.every(
            (c) =>
              !c.opened ||
              c.closeCode !== null ||
              c.mode === 'quitter' ||
              c.mode === 'bad' ||
              c.typed ||
              caughtUp(c),
          ),
        DEADLINE_MS,
      );
      clients.forEach((c, i) => {
        if (c.status !== null && c.status >= 500 && c.status !== 503)
          failures.push(`${where(c, i)}: upgrade answered ${c.status}`);
        if (c.mode !== 'bad' && c.status !== null && c.status !== 503)
          failures.push(`${where(c, i)}: upgrade refused with ${c.status}`);
        if (!c.opened) return;
        const got = checkSequence(c, where(c, i), failures);
        if (c.closeCode === 1006) failures.push(`${where(c, i)}: cut without a close frame (1006)`);
        const from =
          (c.frames.find((f) => f.type === 'hello') as { since?: number } | undefined)?.since ?? 0;
        if (
          (c.mode === 'reader' || c.mode === 'slow') &&
          c.closeCode === null &&
          !c.typed &&
          from < last &&
          got !== last
        )
          failures.push(
            `${where(c, i)}: stopped at seq ${got} of ${last} (frames ${c.frames.length}: ${JSON.stringify(c.frames.slice(0, 2)).slice(0, 300)}, close ${c.closeCode})`,
          );
        if (
          c.closeCode !== null &&
          c.closeCode !== 4008 &&
          c.closeCode !== 1000 &&
          c.closeCode !== 1005
        )
          failures.push(`${where(c, i)}: closed with ${c.closeCode}`);
      });
      dropped += clients.filter((c) => c.closeCode === 4008).length;
      for (const c of clients) c.ws?.close();
      await Promise.race([
        Promise.all(clients.map((c) => c.closed)),
        new Promise((res) => setTimeout(res, DEADLINE_MS)),
      ]);
    }
    // Every feed socket is released once its client has gone.
    const feedClients = async () =>
      /^email_sink_feed_clients (\d+)$/m.exec(
        await (await fetch(`${sink.url}/metrics`)).text(),
      )?.[1];
    let left = await feedClients();
    for (let i = 0; i < 100 && left !== '0'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      left = await feedClients();
    }
    if (left !== '0') failures.push(`${left} feed clients still counted after every client closed`);
    const live = await fetch(`${sink.url}/livez`).then(
      (res) => res.status,
      (e: Error) => e.message,
    );
    if (live !== 200) failures.push(`/livez answered ${live}`);
    opts.log(
      `${budget.cases} cases, ${events.lastSeq} events, ${dropped} slow clients closed with 4008`,
    );
  } finally {
    await sink.stop();
  }
  return { cases: budget.cases, failures };
}
