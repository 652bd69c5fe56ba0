/**
 * The per-address pipeline's shared caches and small rules: the domain flag
 * cache (one list look-up per domain, FIFO beyond MAX_DOMAIN_FLAG_CACHE), the
 * shared frozen syntax details, the de-duplication key, when the network is
 * needed, the typo suggestion a published MX withdraws; and the JSON line of
 * a result whose syntax details were not built here.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { DomainListFlags, Lists } from '../../../../src/address/lists.ts';
import { DnsChecker, type DnsResolver } from '../../../../src/address/dns.ts';
import {
  DomainFlagsCache,
  MAX_DOMAIN_FLAG_CACHE,
  checkNetwork,
  checkOffline,
  createOfflineContext,
  needsNetwork,
  normalizedOf,
} from '../../../../src/check/pipeline.ts';
import { ProviderStage } from '../../../../src/check/provider-stage.ts';
import { parseProviderConfig } from '../../../../src/check/provider-config.ts';
import { resultToJsonLine } from '../../../../src/check/serialize.ts';
import type { CheckResult, SyntaxDetails } from '../../../../src/check/result.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

/** Lists that count look-ups per domain; `typo` domains get a suggestion, `free` ones the free flag. */
function countingLists(
  over: { typo?: Record<string, string>; free?: string[] } = {},
): Lists & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return {
    calls,
    domain(d: string): DomainListFlags {
      calls.set(d, (calls.get(d) ?? 0) + 1);
      return {
        disposable: false,
        free: over.free?.includes(d) ?? false,
        suggestion: over.typo?.[d] ?? null,
      };
    },
    isRole: (local: string) => local === 'admin',
    sizes: { disposable: 0, free: 0, role: 1, popular: 0 },
  };
}

describe('check/pipeline: the domain flag cache', () => {
  it('looks each domain up once, short or long (the key is a detached copy of the same text)', () => {
    const lists = countingLists();
    const cache = new DomainFlagsCache(lists);
    const long = 'a-rather-long-domain-name.example';
    const first = cache.get(long);
    assert.equal(cache.get(long), first);
    assert.equal(cache.get('x.io'), cache.get('x.io'));
    assert.deepEqual(
      [...lists.calls],
      [
        [long, 1],
        ['x.io', 1],
      ],
    );
    assert.deepEqual(first.role, { disposable: false, role: true, free: false, suggestion: null });
    assert.deepEqual(first.person, {
      disposable: false,
      role: false,
      free: false,
      suggestion: null,
    });
    assert.ok(Object.isFrozen(first.role) && Object.isFrozen(first.person));
  });

  it(`forgets the oldest domain beyond MAX_DOMAIN_FLAG_CACHE (${MAX_DOMAIN_FLAG_CACHE}) domains, and only then`, () => {
    const lists = countingLists();
    const cache = new DomainFlagsCache(lists);
    for (let i = 0; i < MAX_DOMAIN_FLAG_CACHE; i++) cache.get(`d${i}.test`);
    cache.get('d0.test');
    assert.equal(lists.calls.get('d0.test'), 1, 'still cached when the cache is full');
    cache.get('one-more.test');
    cache.get('d1.test');
    assert.equal(lists.calls.get('d1.test'), 1, 'the second oldest stays');
    cache.get('d0.test');
    assert.equal(lists.calls.get('d0.test'), 2, 'the oldest was forgotten');
  });
});

describe('check/pipeline: offline results', () => {
  it('shares one frozen syntax-details object per diagnosis and flags', () => {
    const ctx = createOfflineContext(countingLists());
    const a = checkOffline('alice@example.com', 1, ctx).checks.syntax;
    const b = checkOffline('bob@other.example', 2, ctx).checks.syntax;
    assert.deepEqual(a, {
      category: 'valid',
      diagnosis: a.diagnosis,
      smtputf8: false,
      idn: false,
      literal: false,
    });
    assert.equal(typeof a.diagnosis, 'string');
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    const u = checkOffline('josé@example.com', 3, ctx).checks.syntax;
    assert.equal(u.smtputf8, true);
    assert.notEqual(u, a);
    assert.equal(checkOffline('zoé@example.com', 4, ctx).checks.syntax, u);
  });

  it('normalizes a valid address and leaves an invalid one as written', () => {
    assert.equal(normalizedOf('Alice@Example.COM'), 'Alice@example.com');
    assert.equal(normalizedOf('not an address'), 'not an address');
    assert.equal(normalizedOf('a@@b'), 'a@@b');
  });

  it('needs the network when DNS or a provider is configured, for a valid address only', () => {
    const ctx = createOfflineContext(countingLists());
    const ok = checkOffline('alice@example.com', 1, ctx);
    const bad = checkOffline('not an address', 2, ctx);
    const dns = new DnsChecker({ resolver: zone({}), clock: new FakeClock() });
    const provider = new ProviderStage({
      config: parseProviderConfig(
        { url: 'http://127.0.0.1:1/{address}', verdictPath: 'v' },
        'p.yaml',
        {},
      ),
      http: { request: async () => ({ status: 200, headers: {}, body: '{}' }) },
      clock: new FakeClock(),
      random: () => 0.5,
    });
    assert.equal(needsNetwork(ok, {}), false);
    assert.equal(needsNetwork(ok, { dns }), true);
    assert.equal(needsNetwork(ok, { provider }), true);
    assert.equal(needsNetwork(bad, { dns, provider }), false);
  });
});

function zone(mx: Record<string, string>): DnsResolver {
  const fail = (code: string) => Object.assign(new Error(code), { code });
  return {
    resolveMx: async (n) => {
      if (mx[n] === undefined) throw fail('ENOTFOUND');
      return [{ exchange: mx[n], priority: 10 }];
    },
    resolve4: async (n) => {
      if (Object.values(mx).includes(n)) return ['192.0.2.10'];
      throw fail('ENOTFOUND');
    },
    resolve6: async () => {
      throw fail('ENODATA');
    },
  };
}

describe('check/pipeline: a published MX withdraws the typo suggestion', () => {
  it('removes typo_suggestion wherever it stands among the reasons, and nothing else', async () => {
    const lists = countingLists({ typo: { 'gmial.com': 'gmail.com' }, free: ['gmial.com'] });
    const ctx = createOfflineContext(lists);
    const dns = new DnsChecker({
      resolver: zone({ 'gmial.com': 'mx.gmial.com' }),
      clock: new FakeClock(),
    });
    const r = checkOffline('admin@gmial.com', 1, ctx);
    assert.deepEqual(r.reasons, ['free_provider', 'typo_suggestion', 'role_account']);
    await checkNetwork(r, { dns, allowPrivateMx: true });
    assert.deepEqual(r.reasons, ['free_provider', 'role_account']);
    assert.equal(r.checks.lists?.suggestion, null);
    assert.equal(r.checks.lists?.free, true);
  });

  it('a result whose suggestion reason is already gone loses no other reason', async () => {
    const lists = countingLists({ typo: { 'gmial.com': 'gmail.com' } });
    const ctx = createOfflineContext(lists);
    const dns = new DnsChecker({
      resolver: zone({ 'gmial.com': 'mx.gmial.com' }),
      clock: new FakeClock(),
    });
    const r = checkOffline('admin@gmial.com', 1, ctx);
    r.reasons.splice(r.reasons.indexOf('typo_suggestion'), 1);
    assert.deepEqual(r.reasons, ['role_account']);
    await checkNetwork(r, { dns, allowPrivateMx: true });
    assert.deepEqual(r.reasons, ['role_account']);
  });
});

describe('check/serialize: syntax details that are not shared', () => {
  it('serialises details that are not frozen as they are now, not as they were', () => {
    const ctx = createOfflineContext(countingLists());
    const r: CheckResult = checkOffline('alice@example.com', 1, ctx);
    const syntax: SyntaxDetails = { ...r.checks.syntax };
    const mine: CheckResult = { ...r, checks: { ...r.checks, syntax } };
    assert.deepEqual(JSON.parse(resultToJsonLine(mine)), JSON.parse(JSON.stringify(mine)));
    syntax.smtputf8 = true;
    assert.deepEqual(JSON.parse(resultToJsonLine(mine)).checks.syntax.smtputf8, true);
  });
});
