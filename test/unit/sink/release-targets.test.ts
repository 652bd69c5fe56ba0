/**
 * The --release-to allow-list, entry by entry: each refusal with its message, the bounds on
 * ports, hosts and entries, IPv6 in brackets, and matching as typed (case, brackets, any port).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  formatReleaseTarget,
  matchReleaseTarget,
  MAX_RELEASE_TARGETS,
  parseReleaseTargets,
  releaseAllowed,
} from '../../../sink/release-targets.ts';

describe('sink/release-targets', () => {
  it('parses hosts with and without ports, IPv4, IPv6 in brackets, skipping empty entries', () => {
    assert.deepEqual(
      parseReleaseTargets(' A.example:1 , ,b.example,10.0.0.1:65535,[2001:DB8::1],[::1]:25,'),
      [
        { host: 'a.example', port: 1 },
        { host: 'b.example', port: null },
        { host: '10.0.0.1', port: 65535 },
        { host: '2001:db8::1', port: null },
        { host: '::1', port: 25 },
      ],
    );
    assert.deepEqual(parseReleaseTargets(''), []);
  });

  const refused: readonly (readonly [string, string])[] = [
    ['host:99999', 'has a port out of range in "host:99999"'],
    ['host:65536', 'has a port out of range in "host:65536"'],
    ['host:0', 'has a port out of range in "host:0"'],
    ['[::1]:0', 'has a port out of range in "[::1]:0"'],
    ['host:x', 'has a bad port in "host:x"'],
    ['host:', 'has a bad port in "host:"'],
    ['host:123456', 'has a bad port in "host:123456"'],
    ['a:b:c', 'has a bad host in "a:b:c" (IPv6 addresses go in brackets: [::1]:25)'],
    ['bad host', 'has a bad host in "bad host" (expected HOST[:PORT])'],
    ['x[::1]:25', 'has a bad host in "x[::1]:25" (IPv6 addresses go in brackets: [::1]:25)'],
    ['[::1]:25x', 'has a bad host in "[::1]:25x" (IPv6 addresses go in brackets: [::1]:25)'],
    ['bad_host:25', 'has a bad host in "bad_host:25" (expected HOST[:PORT])'],
    [':25', 'has a bad host in ":25" (expected HOST[:PORT])'],
    [`${'a'.repeat(254)}`, `has a bad host in "${'a'.repeat(254)}" (expected HOST[:PORT])`],
    ['[zz::1]:25', 'has a bad host in "[zz::1]:25" (IPv6 addresses go in brackets: [::1]:25)'],
  ];
  for (const [entry, problem] of refused) {
    it(`refuses ${JSON.stringify(entry.slice(0, 30))}`, () => {
      assert.equal(parseReleaseTargets(`ok.example,${entry}`), problem);
    });
  }

  it('takes a 253-character host, and a bare IPv6 address as any port of it', () => {
    assert.deepEqual(parseReleaseTargets('a'.repeat(253)), [{ host: 'a'.repeat(253), port: null }]);
    assert.deepEqual(parseReleaseTargets('::1'), [{ host: '::1', port: null }]);
  });

  it(`takes ${MAX_RELEASE_TARGETS} entries, not one more`, () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example`).join(',');
    const ok = parseReleaseTargets(list(MAX_RELEASE_TARGETS));
    assert.ok(Array.isArray(ok) && ok.length === MAX_RELEASE_TARGETS);
    assert.equal(
      parseReleaseTargets(list(MAX_RELEASE_TARGETS + 1)),
      `must list at most ${MAX_RELEASE_TARGETS} hosts`,
    );
  });

  it('matches as typed: case-insensitive, brackets optional for IPv6, a set port or any', () => {
    const targets = parseReleaseTargets('relay.example:25,any.example,[::1]:2525');
    assert.ok(Array.isArray(targets));
    assert.deepEqual(matchReleaseTarget(targets, ' RELAY.example ', 25), {
      host: 'relay.example',
      port: 25,
    });
    assert.equal(matchReleaseTarget(targets, 'relay.example', 26), undefined);
    assert.deepEqual(matchReleaseTarget(targets, 'any.example', 1), {
      host: 'any.example',
      port: null,
    });
    assert.deepEqual(matchReleaseTarget(targets, '[::1]', 2525), { host: '::1', port: 2525 });
    assert.equal(releaseAllowed(targets, '::1', 25), false);
    assert.equal(releaseAllowed(targets, 'relay.example.evil', 25), false);
    assert.deepEqual(targets.map(formatReleaseTarget), [
      'relay.example:25',
      'any.example:*',
      '[::1]:2525',
    ]);
  });

  it('takes brackets off only when they hold the whole host', () => {
    // a::1 and ::1a are IPv6 addresses; a[::1] and [::1]a are neither them nor in brackets.
    const targets = parseReleaseTargets('[a::1],[::1a]');
    assert.ok(Array.isArray(targets));
    assert.deepEqual(matchReleaseTarget(targets, '[A::1]', 25), { host: 'a::1', port: null });
    assert.deepEqual(matchReleaseTarget(targets, '[::1a]', 25), { host: '::1a', port: null });
    assert.equal(matchReleaseTarget(targets, 'a[::1]', 25), undefined);
    assert.equal(matchReleaseTarget(targets, '[::1]a', 25), undefined);
  });
});
