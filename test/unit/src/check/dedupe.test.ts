/**
 * The de-duplication table at its edges: digests with a zero half (0/0 marks an empty slot, so
 * a half of zero is the case a careless check would lose), digests that share one half, growth
 * that keeps every entry, and the cap past which new addresses are reported but not kept.
 *
 * The strings with a chosen half are built by running the two hashes of `digest64` backwards
 * over the last character (each per-character step is a bijection on 32 bits); every such
 * string is checked with `digest64` itself before it is used, so a change of hash fails here
 * loudly instead of quietly testing nothing.
 */
import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { DigestSet, MAX_DEDUPE_SLOTS, digest64 } from '../../../../src/check/dedupe.ts';

const FNV_START = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const H2_START = 0x9747b28c;
const H2_MUL = 0x5bd1e995;

/** The multiplicative inverse of an odd number modulo 2^32 (Newton's iteration). */
function inverse(m: number): number {
  let x = m;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(m, x));
  return x;
}

const fnvStep = (h: number, c: number): number => Math.imul(h ^ c, FNV_PRIME);
const h2Step = (h: number, c: number): number => {
  const x = Math.imul(h ^ c, H2_MUL);
  return x ^ (x >>> 15);
};

/**
 * Three-character strings whose per-character loop (`step`, from `start`) ends in the state
 * `end`: for each first two characters, the third is the one that lands on `end` if it fits in
 * 16 bits (about one pair in 65,536). `before` is `end` with the last step's multiplication
 * (and mixing) undone.
 */
function preimages(
  start: number,
  step: (h: number, c: number) => number,
  before: number,
  count: number,
  first = 0x61,
): string[] {
  const out: string[] = [];
  for (let c1 = first; out.length < count; c1++) {
    const h1 = step(start, c1);
    for (let c2 = 0; c2 < 0x10000 && out.length < count; c2++) {
      const x = step(h1, c2) ^ before;
      if (x >>> 16 === 0) out.push(String.fromCharCode(c1, c2, x));
    }
  }
  return out;
}

function digest(s: string): [number, number] {
  const out = new Uint32Array(2);
  digest64(s, out);
  return [out[0], out[1]];
}

/** Ordinary addresses whose first half satisfies `test` (a few dozen tries at most). */
function addressWhere(test: (hi: number) => boolean, from = 0): string {
  for (let i = from; ; i++) {
    const s = `user${i}@example.test`;
    if (test(digest(s)[0])) return s;
  }
}

describe('check/dedupe: the digest table at its edges', () => {
  // Built in a hook, not at load (CONTRIBUTING.md, "Mutation testing").
  let zeroHi: string[]; // digests [0, x]: the first half is zero
  let zeroLo: string[]; // digests [x, 0]: the second half is zero
  before(() => {
    // FNV-1a's loop state 0 finalises to 0.
    zeroHi = preimages(FNV_START, fnvStep, Math.imul(0, inverse(FNV_PRIME)), 2);
    // The second hash finalises (state ^ length) * c, mixed: 0 for the state 3 of a 3-character string.
    const y = 3 ^ (3 >>> 15) ^ (3 >>> 30);
    zeroLo = preimages(H2_START, h2Step, Math.imul(y, inverse(H2_MUL)), 8);
    for (const s of zeroHi) assert.equal(digest(s)[0], 0, 'the first half is zero');
    for (const s of zeroLo) assert.equal(digest(s)[1], 0, 'the second half is zero');
    assert.notEqual(digest(zeroHi[0])[1], digest(zeroHi[1])[1]);
  });

  it('the digest is two 32-bit halves, the same for the same string, never both zero', () => {
    const [a, b] = digest('someone@example.com');
    assert.deepEqual(digest('someone@example.com'), [a, b]);
    assert.notDeepEqual(digest('someone@example.org'), [a, b]);
    // A first half of zero keeps its own second half (only 0/0 is changed, to 0/1).
    assert.deepEqual(
      zeroHi.map((s) => digest(s)[0]),
      [0, 0],
    );
    assert.ok(zeroHi.every((s) => digest(s)[1] !== 1 && digest(s)[1] !== 0));
  });

  it('digests that share their first half, or their second, are different entries', () => {
    const s = new DigestSet(16);
    assert.equal(s.add(zeroHi[0]), true);
    assert.equal(s.add(zeroHi[1]), true, 'same first half (0), different second half');
    assert.equal(s.add(zeroHi[0]), false);
    assert.equal(s.add(zeroHi[1]), false);
    // Two of the second-half-zero strings that land in the same slot of a 16-slot table.
    const bySlot = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (const z of zeroLo) {
      const slot = digest(z)[0] & 15;
      const other = bySlot.get(slot);
      if (other !== undefined) {
        pair = [other, z];
        break;
      }
      bySlot.set(slot, z);
    }
    assert.ok(pair, 'two of 8 strings share one of 16 slots (birthday bound: 88%)');
    assert.equal(s.add(pair[0]), true);
    assert.equal(s.add(pair[1]), true, 'same second half (0), different first half');
    assert.equal(s.add(pair[1]), false);
    assert.equal(s.size, 4);
  });

  it('growing keeps every entry, those with a zero half included, even where they collide', () => {
    const s = new DigestSet(16);
    assert.equal(s.bytes, 128);
    // zeroHi[0] sits in slot 0 of every table size; t lands in slot 0 of the 32-slot table too,
    // so the growth probes past zeroHi[0]. zeroLo's u does the same to a second-half-zero entry.
    const z = zeroLo.find((x) => (digest(x)[0] & 15) < 8 && (digest(x)[0] & 15) > 1)!;
    assert.ok(z !== undefined);
    const t = addressWhere((hi) => (hi & 31) === 0);
    const u = addressWhere((hi) => (hi & 31) === (digest(z)[0] & 31));
    const entries = [zeroHi[0], t, z, u];
    for (let i = 0; entries.length < 9; i++) {
      const f = `filler${i}@example.test`;
      if ((digest(f)[0] & 15) >= 8) entries.push(f); // out of the way of the four above
    }
    for (const e of entries.slice(0, 8)) assert.equal(s.add(e), true, e);
    assert.equal(s.bytes, 128, 'eight entries fill half of 16 slots: no growth yet');
    assert.equal(s.add(entries[8]), true);
    assert.equal(s.bytes, 256, 'the ninth entry doubled the table (at most 50% full)');
    assert.equal(s.size, 9);
    for (const e of entries) assert.equal(s.add(e), false, `${JSON.stringify(e)} still present`);
    assert.equal(s.size, 9);
  });

  it('at its cap the table stops at 90% full: later addresses are reported new but not kept', () => {
    assert.equal(MAX_DEDUPE_SLOTS, 2 ** 27);
    const s = new DigestSet(16, 32);
    const added: boolean[] = [];
    for (let i = 0; i < 40; i++) added.push(s.add(`user${i}@example.test`));
    assert.ok(added.every(Boolean));
    assert.equal(s.bytes, 256, 'grown once, to the cap');
    assert.equal(s.size, 28, 'the 29th entry would pass 90% of 32 slots');
    assert.equal(s.add('user27@example.test'), false, 'the 28th is kept');
    assert.equal(s.add('user28@example.test'), true, 'the 29th was not');
    assert.equal(s.add('user39@example.test'), true);
    assert.equal(s.size, 28);
  });
});
