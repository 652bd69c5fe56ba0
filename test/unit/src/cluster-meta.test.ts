import assert from 'node:assert/strict';
import {
  CREATED_AT_ANNOTATION,
  EXPIRES_AT_ANNOTATION,
  TTL_ANNOTATION,
  generateNamespaceName,
  isExpired,
  isValidNamespaceName,
  lifetimeAnnotations,
  parseTtl,
  readLifetime,
} from '../../../src/cluster-meta.ts';

describe('cluster-meta', () => {
  it('generates sortable, valid namespace names from the injected clock and randomness', () => {
    const name = generateNamespaceName(new Date('2026-11-28T02:08:41Z'), () => 0.5);
    assert.equal(name, 'email-validation-20261128-020841-sssss');
    assert.ok(isValidNamespaceName(name));
    const r = [0, 0.99, 0.1, 0.2, 0.3];
    let i = 0;
    assert.match(
      generateNamespaceName(new Date(0), () => r[i++]),
      /^email-validation-19700101-000000-a9[a-z0-9]{3}$/,
    );
  });

  it('bounds --ttl', () => {
    assert.equal(parseTtl('2h'), 7_200_000);
    assert.throws(() => parseTtl('10s'), /out of range/);
    assert.throws(() => parseTtl('8d'), /out of range/);
  });

  it('records and reads back the lifetime; only passed TTLs are expired', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const a = lifetimeAnnotations(now, 3600_000);
    assert.equal(a[CREATED_AT_ANNOTATION], '2026-01-01T00:00:00.000Z');
    assert.equal(a[TTL_ANNOTATION], '1h');
    assert.equal(a[EXPIRES_AT_ANNOTATION], '2026-01-01T01:00:00.000Z');
    assert.equal(isExpired(a, new Date('2026-01-01T00:59:59Z')), false);
    assert.equal(isExpired(a, new Date('2026-01-01T01:00:00Z')), true);
    // Without expires-at, created-at + ttl; without either, never.
    assert.equal(
      isExpired(
        { [CREATED_AT_ANNOTATION]: now.toISOString(), [TTL_ANNOTATION]: '1m' },
        new Date('2026-01-01T00:02:00Z'),
      ),
      true,
    );
    assert.equal(isExpired({}, new Date('2100-01-01T00:00:00Z')), false);
    assert.equal(
      isExpired({ [TTL_ANNOTATION]: '1m' }, new Date('2026-01-01T00:02:00Z'), now),
      true,
    );
    assert.equal(readLifetime({ [TTL_ANNOTATION]: 'garbage' }).ttlMs, null);
  });

  it('namespace names: at most 63 characters of a DNS label', () => {
    assert.equal(isValidNamespaceName('a'.repeat(63)), true);
    assert.equal(isValidNamespaceName('a'.repeat(64)), false);
    assert.equal(isValidNamespaceName('Upper'), false);
    assert.equal(isValidNamespaceName('-a'), false);
  });

  it('--ttl errors name the option; the lifetime comes from created + ttl when expires is absent', () => {
    assert.throws(() => parseTtl('1s'), /--ttl/);
    const created = '2026-01-01T00:00:00.000Z';
    const l = readLifetime({ [CREATED_AT_ANNOTATION]: created, [TTL_ANNOTATION]: '2h' });
    assert.equal(l.ttlMs, 7_200_000);
    assert.equal(l.expiresAt?.toISOString(), '2026-01-01T02:00:00.000Z');
    assert.equal(readLifetime({ [CREATED_AT_ANNOTATION]: created }).expiresAt, null);
  });
});
