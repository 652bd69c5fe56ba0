/**
 * The SMTP probe stage, reply by reply: every way a dialogue can end (greeting,
 * EHLO/HELO, MAIL FROM, RCPT, the catch-all probe) with its exact details and
 * reason, the retry bounds for unreachable hosts, the catch-all cache and the
 * answer shared with other processes, and the port-25 precheck. A scripted
 * transport stands in for the wire (the loopback SMTP servers of
 * test/integration/check/ drive the real one); time is a FakeClock.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../support/fake-clock.ts';
import { KeyedLimiter } from '../../../../src/limits/keyed-limiter.ts';
import type { DomainDns } from '../../../../src/address/dns.ts';
import type { SmtpReply } from '../../../../src/address/smtp-plan.ts';
import {
  MAX_CATCH_ALL_CACHE,
  MAX_REPLY_TEXT,
  SHARED_CATCH_ALL_POLL_MS,
  SHARED_CATCH_ALL_WAIT_MS,
  SmtpStage,
  port25Reachable,
  type CatchAllShare,
  type SmtpSession,
  type SmtpTransport,
} from '../../../../src/check/smtp-stage.ts';

const OK: SmtpReply = { code: 250, message: 'OK' };

interface Script {
  greeting?: SmtpReply;
  /** The reply to one command line; throwing stands for a connection lost mid-dialogue. */
  reply?: (line: string, session: number) => SmtpReply;
  /** Connect failure per host (the message of the error thrown), or undefined to connect. */
  refuse?: (host: string, attempt: number) => string | undefined;
}

type Scripted = SmtpTransport & {
  connects: string[];
  commands: string[];
  closed: number;
};

function scripted(script: Script = {}): Scripted {
  const t: Scripted = {
    connects: [],
    commands: [],
    closed: 0,
    async connect(target) {
      t.connects.push(`${target.host}:${target.port}`);
      const refused = script.refuse?.(target.host, t.connects.length);
      if (refused !== undefined) throw new Error(refused);
      const n = t.connects.length;
      const session: SmtpSession = {
        greeting: script.greeting ?? { code: 220, message: 'mx ESMTP' },
        async command(line: string) {
          t.commands.push(line);
          await Promise.resolve();
          return script.reply ? script.reply(line, n) : OK;
        },
        async close() {
          t.closed++;
        },
      };
      return session;
    },
  };
  return t;
}

const dnsOf = (...hosts: string[]): DomainDns => ({
  status: 'ok',
  implicitMx: false,
  mx: hosts.map((h, i) => ({
    exchange: h,
    priority: 10 * (i + 1),
    addresses: [`192.0.2.${i + 1}`],
    private: false,
  })),
});

function stage(
  transport: SmtpTransport,
  clock: FakeClock,
  over: Partial<ConstructorParameters<typeof SmtpStage>[0]> = {},
): SmtpStage {
  let seed = 7;
  return new SmtpStage({
    transport,
    clock,
    random: () => (seed = (seed * 16807) % 2147483647) / 2147483647,
    helo: 'probe.example.net',
    mailFrom: 'verify@example.net',
    port: 2525,
    allowPrivate: false,
    domainLimiter: new KeyedLimiter({ concurrency: 4, rate: 1e6, burst: 1e6 }, clock),
    providerLimiter: new KeyedLimiter({ concurrency: 4, rate: 1e6, burst: 1e6 }, clock),
    greylistAttempts: 1,
    greylistBaseMs: 60_000,
    greylistMaxMs: 300_000,
    connectAttempts: 3,
    connectBaseMs: 1000,
    ...over,
  });
}

/** Runs one probe to its end on the fake clock. */
async function probe(
  s: SmtpStage,
  clock: FakeClock,
  address: string,
  dns: DomainDns = dnsOf(`mx.${address.slice(address.lastIndexOf('@') + 1)}`),
) {
  const p = s.probe(address, address.slice(address.lastIndexOf('@') + 1), dns);
  await clock.runUntilIdle();
  return p;
}

/** A server whose replies to EHLO, HELO, MAIL and RCPT are given; the catch-all probe gets `probe`. */
function dialogue(r: {
  ehlo?: SmtpReply;
  helo?: SmtpReply;
  mail?: SmtpReply;
  rcpt?: SmtpReply;
  probe?: SmtpReply;
}): Script['reply'] {
  return (line) => {
    if (line.startsWith('EHLO ')) return r.ehlo ?? { code: 250, message: 'mx PIPELINING' };
    if (line.startsWith('HELO ')) return r.helo ?? OK;
    if (line.startsWith('MAIL FROM:')) return r.mail ?? OK;
    if (line.startsWith('RCPT TO:<ev-')) return r.probe ?? { code: 550, message: 'no such user' };
    if (line.startsWith('RCPT TO:')) return r.rcpt ?? OK;
    return { code: 500, message: `unexpected ${line}` };
  };
}

describe('check/SmtpStage: every end of a dialogue', () => {
  it('never sends an address outside the envelope grammar: skipped, syntax_invalid, no connection', async () => {
    const clock = new FakeClock();
    for (const bad of ['a b@x.test', 'a@x.test>\r\nDATA', 'no-at-sign', '@x.test']) {
      const t = scripted();
      const r = await probe(stage(t, clock), clock, bad, dnsOf('mx.x.test'));
      assert.deepEqual(r, {
        details: { status: 'skipped', catchAll: null, attempts: 0 },
        reasons: ['syntax_invalid'],
      });
      assert.deepEqual(t.connects, []);
    }
  });

  it('speaks EHLO, MAIL FROM and RCPT TO as configured, on the configured port, and counts the session', async () => {
    const clock = new FakeClock();
    const t = scripted({ reply: dialogue({}) });
    const s = stage(t, clock);
    const r = await probe(s, clock, 'alice@strict.test');
    assert.deepEqual(r, {
      details: {
        status: 'deliverable',
        host: 'mx.strict.test',
        code: 250,
        message: 'OK',
        attempts: 1,
        catchAll: false,
      },
      reasons: [],
    });
    assert.deepEqual(t.connects, ['mx.strict.test:2525']);
    assert.equal(t.commands[0], 'EHLO probe.example.net');
    assert.equal(t.commands[1], 'MAIL FROM:<verify@example.net>');
    assert.equal(t.commands[2], 'RCPT TO:<alice@strict.test>');
    assert.match(t.commands[3], /^RCPT TO:<ev-[a-z0-9]+@strict\.test>$/);
    assert.equal(t.commands.length, 4);
    assert.equal(s.sessions, 1);
    assert.equal(t.closed, 1);
    assert.equal(s.catchAllOf('strict.test'), false);
  });

  it('reports each RCPT class with its reply, enhanced code and catch-all flag', async () => {
    const clock = new FakeClock();
    const cases: Array<[SmtpReply, object, string]> = [
      [
        { code: 550, enhanced: '5.1.1', message: '5.1.1 no such user' },
        { status: 'undeliverable', catchAll: false },
        'mailbox_not_found',
      ],
      [
        { code: 552, message: 'mailbox full' },
        { status: 'undeliverable', catchAll: false },
        'smtp_rejected',
      ],
      [
        { code: 554, enhanced: '5.7.1', message: '5.7.1 client host blocked' },
        { status: 'blocked', catchAll: null },
        'smtp_blocked',
      ],
      [
        { code: 451, enhanced: '4.7.1', message: '4.7.1 greylisted' },
        { status: 'greylisted', catchAll: null },
        'smtp_greylisted',
      ],
    ];
    for (const [reply, want, reason] of cases) {
      const t = scripted({ reply: dialogue({ rcpt: reply }) });
      const r = await probe(stage(t, clock), clock, 'bob@some.test');
      const enhanced = reply.enhanced === undefined ? {} : { enhanced: reply.enhanced };
      assert.deepEqual(
        r,
        {
          details: {
            host: 'mx.some.test',
            code: reply.code,
            message: reply.message,
            attempts: 1,
            ...enhanced,
            ...want,
          },
          reasons: [reason],
        },
        reply.message,
      );
    }
  });

  it('keeps the catch-all answer already known for the domain on blocked and greylisted results', async () => {
    const clock = new FakeClock();
    let rcpt: SmtpReply = OK;
    const t = scripted({
      reply: (line) => (line.startsWith('RCPT TO:<ev-') ? OK : line.startsWith('RCPT') ? rcpt : OK),
    });
    const s = stage(t, clock);
    assert.deepEqual((await probe(s, clock, 'a@any.test')).reasons, ['catch_all']);
    rcpt = { code: 554, message: 'blocked by policy' };
    assert.equal((await probe(s, clock, 'b@any.test')).details.catchAll, true);
    rcpt = { code: 450, message: 'later' };
    assert.equal((await probe(s, clock, 'c@any.test')).details.catchAll, true);
    // A mailbox that does not exist proves the server is not a catch-all after all.
    rcpt = { code: 550, enhanced: '5.1.1', message: 'no' };
    assert.equal((await probe(s, clock, 'd@any.test')).details.catchAll, false);
  });

  it('cuts server text to MAX_REPLY_TEXT characters', async () => {
    const clock = new FakeClock();
    const long = `550 ${'x'.repeat(MAX_REPLY_TEXT * 2)}`;
    const t = scripted({ reply: dialogue({ rcpt: { code: 552, message: long } }) });
    const r = await probe(stage(t, clock), clock, 'bob@chatty.test');
    assert.equal(r.details.message, long.slice(0, MAX_REPLY_TEXT));
    const down = scripted({ refuse: () => `refused ${'y'.repeat(MAX_REPLY_TEXT * 2)}` });
    const u = await probe(stage(down, clock, { connectAttempts: 1 }), clock, 'bob@chatty.test');
    assert.equal(
      u.details.message,
      `mx.chatty.test: refused ${'y'.repeat(MAX_REPLY_TEXT)}`.slice(0, MAX_REPLY_TEXT),
    );
  });
});

describe('check/SmtpStage: greeting, EHLO/HELO and MAIL FROM replies', () => {
  /** The status of a probe whose server answers `at` with `reply` (everything else 250). */
  async function statusWhen(at: 'greeting' | 'ehlo+helo' | 'mail', reply: SmtpReply) {
    const clock = new FakeClock();
    const t = scripted({
      ...(at === 'greeting' ? { greeting: reply } : {}),
      reply: dialogue(
        at === 'ehlo+helo' ? { ehlo: reply, helo: reply } : at === 'mail' ? { mail: reply } : {},
      ),
    });
    const r = await probe(stage(t, clock), clock, 'bob@edge.test');
    return { r, commands: t.commands };
  }

  for (const at of ['greeting', 'ehlo+helo', 'mail'] as const) {
    it(`${at}: 4xx is temporary (greylisted), any other refusal is blocked; the reply is reported`, async () => {
      for (const [code, status] of [
        [400, 'greylisted'],
        [421, 'greylisted'],
        [499, 'greylisted'],
        [500, 'blocked'],
        [554, 'blocked'],
        [399, 'blocked'],
        [252, 'blocked'],
      ] as const) {
        const reply = { code, message: `${code} answer` };
        const { r } = await statusWhen(at, reply);
        assert.deepEqual(
          r.details,
          {
            status,
            host: 'mx.edge.test',
            code,
            message: reply.message,
            attempts: 1,
            catchAll: null,
          },
          `${at} ${code}`,
        );
        assert.deepEqual(r.reasons, [status === 'blocked' ? 'smtp_blocked' : 'smtp_greylisted']);
      }
    });
  }

  it('a refused greeting ends the dialogue before EHLO; a refused MAIL FROM before RCPT', async () => {
    const g = await statusWhen('greeting', { code: 554, message: 'go away' });
    assert.deepEqual(g.commands, []);
    const m = await statusWhen('mail', { code: 550, message: 'sender refused' });
    assert.deepEqual(m.commands, ['EHLO probe.example.net', 'MAIL FROM:<verify@example.net>']);
  });

  it('falls back to HELO when EHLO is refused, and then never uses SMTPUTF8', async () => {
    const clock = new FakeClock();
    const t = scripted({
      reply: dialogue({ ehlo: { code: 502, message: 'mx SMTPUTF8 command not implemented' } }),
    });
    const s = stage(t, clock);
    const r = await probe(s, clock, 'bob@old.test');
    assert.equal(r.details.status, 'deliverable');
    assert.deepEqual(t.commands.slice(0, 3), [
      'EHLO probe.example.net',
      'HELO probe.example.net',
      'MAIL FROM:<verify@example.net>',
    ]);
    const u = await probe(s, clock, 'josé@old.test');
    assert.deepEqual(u, {
      details: {
        status: 'undeliverable',
        host: 'mx.old.test',
        code: 553,
        enhanced: '5.6.7',
        message: 'server does not announce SMTPUTF8',
        attempts: 1,
        catchAll: false,
      },
      reasons: ['smtputf8_unsupported'],
    });
  });

  it('finds SMTPUTF8 anywhere in the EHLO reply as a whole word, in any case', async () => {
    for (const [ehlo, announced] of [
      ['SMTPUTF8', true],
      ['mx.example\nsmtputf8', true],
      ['mx PIPELINING SMTPUTF8', true],
      ['mx SMTPUTF8 8BITMIME', true],
      ['mx XSMTPUTF8', false],
      ['mx SMTPUTF8X', false],
      ['mx 8BITMIME', false],
    ] as const) {
      const clock = new FakeClock();
      const t = scripted({ reply: dialogue({ ehlo: { code: 250, message: ehlo } }) });
      const r = await probe(stage(t, clock), clock, 'josé@u.test');
      assert.equal(r.details.status, announced ? 'deliverable' : 'undeliverable', ehlo);
      assert.equal(t.commands.includes('MAIL FROM:<verify@example.net> SMTPUTF8'), announced, ehlo);
    }
  });
});

describe('check/SmtpStage: hosts that cannot be reached', () => {
  it('tries each MX host in order, then retries the whole list connectAttempts times with backoff', async () => {
    const clock = new FakeClock();
    const t = scripted({
      refuse: (host) => `${host === 'mx1.down.test' ? 'ECONNREFUSED' : 'ETIMEDOUT'}`,
    });
    const s = stage(t, clock, { connectAttempts: 3, connectBaseMs: 1000 });
    const r = await probe(s, clock, 'a@down.test', dnsOf('mx1.down.test', 'mx2.down.test'));
    assert.deepEqual(r, {
      details: {
        status: 'unreachable',
        message: 'mx2.down.test: ETIMEDOUT',
        catchAll: null,
        attempts: 3,
      },
      reasons: ['smtp_unreachable'],
    });
    assert.deepEqual(t.connects, [
      'mx1.down.test:2525',
      'mx2.down.test:2525',
      'mx1.down.test:2525',
      'mx2.down.test:2525',
      'mx1.down.test:2525',
      'mx2.down.test:2525',
    ]);
    assert.equal(s.sessions, 0);
    // Two backoff sleeps: at least half of 1 s and of 2 s (equal jitter).
    assert.ok(clock.now() >= 500 + 1000, `waited ${clock.now()} ms`);
  });

  it('one attempt when connectAttempts is 1, with no wait', async () => {
    const clock = new FakeClock();
    const t = scripted({ refuse: () => 'ECONNREFUSED' });
    const r = await probe(stage(t, clock, { connectAttempts: 1 }), clock, 'a@down.test');
    assert.equal(r.details.attempts, 1);
    assert.equal(t.connects.length, 1);
    assert.equal(clock.now(), 0);
  });

  it('recovers when a later attempt connects', async () => {
    const clock = new FakeClock();
    const t = scripted({
      refuse: (_h, n) => (n < 3 ? 'ECONNREFUSED' : undefined),
      reply: dialogue({}),
    });
    const s = stage(t, clock, { connectAttempts: 3 });
    const r = await probe(s, clock, 'a@late.test');
    assert.equal(r.details.status, 'deliverable');
    assert.equal(r.details.attempts, 3);
    assert.equal(s.sessions, 1);
  });

  it('a connection lost mid-dialogue moves on to the next MX host; the session is closed', async () => {
    const clock = new FakeClock();
    const t = scripted({
      reply: (line, n) => {
        if (n === 1 && line.startsWith('MAIL')) throw new Error('socket closed');
        return OK;
      },
    });
    const s = stage(t, clock);
    const r = await probe(s, clock, 'a@two.test', dnsOf('mx1.two.test', 'mx2.two.test'));
    assert.equal(r.details.status, 'deliverable');
    assert.equal(r.details.host, 'mx2.two.test');
    assert.equal(s.sessions, 2);
    assert.equal(t.closed, 2);
  });

  it('a connection lost on every host is unreachable with the last host and error', async () => {
    const clock = new FakeClock();
    const t = scripted({
      reply: () => {
        throw new Error('reset by peer');
      },
    });
    const s = stage(t, clock, { connectAttempts: 1 });
    const r = await probe(s, clock, 'a@two.test', dnsOf('mx1.two.test', 'mx2.two.test'));
    assert.deepEqual(r.details, {
      status: 'unreachable',
      message: 'mx2.two.test: reset by peer',
      catchAll: null,
      attempts: 1,
    });
    assert.equal(s.sessions, 2);
    assert.equal(t.closed, 2);
  });
});

describe('check/SmtpStage: the catch-all probe', () => {
  it('maps the probe answer: accepted is a catch-all, a refused mailbox or rejection is not, anything else unknown', async () => {
    for (const [reply, want] of [
      [OK, true],
      [{ code: 550, enhanced: '5.1.1', message: 'no such user' }, false],
      [{ code: 552, message: 'mailbox full' }, false],
      [{ code: 451, message: 'later' }, null],
      [{ code: 554, enhanced: '5.7.1', message: 'blocked' }, null],
    ] as const) {
      const clock = new FakeClock();
      const t = scripted({ reply: dialogue({ probe: reply }) });
      const s = stage(t, clock);
      const r = await probe(s, clock, 'a@c.test');
      assert.equal(r.details.catchAll, want, reply.message);
      assert.deepEqual(r.reasons, want === true ? ['catch_all'] : [], reply.message);
      assert.equal(s.catchAllOf('c.test'), want);
    }
  });

  it('probes again after an unknown answer, and not after a known one', async () => {
    const clock = new FakeClock();
    let probeReply: SmtpReply = { code: 451, message: 'later' };
    const t = scripted({ reply: (line) => (line.startsWith('RCPT TO:<ev-') ? probeReply : OK) });
    const s = stage(t, clock);
    const probes = () => t.commands.filter((c) => c.startsWith('RCPT TO:<ev-')).length;
    assert.equal((await probe(s, clock, 'a@c.test')).details.catchAll, null);
    assert.equal(probes(), 1);
    probeReply = OK;
    assert.equal((await probe(s, clock, 'b@c.test')).details.catchAll, true);
    assert.equal(probes(), 2);
    assert.equal((await probe(s, clock, 'c@c.test')).details.catchAll, true);
    assert.equal(probes(), 2);
  });

  it('remembers the answers of many domains (FIFO beyond MAX_CATCH_ALL_CACHE)', async () => {
    const clock = new FakeClock();
    const t = scripted({ reply: dialogue({}) });
    const s = stage(t, clock);
    await probe(s, clock, 'a@one.test');
    await probe(s, clock, 'a@two.test');
    assert.equal(s.catchAllOf('one.test'), false);
    assert.equal(s.catchAllOf('two.test'), false);
    assert.equal(s.catchAllOf('three.test'), undefined);
  });

  describe('shared with other processes (CatchAllShare)', () => {
    function share(script: {
      get?: (n: number) => boolean | null | undefined;
      claim?: (n: number) => boolean;
    }): CatchAllShare & { gets: number; claims: number; sets: Array<[string, boolean | null]> } {
      const s = {
        gets: 0,
        claims: 0,
        sets: [] as Array<[string, boolean | null]>,
        async get() {
          return script.get ? script.get(++s.gets) : (++s.gets, undefined);
        },
        async claim() {
          return script.claim ? script.claim(++s.claims) : (++s.claims, true);
        },
        async set(domain: string, answer: boolean | null) {
          s.sets.push([domain, answer]);
        },
      };
      return s;
    }

    it('takes an answer another process stored, without probing', async () => {
      for (const known of [true, false, null]) {
        const clock = new FakeClock();
        const t = scripted({ reply: dialogue({}) });
        const sh = share({ get: () => known });
        const s = stage(t, clock, { catchAllShare: sh });
        const r = await probe(s, clock, 'a@shared.test');
        assert.equal(r.details.catchAll, known);
        assert.equal(s.catchAllOf('shared.test'), known);
        assert.equal(t.commands.filter((c) => c.startsWith('RCPT TO:<ev-')).length, 0);
        assert.deepEqual(sh.sets, []);
        assert.equal(sh.claims, 0);
      }
    });

    it('probes when it wins the claim, and stores its answer for the others', async () => {
      const clock = new FakeClock();
      const t = scripted({ reply: dialogue({ probe: OK }) });
      const sh = share({});
      const s = stage(t, clock, { catchAllShare: sh });
      assert.deepEqual((await probe(s, clock, 'a@shared.test')).reasons, ['catch_all']);
      assert.deepEqual(sh.sets, [['shared.test', true]]);
      assert.equal(t.commands.filter((c) => c.startsWith('RCPT TO:<ev-')).length, 1);
    });

    it("waits for the other process's answer, polling", async () => {
      const clock = new FakeClock();
      const t = scripted({ reply: dialogue({}) });
      const sh = share({ get: (n) => (n < 4 ? undefined : false), claim: () => false });
      const s = stage(t, clock, { catchAllShare: sh });
      const r = await probe(s, clock, 'a@shared.test');
      assert.equal(r.details.catchAll, false);
      assert.equal(sh.gets, 4);
      assert.equal(sh.claims, 3);
      assert.equal(clock.now(), 3 * SHARED_CATCH_ALL_POLL_MS);
    });

    it('calls it unknown after SHARED_CATCH_ALL_WAIT_MS without an answer', async () => {
      const clock = new FakeClock();
      const t = scripted({ reply: dialogue({}) });
      const sh = share({ get: () => undefined, claim: () => false });
      const s = stage(t, clock, { catchAllShare: sh });
      const r = await probe(s, clock, 'a@shared.test');
      assert.equal(r.details.catchAll, null);
      assert.equal(clock.now(), SHARED_CATCH_ALL_WAIT_MS);
      assert.equal(sh.gets, SHARED_CATCH_ALL_WAIT_MS / SHARED_CATCH_ALL_POLL_MS + 1);
      assert.equal(t.commands.filter((c) => c.startsWith('RCPT TO:<ev-')).length, 0);
    });
  });
});

describe('check/port25Reachable', () => {
  const targets = [
    { host: 'mx1', address: '192.0.2.1', port: 25 },
    { host: 'mx2', address: '192.0.2.2', port: 2525 },
  ];

  it('is reachable at the first target that greets, having tried the ones before', async () => {
    const t = scripted({ refuse: (h) => (h === 'mx1' ? 'ECONNREFUSED' : undefined) });
    assert.deepEqual(await port25Reachable(t, targets), {
      ok: true,
      tried: ['mx1:25', 'mx2:2525'],
    });
    assert.equal(t.closed, 1);
    const first = scripted();
    assert.deepEqual(await port25Reachable(first, targets), { ok: true, tried: ['mx1:25'] });
  });

  it('is unreachable with the last error when none greets, and with no error when there is no target', async () => {
    const t = scripted({ refuse: (h) => `${h} refused` });
    assert.deepEqual(await port25Reachable(t, targets), {
      ok: false,
      tried: ['mx1:25', 'mx2:2525'],
      error: 'mx2 refused',
    });
    assert.deepEqual(await port25Reachable(scripted(), []), { ok: false, tried: [] });
  });
});

describe('check/SmtpStage: the catch-all cache bound', () => {
  it(`forgets the oldest domain's answer beyond MAX_CATCH_ALL_CACHE (${MAX_CATCH_ALL_CACHE}) domains`, async function () {
    this.timeout(60_000);
    // Permits that never wait and a bare session: the loop is the cache, not the limiters.
    const free = { acquire: async () => () => undefined };
    const session: SmtpSession = {
      greeting: { code: 220, message: 'mx' },
      command: async () => OK,
      close: async () => undefined,
    };
    const clock = new FakeClock();
    const s = stage({ connect: async () => session }, clock, {
      domainLimiter: free,
      providerLimiter: free,
    });
    const dns = dnsOf('mx.shared.test');
    for (let i = 0; i < MAX_CATCH_ALL_CACHE; i++) await s.probe(`a@d${i}.test`, `d${i}.test`, dns);
    assert.equal(s.catchAllOf('d0.test'), true);
    await s.probe('a@last.test', 'last.test', dns);
    assert.equal(s.catchAllOf('d0.test'), undefined);
    assert.equal(s.catchAllOf('d1.test'), true);
    assert.equal(s.catchAllOf('last.test'), true);
  });
});
