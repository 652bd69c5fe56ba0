/**
 * Every HTTP route of a real sink (as registered: own API, MailHog, probes,
 * metrics, the feed path, whatever else is added) × credential variants, with
 * mutated paths, ids, query strings, methods and bodies, over raw sockets.
 *
 * Invariants: no 5xx (none is documented for these requests); no auth bypass
 * (a route that needs the token answers 401 to every wrong or missing
 * credential, and never 401 to a right one); no hang; /livez answers.
 */
import { startSink } from '../../sink/index.ts';
import { sendOne } from '../support/sink-memory.ts';
import { rawRequest, requestHead } from './http-raw.ts';
import { FuzzBudget, Prng } from './prng.ts';
import type { FuzzOptions, FuzzResult } from './types.ts';

export const name = 'api';

const MAX_CASES = 20_000;
const TOKEN = 'fuzz-token-0123456789abcdef';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Credentials and whether the sink must accept them (sink/http/auth.ts: Bearer, or Basic with the token as password). */
export const CREDENTIALS: ReadonlyArray<{
  name: string;
  lines: Array<string | Buffer>;
  valid: boolean;
  query?: string;
}> = [
  { name: 'none', lines: [], valid: false },
  { name: 'bearer', lines: [`Authorization: Bearer ${TOKEN}`], valid: true },
  { name: 'bearer-lowercase-scheme', lines: [`Authorization: bearer ${TOKEN}`], valid: true },
  { name: 'bearer-padded', lines: [`Authorization: Bearer   ${TOKEN}   `], valid: true },
  {
    name: 'basic-user-token',
    lines: [`Authorization: Basic ${b64(`mailhog:${TOKEN}`)}`],
    valid: true,
  },
  { name: 'basic-empty-user', lines: [`Authorization: Basic ${b64(`:${TOKEN}`)}`], valid: true },
  {
    name: 'bearer-wrong',
    lines: ['Authorization: Bearer wrong-token-0123456789abcdef'],
    valid: false,
  },
  { name: 'bearer-prefix', lines: [`Authorization: Bearer ${TOKEN.slice(0, -1)}`], valid: false },
  { name: 'bearer-suffix', lines: [`Authorization: Bearer ${TOKEN}x`], valid: false },
  { name: 'bearer-empty', lines: ['Authorization: Bearer '], valid: false },
  { name: 'bearer-no-space', lines: [`Authorization: Bearer${TOKEN}`], valid: false },
  { name: 'scheme-only', lines: ['Authorization: Bearer'], valid: false },
  { name: 'token-scheme', lines: [`Authorization: Token ${TOKEN}`], valid: false },
  { name: 'basic-no-colon', lines: [`Authorization: Basic ${b64(TOKEN)}`], valid: false },
  {
    name: 'basic-token-as-user',
    lines: [`Authorization: Basic ${b64(`${TOKEN}:`)}`],
    valid: false,
  },
  { name: 'basic-garbage', lines: ['Authorization: Basic !!!not base64!!!'], valid: false },
  { name: 'query-token', lines: [], valid: false, query: `token=${TOKEN}` },
  {
    name: 'non-latin1',
    lines: [
      Buffer.concat([Buffer.from('Authorization: Bearer '), Buffer.from(`${TOKEN}ä`, 'utf8')]),
    ],
    valid: false,
  },
  {
    name: 'nul-in-token',
    lines: [
      Buffer.concat([
        Buffer.from(`Authorization: Bearer ${TOKEN}`),
        Buffer.from([0]),
        Buffer.from('x'),
      ]),
    ],
    valid: false,
  },
  { name: 'huge', lines: [`Authorization: Bearer ${'A'.repeat(12_000)}`], valid: false },
  { name: 'x-api-key', lines: [`X-Api-Key: ${TOKEN}`, `Cookie: token=${TOKEN}`], valid: false },
];

/**
 * 5xx answers that are documented behaviour: MailHog answers 500 to a release
 * whose body is not the JSON it expects, and the compatible route does too.
 */
const DOCUMENTED_5XX: ReadonlyArray<{ method: string; path: RegExp; status: number }> = [
  { method: 'POST', path: /^\/api\/v1\/messages\/[^/]+\/release$/, status: 500 },
  // MailHog answers a bare 500 for an unknown id on v1 delete, download and part download (sink/http/mailhog/routes.ts cites v1.go).
  { method: 'DELETE', path: /^\/api\/v1\/messages\/[^/]+$/, status: 500 },
  {
    method: 'GET',
    path: /^\/api\/v1\/messages\/[^/]+\/(download|mime\/part\/[^/]+\/download)$/,
    status: 500,
  },
  { method: 'POST', path: /^\/api\/v1\/messages\/[^/]+\/release$/, status: 500 },
];
/** Routes that answer with a stream that does not end (event sources): only their response head is read. */
const STREAMING = /\/(events|websocket)$/;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'get', 'FOO'];
const QUERY_KEYS = [
  'start',
  'limit',
  'q',
  'to',
  'from',
  'subject',
  'containing',
  'tag',
  'kind',
  'query',
  'since',
  'types',
  'instance',
];
const QUERY_VALUES = [
  '0',
  '1',
  '-1',
  '99999999999999999999',
  'x',
  '',
  '%00',
  '%ff%fe',
  '%E2%80%AE',
  'a'.repeat(2000),
  '1e3',
  '0x10',
  'message.*',
  'to',
  'from',
  'containing',
];
const ID_VALUES = [
  '..',
  '%2e%2e',
  '%00',
  'x'.repeat(300),
  '%ff',
  '-1',
  '0',
  'null',
  '%E2%80%AE',
  'a%2Fb',
];

function fill(r: Prng, pattern: string, ids: readonly string[]): string {
  return pattern
    .split('/')
    .map((seg) => {
      if (seg === ':index') return r.pick(['0', '1', '7', '-1', '999999', 'x', '1000000', '00']);
      if (seg.startsWith(':')) return ids.length && r.chance(0.6) ? r.pick(ids) : r.pick(ID_VALUES);
      return seg;
    })
    .join('/');
}

function query(r: Prng, extra?: string): string {
  const pairs: string[] = [];
  const n = r.chance(0.5) ? 0 : r.range(1, 4);
  for (let i = 0; i < n; i++) pairs.push(`${r.pick(QUERY_KEYS)}=${r.pick(QUERY_VALUES)}`);
  if (extra) pairs.push(extra);
  return pairs.length ? `?${pairs.join('&')}` : '';
}

function body(r: Prng): Buffer {
  switch (r.int(6)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from('rules:\n  - match: { recipient: "*@fuzz.example" }\n    reject: {}\n');
    case 2:
      return Buffer.from(
        `rules:\n  - match: { sender: "/${r.pick(['(a+)+$', '(a)\\\\1', 'x(?=y)', '[', '.*'])}/" }\n    reject: {}\n`,
      );
    case 3:
      return r.bytes(r.range(1, 4000));
    case 4:
      return Buffer.from('rules: [' + '['.repeat(5000));
    default:
      return Buffer.from(`{"a":${'['.repeat(100)}}`);
  }
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const failures: string[] = [];
  const notes = new Set<string>();
  const sink = await startSink({ token: TOKEN });
  const root = new Prng(opts.seed);
  const budget = new FuzzBudget(opts.seconds, MAX_CASES);
  try {
    const seed = async () => {
      const ids: string[] = [];
      for (const raw of [
        'Subject: a\r\n\r\nhello\r\n',
        'Subject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\nAAAA\r\n--b--\r\n',
      ]) {
        const r = await sendOne(sink.smtpPort, Buffer.from(raw));
        if (r.id) ids.push(r.id);
      }
      return ids;
    };
    let ids = await seed();
    const routes = sink.routes();
    // First every route × every credential, then random mutations.
    const systematic: Array<{
      route: (typeof routes)[number];
      cred: (typeof CREDENTIALS)[number];
    }> = [];
    for (const route of routes) for (const cred of CREDENTIALS) systematic.push({ route, cred });
    let i = 0;
    while (budget.more()) {
      const r = new Prng(root.int(2 ** 32));
      const fixed = i < systematic.length ? systematic[i++] : null;
      const route = fixed?.route ?? r.pick(routes);
      const cred = fixed?.cred ?? r.pick(CREDENTIALS);
      const method = fixed || r.chance(0.7) ? route.method : r.pick(METHODS);
      const appended = !fixed && r.chance(0.1);
      const path = appended
        ? `${fill(r, route.pattern, ids)}/${r.pick(ID_VALUES)}`
        : fill(r, route.pattern, ids);
      const target = `${path}${query(r, cred.query)}`;
      const payload = method === 'PUT' || method === 'POST' ? body(r) : Buffer.alloc(0);
      const sameRoute =
        method.toUpperCase() === route.method || (method === 'HEAD' && route.method === 'GET');
      let res;
      try {
        res = await rawRequest(
          sink.httpPort,
          requestHead(method, target, cred.lines, payload.length),
          payload,
          10_000,
          STREAMING.test(route.pattern),
        );
      } catch (err) {
        failures.push(
          `${method} ${target.slice(0, 120)} [${cred.name}]: ${(err as Error).message}`,
        );
        continue;
      }
      const where = `${method} ${target.slice(0, 120)} [${cred.name}] -> ${res.status}`;
      if (res.status === null) {
        // Only a request the HTTP parser refuses may be cut without a status line (it answers 400 when it can).
        if (cred.name !== 'nul-in-token' && cred.name !== 'non-latin1')
          failures.push(`${where}: no status line`);
        continue;
      }
      // A 5xx carrying a catalog code other than EV_ERR_INTERNAL (501 EV_ERR_NOT_IMPLEMENTED, 503 …) is a deliberate, documented answer.
      const code = /"code":"(EV_ERR_[A-Z_]+)"/.exec(res.body.toString('utf8', 0, 300))?.[1];
      const documented =
        (code !== undefined && code !== 'EV_ERR_INTERNAL') ||
        DOCUMENTED_5XX.some(
          (d) => d.method === method && d.status === res.status && d.path.test(path),
        );
      if (res.status >= 500 && !documented)
        failures.push(`${where}: server error ${res.body.toString('utf8').slice(0, 200)}`);
      // Only requests that reached the router: the HTTP parser answers 400/431 before any route.
      const parsed = res.status !== 400 && res.status !== 431;
      // A path outside every route is 404 without looking at credentials; on a route's path the token comes first.
      // (dot segments are normalised away and undecodable escapes match no route: such paths are off-route too).
      const onRoute = !appended && !/%2F|%2e|\.\.|%ff|%00|%E2/i.test(path);
      // A bypass is an answer that gives data or has an effect (< 400) without the token; CORS preflights
      // (OPTIONS) are unauthenticated by design. A 4xx other than 401 on a route's path is noted, not failed.
      if (route.auth && parsed && !cred.valid && method !== 'OPTIONS' && res.status < 400)
        failures.push(`${where}: auth bypass (expected 401)`);
      else if (
        route.auth &&
        parsed &&
        !cred.valid &&
        onRoute &&
        sameRoute &&
        method !== 'OPTIONS' &&
        res.status !== 401
      )
        notes.add(`${method} ${route.pattern} answers ${res.status} before checking the token`);
      if (route.auth && cred.valid && res.status === 401 && sameRoute)
        failures.push(`${where}: valid credentials refused`);
      if (r.chance(0.02) || ids.every((id) => sink.context.store.get(id) === undefined))
        ids = await seed();
    }
    const live = await rawRequest(sink.httpPort, requestHead('GET', '/livez', [], 0));
    if (live.status !== 200) failures.push(`/livez answered ${live.status}`);
    for (const note of notes) opts.log(`note: ${note}`);
    opts.log(
      `${budget.cases} requests over ${routes.length} routes × ${CREDENTIALS.length} credential variants`,
    );
  } finally {
    await sink.stop();
  }
  return { cases: budget.cases, failures };
}
