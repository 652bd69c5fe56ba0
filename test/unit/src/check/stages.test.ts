import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import { KeyedLimiter } from '../../../../src/limits/keyed-limiter.ts';
import {
  DnsChecker,
  isNonPublicIp,
  type DnsResolver,
  type DomainDns,
} from '../../../../src/address/dns.ts';
import {
  SmtpStage,
  port25Reachable,
  type SmtpSession,
  type SmtpTransport,
} from '../../../../src/check/smtp-stage.ts';
import {
  classifyRcpt,
  enhancedOf,
  heloProblem,
  mailFromProblem,
  type SmtpReply,
} from '../../../../src/address/smtp-plan.ts';
import {
  ProviderStage,
  parseRetryAfter,
  type HttpClient,
  type HttpResponse,
} from '../../../../src/check/provider-stage.ts';
import {
  parseProviderConfig,
  parseJsonPath,
  getPath,
} from '../../../../src/check/provider-config.ts';

const err = (code: string): Error => Object.assign(new Error(code), { code });

function resolverFrom(
  zone: Record<
    string,
    {
      mx?: Array<{ exchange: string; priority: number }>;
      a?: string[];
      aaaa?: string[];
      nx?: boolean;
      hang?: boolean;
      fail?: string;
    }
  >,
): DnsResolver & { count: number } {
  const r = {
    count: 0,
    async resolveMx(n: string) {
      r.count++;
      const e = zone[n];
      if (!e || e.nx) throw err('ENOTFOUND');
      if (e.hang) return new Promise<never>(() => undefined);
      if (e.fail) throw err(e.fail);
      if (!e.mx) throw err('ENODATA');
      return e.mx;
    },
    async resolve4(n: string) {
      const e = zone[n];
      if (!e) throw err('ENOTFOUND');
      if (!e.a) throw err('ENODATA');
      return e.a;
    },
    async resolve6(n: string) {
      const e = zone[n];
      if (!e) throw err('ENOTFOUND');
      if (!e.aaaa) throw err('ENODATA');
      return e.aaaa;
    },
  };
  return r;
}

describe('address/dns: DnsChecker', () => {
  const zone = {
    'ok.test': {
      mx: [
        { exchange: 'mx2.ok.test', priority: 20 },
        { exchange: 'mx1.ok.test', priority: 10 },
      ],
    },
    'mx1.ok.test': { a: ['192.0.2.1'] },
    'mx2.ok.test': { aaaa: ['2001:db8::1'] },
    'null.test': { mx: [{ exchange: '', priority: 0 }] },
    'implicit.test': { a: ['192.0.2.7'] },
    'nomail.test': {},
    'private.test': { mx: [{ exchange: 'mx.private.test', priority: 1 }] },
    'mx.private.test': { a: ['10.1.2.3'] },
    'dangling.test': { mx: [{ exchange: 'gone.test', priority: 1 }] },
    'slow.test': { hang: true },
    'servfail.test': { fail: 'ESERVFAIL' },
  };

  it('classifies MX, null MX, implicit MX, no mail, NXDOMAIN, dangling MX, private MX', async () => {
    const d = new DnsChecker({ resolver: resolverFrom(zone), clock: new FakeClock() });
    const ok = await d.lookup('ok.test');
    assert.equal(ok.status, 'ok');
    assert.deepEqual(
      ok.mx.map((m) => m.exchange),
      ['mx1.ok.test', 'mx2.ok.test'],
    );
    assert.deepEqual(ok.mx[1].addresses, ['2001:db8::1']);
    assert.equal((await d.lookup('null.test')).status, 'null_mx');
    const imp = await d.lookup('implicit.test');
    assert.equal(imp.status, 'ok');
    assert.equal(imp.implicitMx, true);
    assert.equal((await d.lookup('nomail.test')).status, 'no_mail');
    assert.equal((await d.lookup('nowhere.test')).status, 'not_found');
    assert.equal((await d.lookup('dangling.test')).status, 'mx_unresolvable');
    const priv = await d.lookup('private.test');
    assert.equal(priv.status, 'ok');
    assert.equal(priv.mx[0].private, true);
    assert.equal((await d.lookup('servfail.test')).status, 'error');
  });

  it('reports a hanging lookup as timeout (fake clock), never as invalid', async () => {
    const clock = new FakeClock();
    const d = new DnsChecker({ resolver: resolverFrom(zone), clock, timeoutMs: 5000 });
    const p = d.lookup('slow.test');
    await clock.advance(5000);
    const r = await p;
    assert.equal(r.status, 'timeout');
  });

  it('shares one query among concurrent lookups of a domain, and caches it', async () => {
    const res = resolverFrom(zone);
    const d = new DnsChecker({ resolver: res, clock: new FakeClock() });
    await Promise.all([d.lookup('ok.test'), d.lookup('ok.test'), d.lookup('ok.test')]);
    await d.lookup('ok.test');
    assert.equal(res.count, 1);
  });

  it('knows non-public address ranges', () => {
    for (const ip of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      assert.equal(isNonPublicIp(ip), true, ip);
    for (const ip of ['8.8.8.8', '172.32.0.1', '2001:4860::8888', '192.0.2.1'])
      assert.equal(isNonPublicIp(ip), false, ip);
  });
});

describe('address/smtp-plan', () => {
  it('refuses fake or unqualified HELO names and spoofed MAIL FROM domains', () => {
    assert.match(heloProblem('gmail.com')!, /gmail\.com/);
    assert.match(heloProblem('mx.google.com')!, /google\.com/);
    assert.match(heloProblem('localhost')!, /./);
    assert.match(heloProblem('myhost')!, /fully qualified/);
    assert.equal(heloProblem('probe.mail.example.net'), null);
    assert.match(mailFromProblem('someone@gmail.com')!, /gmail/);
    assert.equal(mailFromProblem(''), null);
    assert.equal(mailFromProblem('verify@acme.io'), null);
  });

  it('classifies RCPT replies: accepted, no mailbox, greylisting, blocks', () => {
    const r = (code: number, message: string): SmtpReply => ({
      code,
      message,
      ...(enhancedOf(message) ? { enhanced: enhancedOf(message) } : {}),
    });
    assert.equal(classifyRcpt(r(250, '2.1.5 OK')), 'accepted');
    assert.equal(classifyRcpt(r(550, '5.1.1 No such user')), 'no_mailbox');
    assert.equal(classifyRcpt(r(451, '4.7.1 Greylisted, try later')), 'temporary');
    assert.equal(classifyRcpt(r(554, '5.7.1 Client host blocked using Spamhaus')), 'blocked');
    assert.equal(classifyRcpt(r(550, 'Your IP is listed at zen.spamhaus.org')), 'blocked');
    assert.equal(classifyRcpt(r(552, 'Mailbox full')), 'rejected');
    assert.equal(enhancedOf('5.1.1 nope'), '5.1.1');
    assert.equal(enhancedOf('550 nope'), undefined);
  });
});

/** A scripted SMTP server: `rcpt(address, attempt)` decides each RCPT reply. */
function fakeSmtp(
  rcpt: (address: string, sessionNo: number) => SmtpReply,
  opts: { refuse?: boolean } = {},
): SmtpTransport & { sessions: number; commands: string[]; inFlight: number; peak: number } {
  const t = {
    sessions: 0,
    commands: [] as string[],
    inFlight: 0,
    peak: 0,
    async connect(): Promise<SmtpSession> {
      if (opts.refuse) throw new Error('ECONNREFUSED');
      const n = ++t.sessions;
      t.inFlight++;
      t.peak = Math.max(t.peak, t.inFlight);
      return {
        greeting: { code: 220, message: 'fake ESMTP' },
        async command(line: string) {
          t.commands.push(line);
          await Promise.resolve();
          if (line.startsWith('RCPT TO:<')) return rcpt(line.slice(9, -1), n);
          return { code: 250, message: 'OK' };
        },
        async close() {
          t.inFlight--;
        },
      };
    },
  };
  return t;
}

const dnsOk = (domain: string, ip = '192.0.2.25'): DomainDns => ({
  status: 'ok',
  implicitMx: false,
  mx: [{ exchange: `mx.${domain}`, priority: 10, addresses: [ip], private: false }],
});

function stage(
  transport: SmtpTransport,
  clock: FakeClock,
  over: Partial<ConstructorParameters<typeof SmtpStage>[0]> = {},
): SmtpStage {
  let seed = 1;
  return new SmtpStage({
    transport,
    clock,
    random: () => (seed = (seed * 16807) % 2147483647) / 2147483647,
    helo: 'probe.example.net',
    mailFrom: '',
    port: 25,
    allowPrivate: false,
    domainLimiter: new KeyedLimiter({ concurrency: 1, rate: 1000, burst: 1000 }, clock),
    providerLimiter: new KeyedLimiter({ concurrency: 2, rate: 1000, burst: 1000 }, clock),
    greylistAttempts: 4,
    greylistBaseMs: 60_000,
    greylistMaxMs: 300_000,
    connectAttempts: 2,
    connectBaseMs: 1000,
    ...over,
  });
}

describe('check/SmtpStage (fake transport, fake clock)', () => {
  it('reports unknown users as mailbox_not_found and known ones as deliverable', async () => {
    const t = fakeSmtp((a) =>
      a.startsWith('alice@')
        ? { code: 250, message: 'OK' }
        : { code: 550, enhanced: '5.1.1', message: '5.1.1 unknown' },
    );
    const s = stage(t, new FakeClock());
    const ok = await s.probe('alice@strict.test', 'strict.test', dnsOk('strict.test'));
    assert.equal(ok.details.status, 'deliverable');
    assert.equal(ok.details.catchAll, false);
    const bad = await s.probe('zed@strict.test', 'strict.test', dnsOk('strict.test'));
    assert.deepEqual(bad.reasons, ['mailbox_not_found']);
  });

  it('detects catch-all once per domain with a random local part', async () => {
    const t = fakeSmtp(() => ({ code: 250, message: 'OK' }));
    const s = stage(t, new FakeClock());
    for (let i = 0; i < 5; i++) {
      const r = await s.probe(`user${i}@any.test`, 'any.test', dnsOk('any.test'));
      assert.deepEqual(r.reasons, ['catch_all']);
    }
    const randomProbes = t.commands.filter((c) => c.startsWith('RCPT TO:<ev-'));
    assert.equal(randomProbes.length, 1);
  });

  it('probes catch-all once per domain even with several sessions of the domain at once (--domain-concurrency 4)', async () => {
    const t = fakeSmtp(() => ({ code: 250, message: 'OK' }));
    const clock = new FakeClock();
    const s = stage(t, clock, {
      domainLimiter: new KeyedLimiter({ concurrency: 4, rate: 1000, burst: 1000 }, clock),
      providerLimiter: new KeyedLimiter({ concurrency: 4, rate: 1000, burst: 1000 }, clock),
    });
    const rs = await Promise.all(
      [0, 1, 2, 3].map((i) => s.probe(`user${i}@many.test`, 'many.test', dnsOk('many.test'))),
    );
    assert.ok(t.peak >= 2, `sessions overlapped (peak ${t.peak})`);
    for (const r of rs) assert.deepEqual(r.reasons, ['catch_all']);
    assert.equal(t.commands.filter((c) => c.startsWith('RCPT TO:<ev-')).length, 1);
  });

  it('retries greylisting with backoff on the clock, and succeeds once it clears', async () => {
    const clock = new FakeClock();
    const t = fakeSmtp((a, n) =>
      n < 3
        ? { code: 451, enhanced: '4.7.1', message: '4.7.1 greylisted' }
        : { code: 250, message: 'OK' },
    );
    const s = stage(t, clock);
    const p = s.probe('bob@grey.test', 'grey.test', dnsOk('grey.test'));
    await clock.runUntilIdle();
    const r = await p;
    assert.equal(r.details.status, 'deliverable');
    assert.equal(r.details.attempts, 3);
    assert.ok(clock.now() >= 60_000 * 0.5 + 120_000 * 0.5, `waited ${clock.now()} ms of fake time`);
  });

  it('reports greylisting that never clears as unknown (smtp_greylisted), bounded', async () => {
    const clock = new FakeClock();
    const t = fakeSmtp(() => ({ code: 450, message: 'try later' }));
    const s = stage(t, clock);
    const p = s.probe('bob@grey.test', 'grey.test', dnsOk('grey.test'));
    await clock.runUntilIdle();
    const r = await p;
    assert.deepEqual(r.reasons, ['smtp_greylisted']);
    assert.equal(t.sessions, 4);
  });

  it('never dials non-public MX addresses unless allowed', async () => {
    const t = fakeSmtp(() => ({ code: 250, message: 'OK' }));
    const r = await stage(t, new FakeClock()).probe(
      'a@lan.test',
      'lan.test',
      dnsOk('lan.test', '10.0.0.5'),
    );
    assert.deepEqual(r.reasons, ['smtp_skipped_private']);
    assert.equal(t.sessions, 0);
  });

  it('holds per-domain concurrency (1 session at a time per domain)', async () => {
    const t = fakeSmtp(() => ({ code: 550, message: 'no' }));
    const s = stage(t, new FakeClock());
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.probe(`u${i}@one.test`, 'one.test', dnsOk('one.test')),
      ),
    );
    assert.equal(t.peak, 1);
  });

  it('holds per-provider concurrency across domains sharing an MX provider', async () => {
    const t = fakeSmtp(() => ({ code: 550, message: 'no' }));
    const s = stage(t, new FakeClock());
    const google = (_domain: string): DomainDns => ({
      status: 'ok',
      implicitMx: false,
      mx: [
        { exchange: 'aspmx.l.google.com', priority: 1, addresses: ['192.0.2.99'], private: false },
      ],
    });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        s.probe(`u@d${i}.test`, `d${i}.test`, google(`d${i}.test`)),
      ),
    );
    assert.equal(t.peak, 2);
  });

  it('reports unreachable servers as unknown after bounded retries', async () => {
    const clock = new FakeClock();
    const t = fakeSmtp(() => ({ code: 250, message: 'OK' }), { refuse: true });
    const p = stage(t, clock).probe('a@down.test', 'down.test', dnsOk('down.test'));
    await clock.runUntilIdle();
    assert.deepEqual((await p).reasons, ['smtp_unreachable']);
  });

  it('port-25 precheck fails when no target answers', async () => {
    const r = await port25Reachable(
      fakeSmtp(() => ({ code: 250, message: '' }), { refuse: true }),
      [{ host: 'a', address: '192.0.2.1', port: 25 }],
    );
    assert.equal(r.ok, false);
    assert.equal(
      (
        await port25Reachable(
          fakeSmtp(() => ({ code: 250, message: '' })),
          [{ host: 'a', address: '192.0.2.1', port: 25 }],
        )
      ).ok,
      true,
    );
  });
});

describe('check/provider', () => {
  const cfg = (over: Record<string, unknown> = {}) =>
    parseProviderConfig(
      {
        url: 'http://127.0.0.1:1/v?email={address}',
        verdictPath: 'result.status',
        map: { deliverable: 'valid', undeliverable: 'invalid' },
        attempts: 4,
        breakerThreshold: 3,
        breakerCooldownMs: 10_000,
        ...over,
      },
      'p.yaml',
      { TOKEN: 'sekret' },
    );

  it('validates the config with EV_ERR_PROVIDER_CONFIG and the offending key', () => {
    assert.throws(
      () => parseProviderConfig({ url: 'ftp://x/{address}', verdictPath: 'a' }, 'p.yaml', {}),
      { code: 'EV_ERR_PROVIDER_CONFIG' },
    );
    assert.throws(
      () =>
        parseProviderConfig(
          { url: 'http://x/{address}', verdictPath: 'a', bogus: 1 },
          'p.yaml',
          {},
        ),
      /unknown key "bogus"/,
    );
    assert.throws(
      () =>
        parseProviderConfig(
          { url: 'http://x/{address}', verdictPath: 'a', map: { x: 'great' } },
          'p.yaml',
          {},
        ),
      /map value/,
    );
    assert.throws(
      () =>
        parseProviderConfig(
          { url: 'http://x/{address}', verdictPath: 'a', headers: { a: '${env:NOPE}' } },
          'p.yaml',
          {},
        ),
      /NOPE is not set/,
    );
    const c = parseProviderConfig(
      {
        url: 'http://x/{address}',
        verdictPath: 'items[0].v',
        headers: { Authorization: 'Bearer ${env:TOKEN}' },
        rate: '120/m',
      },
      'p.yaml',
      { TOKEN: 't' },
    );
    assert.equal(c.headers.authorization, 'Bearer t');
    assert.equal(c.rate!.perSecond, 2);
    assert.deepEqual(parseJsonPath('items[0].v'), ['items', 0, 'v']);
    assert.equal(getPath({ items: [{ v: 'ok' }] }, ['items', 0, 'v']), 'ok');
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('3', 0), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon', 0), null);
  });

  function http(
    answers: Array<Partial<HttpResponse>>,
  ): HttpClient & { times: number[]; clock?: FakeClock } {
    const h = {
      times: [] as number[],
      clock: undefined as FakeClock | undefined,
      async request() {
        h.times.push(h.clock!.now());
        const a = answers.shift() ?? { status: 200, body: '{"result":{"status":"deliverable"}}' };
        return { status: a.status ?? 200, headers: a.headers ?? {}, body: a.body ?? '' };
      },
    };
    return h;
  }

  it('honours 429 Retry-After before the next request, then maps the verdict', async () => {
    const clock = new FakeClock();
    const h = http([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 200, body: '{"result":{"status":"undeliverable"}}' },
    ]);
    h.clock = clock;
    const s = new ProviderStage({ config: cfg(), http: h, clock, random: () => 0.5 });
    const p = s.verify('a@b.com', 'a@b.com');
    await clock.runUntilIdle();
    const r = await p;
    assert.deepEqual(h.times, [0, 2000]);
    assert.equal(r.details.status, 'invalid');
    assert.equal(r.reason, 'provider_invalid');
  });

  it('opens the circuit breaker after repeated failures and stops calling', async () => {
    const clock = new FakeClock();
    const h = http(Array.from({ length: 50 }, () => ({ status: 503 })));
    h.clock = clock;
    const s = new ProviderStage({
      config: cfg(),
      http: h,
      clock,
      random: () => 0.5,
      backoffBaseMs: 10,
    });
    const p1 = s.verify('a@b.com', 'a@b.com');
    await clock.runUntilIdle(1000);
    const r1 = await p1;
    assert.equal(r1.reason, 'provider_unavailable');
    assert.equal(h.times.length, 3, 'breaker opened after 3 failures');
    const r2 = await s.verify('c@b.com', 'c@b.com');
    assert.equal(r2.details.attempts, 0);
    assert.equal(h.times.length, 3, 'no request while open');
    await clock.advance(10_000);
    const p3 = s.verify('d@b.com', 'd@b.com');
    await clock.runUntilIdle(1000);
    await p3;
    assert.equal(h.times.length, 4, 'one trial after the cooldown');
  });

  it('maps unknown provider values to unknown', async () => {
    const clock = new FakeClock();
    const h = http([{ status: 200, body: '{"result":{"status":"weird"}}' }]);
    h.clock = clock;
    const r = await new ProviderStage({ config: cfg(), http: h, clock, random: () => 0.5 }).verify(
      'a@b.com',
      'a@b.com',
    );
    assert.equal(r.details.status, 'unknown');
    assert.equal(r.details.value, 'weird');
    await flushMicrotasks();
  });
});

describe('address/dns: transient failures', () => {
  it('asks again once after a timeout, then keeps the answer', async () => {
    let calls = 0;
    const resolver: DnsResolver = {
      resolveMx: async () => {
        calls++;
        throw Object.assign(new Error('t'), { code: 'ETIMEOUT' });
      },
      resolve4: async () => [],
      resolve6: async () => [],
    };
    const d = new DnsChecker({ resolver, clock: new FakeClock() });
    for (let i = 0; i < 5; i++) assert.equal((await d.lookup('flaky.test')).status, 'timeout');
    assert.equal(calls, 2);
  });
});

describe('check/SmtpStage: SMTPUTF8', () => {
  function utf8Server(announce: boolean): SmtpTransport & { commands: string[] } {
    const t = {
      commands: [] as string[],
      async connect(): Promise<SmtpSession> {
        return {
          greeting: { code: 220, message: 'hi' },
          async command(line: string) {
            t.commands.push(line);
            if (line.startsWith('EHLO'))
              return {
                code: 250,
                message: announce ? 'mx PIPELINING SMTPUTF8 8BITMIME' : 'mx PIPELINING 8BITMIME',
              };
            return { code: 250, message: 'OK' };
          },
          async close() {},
        };
      },
    };
    return t;
  }
  it('asks for SMTPUTF8 in MAIL FROM for a UTF-8 mailbox, and reports servers without it', async () => {
    const yes = utf8Server(true);
    const r = await stage(yes, new FakeClock()).probe('josé@u.test', 'u.test', dnsOk('u.test'));
    assert.equal(r.details.status, 'deliverable');
    assert.ok(yes.commands.includes('MAIL FROM:<> SMTPUTF8'));
    const no = utf8Server(false);
    const r2 = await stage(no, new FakeClock()).probe('josé@u.test', 'u.test', dnsOk('u.test'));
    assert.deepEqual(r2.reasons, ['smtputf8_unsupported']);
    assert.ok(!no.commands.some((c) => c.startsWith('RCPT')));
  });
});
