/**
 * The offline pipeline's sharing and caches, seen from outside (the same objects come back,
 * and the cache is bounded exactly), the de-duplication key, when a result needs the network,
 * and the typo suggestion dropped for a domain that publishes MX records.
 */
import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists, type Lists } from '../../../../src/address/lists.ts';
import { DnsChecker, type DnsResolver } from '../../../../src/address/dns.ts';
import {
  DomainFlagsCache,
  MAX_DOMAIN_FLAG_CACHE,
  checkNetwork,
  checkOffline,
  createOfflineContext,
  dedupeKeyOf,
  needsNetwork,
  normalizedOf,
} from '../../../../src/check/pipeline.ts';
import { parseProviderConfig } from '../../../../src/check/provider-config.ts';
import { ProviderStage } from '../../../../src/check/provider-stage.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

describe('check/pipeline: sharing, caches and keys', () => {
  let lists: Lists;
  let offline: ReturnType<typeof createOfflineContext>;
  before(() => {
    lists = createLists();
    offline = createOfflineContext(lists);
  });

  it('syntax details are one frozen object per diagnosis and flags, shared by every result', () => {
    const a = checkOffline('a@example.com', 1, offline).checks.syntax;
    const b = checkOffline('b@example.org', 2, offline).checks.syntax;
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    const idn = checkOffline('c@bücher.de', 3, offline).checks.syntax;
    assert.notEqual(idn, a);
    assert.equal(checkOffline('d@müller.de', 4, offline).checks.syntax, idn);
    assert.deepEqual(idn, {
      category: 'valid',
      diagnosis: 'valid',
      smtputf8: false,
      idn: true,
      literal: false,
    });
  });

  it('a domain flags entry is computed once and kept, long names included', () => {
    const c = new DomainFlagsCache(lists);
    const long = 'a-rather-long-domain-name.example';
    const e = c.get(long);
    assert.equal(c.get('short.test'), c.get('short.test'));
    assert.equal(c.get(long), e);
    assert.equal(e.role.role, true);
    assert.equal(e.person.role, false);
  });

  it(`keeps ${MAX_DOMAIN_FLAG_CACHE} domains' flags, forgetting the oldest first`, function () {
    this.timeout(60_000); // 200,001 list look-ups
    const c = new DomainFlagsCache(lists);
    const first = c.get('d0.t');
    const second = c.get('d1.t');
    for (let i = 2; i < MAX_DOMAIN_FLAG_CACHE; i++) c.get(`d${i}.t`);
    assert.equal(c.get('d0.t'), first, 'full, nothing forgotten yet');
    c.get('one-more.t'); // forgets d0.t: reading it again did not make it newer (insertion order)
    assert.notEqual(c.get('d0.t'), first);
    // Reading d0.t again put it back as the newest and forgot d1.t, the next oldest.
    assert.notEqual(c.get('d1.t'), second);
  });

  it('the de-duplication key: local part as written and the normalised domain; an invalid address as given', () => {
    for (const [address, key] of [
      ['User@EXAMPLE.com', 'User@example.com'],
      ['x@Bücher.DE', 'x@xn--bcher-kva.de'],
      ['bad@@x', 'bad@@x'],
      ['no-at-sign', 'no-at-sign'],
    ]) {
      assert.equal(normalizedOf(address), key, address);
      assert.equal(dedupeKeyOf(checkOffline(address, 1, offline)), key, address);
    }
  });

  it('a result needs the network when it is not invalid and DNS or a provider is set', () => {
    const clock = new FakeClock();
    const dns = new DnsChecker({ resolver: answers(), clock });
    const provider = providerStage(clock);
    const ok = checkOffline('a@example.com', 1, offline);
    const bad = checkOffline('bad@@x', 2, offline);
    assert.equal(needsNetwork(ok, {}), false);
    assert.equal(needsNetwork(ok, { dns }), true);
    assert.equal(needsNetwork(ok, { provider }), true);
    assert.equal(needsNetwork(ok, { dns, provider }), true);
    assert.equal(needsNetwork(bad, { dns, provider }), false);
  });

  it('a domain that publishes MX records loses its typo suggestion and that reason only', async () => {
    const clock = new FakeClock();
    const dns = new DnsChecker({ resolver: answers(), clock });
    const r = checkOffline('"a b"@gnail.com', 1, offline);
    assert.deepEqual(r.reasons, ['syntax_unusual', 'typo_suggestion']);
    assert.equal(r.checks.lists?.suggestion, 'gmail.com');
    await checkNetwork(r, { dns });
    assert.deepEqual(r.reasons, ['syntax_unusual']);
    assert.equal(r.checks.lists?.suggestion, null);
    assert.equal(r.verdict, 'risky', 'an unusual syntax is still risky');
  });
});

/** Every domain has one MX with one public address. */
function answers(): DnsResolver {
  return {
    resolveMx: (name) => Promise.resolve([{ exchange: `mx.${name}`, priority: 10 }]),
    resolve4: () => Promise.resolve(['192.0.2.1']),
    resolve6: () => Promise.resolve([]),
  };
}

function providerStage(clock: FakeClock): ProviderStage {
  const config = parseProviderConfig(
    {
      url: 'http://127.0.0.1:1/v?email={address}',
      verdictPath: 'result.status',
      map: { deliverable: 'valid' },
    },
    'p.yaml',
    {},
  );
  return new ProviderStage({
    config,
    http: { request: () => Promise.reject(new Error('not asked in this test')) },
    clock,
    random: () => 0.5,
  });
}
