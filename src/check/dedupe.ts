/**
 * The de-duplication set: 64-bit digests of normalised addresses in an
 * open-addressing hash table (two Uint32Arrays), instead of a Set of strings.
 * Memory: 8 bytes per slot, at most 50% load before doubling, so between 16
 * and 32 bytes per distinct address: 16-32 MB per million (a Set<string>
 * would take ~80-100 MB). Two different addresses share a digest with
 * probability about n²/2⁶⁵ (3·10⁻⁸ for a million): such an address would be
 * reported as a duplicate and skipped.
 */

/** Initial slots (power of two). */
const INITIAL_SLOTS = 1 << 16;
/** Distinct addresses tracked at most: 2^27 slots = 1 GiB would be past any sane RSS; beyond it the set stops growing and reports everything new. */
export const MAX_DEDUPE_SLOTS = 1 << 27;

/** Two independent 32-bit hashes of a string (FNV-1a and a multiplicative variant), for a 64-bit digest. */
export function digest64(s: string, out: Uint32Array): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h2 = Math.imul(h2 ^ s.length, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  // 0/0 marks an empty slot.
  if (h1 === 0 && h2 === 0) h2 = 1;
  out[0] = h1 >>> 0;
  out[1] = h2 >>> 0;
}

export class DigestSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  private count = 0;
  private readonly d = new Uint32Array(2);
  private readonly maxSlots: number;

  /** Both sizes are powers of two; `maxSlots` is lowered only by tests, to reach the cap. */
  constructor(initialSlots = INITIAL_SLOTS, maxSlots = MAX_DEDUPE_SLOTS) {
    this.hi = new Uint32Array(initialSlots);
    this.lo = new Uint32Array(initialSlots);
    this.mask = initialSlots - 1;
    this.maxSlots = maxSlots;
  }

  get size(): number {
    return this.count;
  }
  /** Bytes held by the table. */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength;
  }

  /** Adds `s`; returns false when it (or a colliding digest) was already present. */
  add(s: string): boolean {
    digest64(s, this.d);
    const a = this.d[0];
    const b = this.d[1];
    let i = a & this.mask;
    for (;;) {
      const x = this.hi[i];
      const y = this.lo[i];
      if (x === 0 && y === 0) break;
      if (x === a && y === b) return false;
      i = (i + 1) & this.mask;
    }
    this.hi[i] = a;
    this.lo[i] = b;
    this.count++;
    if (this.count * 2 > this.hi.length && this.hi.length < this.maxSlots) this.grow();
    else if (this.count * 10 > this.hi.length * 9) {
      // Table at its cap and 90% full: stop tracking rather than degrade to a linear scan.
      this.count--;
      this.hi[i] = 0;
      this.lo[i] = 0;
    }
    return true;
  }

  private grow(): void {
    const oh = this.hi;
    const ol = this.lo;
    const n = oh.length * 2;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.mask = n - 1;
    for (let k = 0; k < oh.length; k++) {
      const a = oh[k];
      const b = ol[k];
      if (a === 0 && b === 0) continue;
      let i = a & this.mask;
      while (this.hi[i] !== 0 || this.lo[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = a;
      this.lo[i] = b;
    }
  }
}
