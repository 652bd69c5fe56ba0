/**
 * Compacts the analyses the store keeps (one per stored message, shared with
 * the `message.analyzed` event in the replay window).
 *
 * An analysis arrives from the parse worker as a fresh structured-clone copy:
 * a dozen small objects and arrays, most of them equal to those of every other
 * message (no DKIM signature, no List-Unsubscribe, the same few reasons). Equal
 * parts are replaced by one shared, frozen copy, and the top-level object is
 * rebuilt with a fixed shape, which takes the heap per analysed message from
 * ~600 to ~100 bytes. Consumers only read and serialise analyses, so sharing
 * is invisible (the JSON is byte for byte the same).
 */
import type { MessageAnalysis } from '../src/protocol.ts';

/** Distinct shared parts remembered; past this the cache starts over, so hostile mail cannot grow it. */
export const ANALYSIS_INTERN_MAX_PARTS = 1024;
/** Parts whose JSON is longer than this are kept as they are: they are rarely equal, so caching them would only churn. */
export const ANALYSIS_INTERN_MAX_JSON = 512;

/** The keys of a MessageAnalysis, in the order the analysis produces them. */
const KEYS = [
  'requiredHeaders',
  'listUnsubscribe',
  'dkim',
  'links',
  'hasText',
  'hasHtml',
  'spamScore',
  'reasons',
] as const;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class AnalysisCompactor {
  readonly #parts = new Map<string, unknown>();

  /** Number of shared parts currently cached. */
  get size(): number {
    return this.#parts.size;
  }

  #share<T>(part: T): T {
    const json = JSON.stringify(part);
    if (json === undefined || json.length > ANALYSIS_INTERN_MAX_JSON) return part;
    const known = this.#parts.get(json);
    if (known !== undefined) return known as T;
    if (this.#parts.size >= ANALYSIS_INTERN_MAX_PARTS) this.#parts.clear();
    this.#parts.set(json, deepFreeze(part));
    return part;
  }

  /** An analysis equal (as JSON) to `a`, sharing its common parts with earlier ones. */
  compact(a: MessageAnalysis): MessageAnalysis {
    const keys = Object.keys(a);
    if (keys.length !== KEYS.length || keys.some((k, i) => k !== KEYS[i])) return a; // a shape this code does not know: keep it whole
    return {
      requiredHeaders: this.#share(a.requiredHeaders),
      listUnsubscribe: this.#share(a.listUnsubscribe),
      dkim: this.#share(a.dkim),
      links: this.#share(a.links),
      hasText: a.hasText,
      hasHtml: a.hasHtml,
      spamScore: a.spamScore,
      reasons: this.#share(a.reasons),
    };
  }
}
