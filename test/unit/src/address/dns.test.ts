/**
 * Mail-routing DNS, whole results compared: MX order and normalisation, null MX, implicit MX
 * (A, then AAAA only without A), every failure code, the per-lookup deadline on the fake clock,
 * the bounds on records, hosts and addresses, the retry of a first failure, and the ranges an MX
 * may not point into.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  DnsChecker,
  isNonPublicIp,
  MAX_ADDRESSES_PER_HOST,
  MAX_DNS_CACHE_ENTRIES,
  MAX_MX_HOSTS_RESOLVED,
  MAX_MX_RECORDS,
  type DnsResolver,
  type DomainDns,
} from '../../../../src/address/dns.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

type Answer<T> = T | { code: string } | 'hang';
interface Entry {
  mx?: Answer<Array<{ exchange: string; priority: number }>>;
  a?: Answer<string[]>;
  aaaa?: Answer<string[]>;
}

/** A zone as a resolver: a missing name is ENOTFOUND, a missing type ENODATA; every call is logged. */
function zoneResolver(zone: Record<string, Entry>): DnsResolver & { calls: string[] } {
  const answer = async <T>(
    type: string,
    name: string,
    pick: (e: Entry) => Answer<T> | undefined,
  ) => {
    r.calls.push(`${type} ${name}`);
    const e = zone[name];
    if (!e) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    const a = pick(e);
    if (a === undefined) throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
    if (a === 'hang') return new Promise<T>(() => undefined);
    if (typeof a === 'object' && a !== null && 'code' in a)
      throw Object.assign(new Error(a.code), { code: a.code });
    return a;
  };
  const r = {
    calls: [] as string[],
    resolveMx: (n: string) => answer('MX', n, (e) => e.mx),
    resolve4: (n: string) => answer('A', n, (e) => e.a),
    resolve6: (n: string) => answer('AAAA', n, (e) => e.aaaa),
  };
  return r;
}

const checker = (zone: Record<string, Entry>, clock = new FakeClock()) => {
  const resolver = zoneResolver(zone);
  return { d: new DnsChecker({ resolver, clock, timeoutMs: 1000 }), resolver, clock };
};

describe('address/dns: DnsChecker results', () => {
  it('sorts MX by priority then name, lower-cases and strips the final dot, resolves A first', async () => {
    const { d, resolver } = checker({
      'x.test': {
        mx: [
          { exchange: 'b.mx.test.', priority: 10 },
          { exchange: 'C.MX.test', priority: 5 },
          { exchange: 'a.mx.test', priority: 10 },
        ],
      },
      'c.mx.test': { a: ['192.0.2.3'], aaaa: ['2001:db8::3'] },
      'a.mx.test': { aaaa: ['2001:db8::1'] },
      'b.mx.test': { a: ['10.0.0.2', '192.0.2.2'] },
    });
    assert.deepEqual(await d.lookup('x.test'), {
      status: 'ok',
      implicitMx: false,
      mx: [
        { exchange: 'c.mx.test', priority: 5, addresses: ['192.0.2.3'], private: false },
        { exchange: 'a.mx.test', priority: 10, addresses: ['2001:db8::1'], private: false },
        {
          exchange: 'b.mx.test',
          priority: 10,
          addresses: ['10.0.0.2', '192.0.2.2'],
          private: true,
        },
      ],
    });
    // AAAA only for the host without an A record.
    assert.deepEqual(resolver.calls.sort(), [
      'A a.mx.test',
      'A b.mx.test',
      'A c.mx.test',
      'AAAA a.mx.test',
      'MX x.test',
    ]);
    assert.equal(d.queries, 5);
  });

  it('a null MX alone means no mail; mixed with real hosts it is ignored', async () => {
    const { d } = checker({
      'null.test': { mx: [{ exchange: '', priority: 0 }] },
      'dot.test': { mx: [{ exchange: '.', priority: 0 }] },
      'mixed.test': {
        mx: [
          { exchange: '', priority: 0 },
          { exchange: 'mx.mixed.test', priority: 5 },
        ],
      },
      'mx.mixed.test': { a: ['192.0.2.9'] },
    });
    const nullMx = { status: 'null_mx', implicitMx: false, mx: [] };
    assert.deepEqual(await d.lookup('null.test'), nullMx);
    assert.deepEqual(await d.lookup('dot.test'), nullMx);
    assert.deepEqual(await d.lookup('mixed.test'), {
      status: 'ok',
      implicitMx: false,
      mx: [{ exchange: 'mx.mixed.test', priority: 5, addresses: ['192.0.2.9'], private: false }],
    });
  });

  it('without MX, the domain itself is the MX (A, else AAAA); with neither, no mail', async () => {
    const { d } = checker({
      'a.test': { a: ['127.0.0.1'] },
      'v6.test': { aaaa: ['2001:db8::7'] },
      'empty-mx.test': { mx: [], a: ['192.0.2.8'] },
      'bare.test': {},
      'empty-a.test': { a: [], aaaa: [] },
    });
    assert.deepEqual(await d.lookup('a.test'), {
      status: 'ok',
      implicitMx: true,
      mx: [{ exchange: 'a.test', priority: 0, addresses: ['127.0.0.1'], private: true }],
    });
    assert.deepEqual(await d.lookup('v6.test'), {
      status: 'ok',
      implicitMx: true,
      mx: [{ exchange: 'v6.test', priority: 0, addresses: ['2001:db8::7'], private: false }],
    });
    assert.deepEqual((await d.lookup('empty-mx.test')).mx[0].addresses, ['192.0.2.8']);
    assert.deepEqual(await d.lookup('bare.test'), { status: 'no_mail', implicitMx: false, mx: [] });
    assert.deepEqual(await d.lookup('empty-a.test'), {
      status: 'no_mail',
      implicitMx: false,
      mx: [],
    });
  });

  it('names each failure with its resolver code', async () => {
    const { d } = checker({
      'servfail.test': { mx: { code: 'ESERVFAIL' } },
      'refused.test': { mx: { code: 'EREFUSED' } },
      'timeout.test': { mx: { code: 'ETIMEOUT' } },
      'nocode.test': { mx: { code: '' } },
      'implicit-fail.test': { a: { code: 'ESERVFAIL' }, aaaa: { code: 'ESERVFAIL' } },
      'implicit-timeout.test': { a: { code: 'ETIMEOUT' } },
    });
    assert.deepEqual(await d.lookup('nowhere.test'), {
      status: 'not_found',
      implicitMx: false,
      mx: [],
      errorCode: 'ENOTFOUND',
    });
    assert.deepEqual(await d.lookup('servfail.test'), {
      status: 'error',
      implicitMx: false,
      mx: [],
      errorCode: 'ESERVFAIL',
    });
    assert.equal((await d.lookup('refused.test')).errorCode, 'EREFUSED');
    assert.deepEqual(await d.lookup('timeout.test'), {
      status: 'timeout',
      implicitMx: false,
      mx: [],
      errorCode: 'ETIMEOUT',
    });
    // No A and no AAAA because the server failed: not "no mail", an error.
    assert.deepEqual(await d.lookup('implicit-fail.test'), {
      status: 'error',
      implicitMx: false,
      mx: [],
    });
    assert.deepEqual(await d.lookup('implicit-timeout.test'), {
      status: 'timeout',
      implicitMx: false,
      mx: [],
      errorCode: 'ETIMEOUT',
    });
  });

  it('MX hosts without addresses: unresolvable, or timeout when one timed out', async () => {
    const { d } = checker({
      'dangling.test': { mx: [{ exchange: 'gone.test', priority: 1 }] },
      'slowmx.test': {
        mx: [
          { exchange: 'gone.test', priority: 1 },
          { exchange: 'slow.test', priority: 2 },
        ],
      },
      'slow.test': { a: { code: 'ETIMEOUT' } },
      'servfailmx.test': { mx: [{ exchange: 'sf.test', priority: 1 }] },
      'sf.test': { a: { code: 'ESERVFAIL' }, aaaa: { code: 'ESERVFAIL' } },
    });
    assert.deepEqual(await d.lookup('dangling.test'), {
      status: 'mx_unresolvable',
      implicitMx: false,
      mx: [{ exchange: 'gone.test', priority: 1, addresses: [], private: false }],
    });
    assert.deepEqual(await d.lookup('slowmx.test'), {
      status: 'timeout',
      implicitMx: false,
      errorCode: 'ETIMEOUT',
      mx: [
        { exchange: 'gone.test', priority: 1, addresses: [], private: false },
        { exchange: 'slow.test', priority: 2, addresses: [], private: false },
      ],
    });
    assert.equal((await d.lookup('servfailmx.test')).status, 'mx_unresolvable');
  });

  it('a hanging query times out at the deadline on the fake clock, not before', async () => {
    const { d, clock } = checker({
      'hang.test': { mx: 'hang' },
      'hangmx.test': { mx: [{ exchange: 'h.test', priority: 1 }] },
      'h.test': { a: 'hang' },
    });
    let settled = false;
    const p = d.lookup('hang.test').then((r) => {
      settled = true;
      return r;
    });
    await clock.advance(999);
    assert.equal(settled, false);
    await clock.advance(1);
    assert.deepEqual(await p, {
      status: 'timeout',
      implicitMx: false,
      mx: [],
      errorCode: 'ETIMEOUT',
    });
    // The only MX host's A query hangs (and it has no AAAA): the domain timed out.
    const q = d.lookup('hangmx.test');
    await clock.advance(1000);
    assert.equal((await q).status, 'timeout');
    assert.equal(clock.pending, 0);
  });

  it('keeps MAX_MX_RECORDS records, resolves MAX_MX_HOSTS_RESOLVED hosts, MAX_ADDRESSES_PER_HOST addresses', async () => {
    const hosts = Array.from({ length: MAX_MX_RECORDS + 2 }, (_, i) => `mx${i}.big.test`);
    const zone: Record<string, Entry> = {
      'big.test': { mx: hosts.map((exchange, priority) => ({ exchange, priority })) },
    };
    for (const h of hosts)
      zone[h] = {
        a: Array.from({ length: MAX_ADDRESSES_PER_HOST + 3 }, (_, i) => `192.0.2.${i + 1}`),
      };
    const { d, resolver } = checker(zone);
    const r = await d.lookup('big.test');
    assert.equal(r.mx.length, MAX_MX_RECORDS);
    assert.deepEqual(
      r.mx.map((m) => m.addresses.length),
      hosts
        .slice(0, MAX_MX_RECORDS)
        .map((_, i) => (i < MAX_MX_HOSTS_RESOLVED ? MAX_ADDRESSES_PER_HOST : 0)),
    );
    assert.equal(resolver.calls.filter((c) => c.startsWith('A ')).length, MAX_MX_HOSTS_RESOLVED);
  });

  it('forgets a first timeout or server failure once, then keeps the second', async () => {
    let fails = 2;
    const resolver: DnsResolver = {
      resolveMx: async () => {
        if (fails-- > 0) throw Object.assign(new Error('x'), { code: 'ESERVFAIL' });
        return [{ exchange: 'mx.flaky.test', priority: 1 }];
      },
      resolve4: async () => ['192.0.2.1'],
      resolve6: async () => [],
    };
    const d = new DnsChecker({ resolver, clock: new FakeClock() });
    assert.equal((await d.lookup('flaky.test')).status, 'error');
    await Promise.resolve();
    assert.equal(d.cachedDomains, 0);
    assert.equal((await d.lookup('flaky.test')).status, 'error');
    await Promise.resolve();
    assert.equal(d.cachedDomains, 1);
    assert.equal((await d.lookup('flaky.test')).status, 'error');
    assert.equal(d.queries, 2);
  });

  it('keeps a not-found answer at the first time (it is about the domain)', async () => {
    const { d } = checker({});
    await d.lookup('nx.test');
    await Promise.resolve();
    await d.lookup('nx.test');
    assert.equal(d.queries, 1);
    assert.equal(d.cachedDomains, 1);
  });

  it('shares an MX host between domains: its addresses are asked once', async () => {
    const { d, resolver } = checker({
      'one.test': { mx: [{ exchange: 'shared.mx', priority: 1 }] },
      'two.test': { mx: [{ exchange: 'shared.mx', priority: 1 }] },
      'shared.mx': { a: ['192.0.2.5'] },
    });
    await Promise.all([d.lookup('one.test'), d.lookup('two.test')]);
    assert.equal(resolver.calls.filter((c) => c === 'A shared.mx').length, 1);
  });
});

describe('address/dns: DnsChecker edges', () => {
  it('orders MX hosts of one priority by name, whatever order they come in', async () => {
    const names = ['d.mx', 'b.mx', 'e.mx', 'a.mx', 'c.mx'];
    for (const order of [names, [...names].reverse(), [...names].sort()]) {
      const zone: Record<string, Entry> = {
        'p.test': { mx: order.map((exchange) => ({ exchange, priority: 10 })) },
      };
      for (const n of names) zone[n] = { a: ['192.0.2.1'] };
      const { d } = checker(zone);
      assert.deepEqual(
        (await d.lookup('p.test')).mx.map((m) => m.exchange),
        ['a.mx', 'b.mx', 'c.mx', 'd.mx', 'e.mx'],
        order.join(),
      );
    }
  });

  it('an MX host beyond the ones resolved has no addresses and is not private', async () => {
    const hosts = Array.from({ length: MAX_MX_HOSTS_RESOLVED + 1 }, (_, i) => `mx${i}.far.test`);
    const zone: Record<string, Entry> = {
      'far.test': { mx: hosts.map((exchange, priority) => ({ exchange, priority })) },
    };
    for (const h of hosts) zone[h] = { a: ['10.0.0.1'] };
    const { d } = checker(zone);
    const last = (await d.lookup('far.test')).mx[MAX_MX_HOSTS_RESOLVED];
    assert.deepEqual(last, {
      exchange: `mx${MAX_MX_HOSTS_RESOLVED}.far.test`,
      priority: MAX_MX_HOSTS_RESOLVED,
      addresses: [],
      private: false,
    });
  });

  it('an implicit MX is private when any of its addresses is', async () => {
    const { d } = checker({ 'mixed.test': { a: ['192.0.2.1', '10.0.0.1'] } });
    assert.equal((await d.lookup('mixed.test')).mx[0].private, true);
  });

  it('no mail only when both A and AAAA are missing; an empty answer is missing, not a timeout', async () => {
    const { d } = checker({
      'v6fail.test': { aaaa: { code: 'ESERVFAIL' } },
      'empty.test': { a: [], aaaa: [] },
      'emptymx.test': { mx: [{ exchange: 'empty.test', priority: 1 }] },
    });
    assert.deepEqual(await d.lookup('v6fail.test'), { status: 'error', implicitMx: false, mx: [] });
    assert.deepEqual(await d.lookup('empty.test'), {
      status: 'no_mail',
      implicitMx: false,
      mx: [],
    });
    assert.equal((await d.lookup('emptymx.test')).status, 'mx_unresolvable');
  });

  it('a host the resolver does not find (ENOTFOUND) is missing; an error without a code is EUNKNOWN', async () => {
    const notFound = Object.assign(new Error('x'), { code: 'ENOTFOUND' });
    const d = new DnsChecker({
      resolver: {
        resolveMx: async (n) => {
          if (n === 'odd.test') throw new Error('no code');
          throw Object.assign(new Error('x'), { code: 'ENODATA' });
        },
        resolve4: async () => Promise.reject(notFound),
        resolve6: async () => Promise.reject(notFound),
      },
      clock: new FakeClock(),
    });
    assert.deepEqual(await d.lookup('gone.test'), { status: 'no_mail', implicitMx: false, mx: [] });
    assert.deepEqual(await d.lookup('odd.test'), {
      status: 'error',
      implicitMx: false,
      mx: [],
      errorCode: 'EUNKNOWN',
    });
  });

  it('leaves no timer behind once an answer arrives', async () => {
    const { d, clock } = checker({
      'x.test': { mx: [{ exchange: 'mx.x.test', priority: 1 }] },
      'mx.x.test': { a: ['192.0.2.1'] },
    });
    assert.equal((await d.lookup('x.test')).status, 'ok');
    assert.equal(clock.pending, 0);
  });

  it('a finished query frees its slot: one at a time, every lookup still ends', async () => {
    const resolver = zoneResolver({
      'a.test': { a: ['192.0.2.1'] },
      'b.test': { mx: [{ exchange: 'mx.b.test', priority: 1 }] },
      'mx.b.test': { a: ['192.0.2.2'] },
    });
    const d = new DnsChecker({ resolver, clock: new FakeClock(), concurrency: 1 });
    assert.equal((await d.lookup('a.test')).status, 'ok');
    assert.equal((await d.lookup('b.test')).status, 'ok');
    assert.deepEqual(resolver.calls, ['MX a.test', 'A a.test', 'MX b.test', 'A mx.b.test']);
  });

  it('remembers each domain that failed once, not only the last one', async () => {
    const { d, resolver } = checker({
      'a.test': { mx: { code: 'ESERVFAIL' } },
      'b.test': { mx: { code: 'ESERVFAIL' } },
    });
    const settle = async (domain: string) => {
      await d.lookup(domain);
      await Promise.resolve();
    };
    await settle('a.test'); // forgotten once
    await settle('b.test'); // forgotten once
    await settle('a.test'); // kept
    await settle('a.test'); // from the cache
    assert.deepEqual(
      resolver.calls.filter((c) => c.startsWith('MX')),
      ['MX a.test', 'MX b.test', 'MX a.test'],
    );
  });

  it('seed: a seeded outcome is used without a query and does not replace a known one', async () => {
    const { d } = checker({ 'known.test': { a: ['192.0.2.1'] } });
    const seeded: DomainDns = { status: 'no_mail', implicitMx: false, mx: [] };
    d.seed('s.test', seeded);
    assert.equal(d.has('s.test'), true);
    assert.deepEqual(await d.lookup('s.test'), seeded);
    assert.equal(d.queries, 0);
    const known = await d.lookup('known.test');
    d.seed('known.test', seeded);
    assert.deepEqual(await d.lookup('known.test'), known);
  });

  it(`remembers at most ${MAX_DNS_CACHE_ENTRIES} domains as failed once, then starts that record again`, async function () {
    this.timeout(120_000); // 100,001 failing look-ups: a few seconds on a loaded machine
    let firstQueries = 0;
    const resolver: DnsResolver = {
      resolveMx: (name) => {
        if (name === 'first.test') firstQueries++;
        return Promise.reject(Object.assign(new Error('x'), { code: 'ESERVFAIL' }));
      },
      resolve4: () => Promise.resolve([]),
      resolve6: () => Promise.resolve([]),
    };
    const d = new DnsChecker({ resolver, clock: new FakeClock() });
    const fail = async (domain: string) => {
      assert.equal((await d.lookup(domain)).status, 'error');
      await Promise.resolve();
    };
    await fail('first.test'); // forgotten once: 1 domain on record
    for (let i = 1; i < MAX_DNS_CACHE_ENTRIES; i++) await fail(`d${i}.test`);
    // The record is full; the next domain failing once empties it before it is added.
    await fail('last.test');
    assert.equal(d.cachedDomains, 0, 'every first failure was forgotten');
    await fail('first.test'); // not on record any more: forgotten once again
    await fail('first.test'); // its second failure since the record restarted: kept
    await fail('first.test'); // from the cache
    assert.equal(firstQueries, 3);
    assert.equal(d.cachedDomains, 1);
  });

  it(`keeps ${MAX_DNS_CACHE_ENTRIES} domains, forgetting the oldest first`, () => {
    const { d } = checker({});
    const seeded: DomainDns = { status: 'no_mail', implicitMx: false, mx: [] };
    for (let i = 0; i < MAX_DNS_CACHE_ENTRIES; i++) d.seed(`d${i}.test`, seeded);
    assert.equal(d.cachedDomains, MAX_DNS_CACHE_ENTRIES);
    assert.equal(d.has('d0.test'), true);
    d.seed('one-more.test', seeded);
    assert.equal(d.cachedDomains, MAX_DNS_CACHE_ENTRIES);
    assert.equal(d.has('d0.test'), false);
    assert.equal(d.has('d1.test'), true);
    assert.equal(d.has('one-more.test'), true);
  });
});

describe('address/dns: isNonPublicIp', () => {
  const nonPublic = [
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.0',
    '10.255.255.255',
    '127.0.0.1',
    '100.64.0.0',
    '100.127.255.255',
    '169.254.0.1',
    '172.16.0.0',
    '172.31.255.255',
    '192.168.0.1',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.1.1.1',
    '255.255.255.255',
    // Not an IPv4 address in dotted form: not trusted as public.
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.256',
    '256.1.1.1',
    '1.-1.1.1',
    'a.b.c.d',
    '',
    '::1',
    '::',
    '::FFFF:127.0.0.1',
    '::ffff:10.1.2.3',
    '::ffff:7f00:1',
    '::ffff:c0a8:101',
    // Mapped forms with octets of every width.
    '::ffff:192.168.1.1',
    '::ffff:10.0.10.1',
    '::ffff:10.0.0.10',
    'fc00::1',
    'fdff::1',
    'fe80::1',
    'febf::1',
    'ff02::1',
    'FF00::',
  ];
  const publicAddresses = [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '126.255.255.255',
    '128.0.0.1',
    '100.63.255.255',
    '100.128.0.0',
    '64.100.0.1',
    '169.253.0.1',
    '169.255.0.1',
    '1.254.0.1',
    '172.15.255.255',
    '172.32.0.0',
    '16.172.0.1',
    '192.167.0.1',
    '192.169.0.1',
    '1.168.0.1',
    '198.17.0.1',
    '198.20.0.1',
    '1.18.0.1',
    '1.19.0.1',
    '223.255.255.255',
    '192.0.2.1',
    '::ffff:8.8.8.8',
    '::ffff:808:808',
    '2001:db8::1',
    '2001:4860::8888',
    'fbff::1',
    'fec0::1',
    'fe00::1',
    '::ffff:1.2.3.4x',
    // Only ::ffff: at the start maps an IPv4 address; a longer address that holds the same text does not.
    '2001:db8::ffff:10.0.0.1',
    '2001:db8::ffff:a00:1',
    '::ffff:a00:1:5',
  ];
  it('flags loopback, private, CGNAT, link-local, benchmarking, multicast and malformed forms', () => {
    for (const ip of nonPublic) assert.equal(isNonPublicIp(ip), true, ip);
  });
  it('lets public addresses through, including the neighbours of every range', () => {
    for (const ip of publicAddresses) assert.equal(isNonPublicIp(ip), false, ip);
  });
});
