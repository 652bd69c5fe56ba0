import { toASCII } from 'tr46';

/**
 * Strict IDNA (UTS #46) options. `url.domainToASCII` is lenient (it accepts
 * `ex_ample.com`, `-iana.org`, empty and 64-character labels); these reject
 * what a mail domain must not be.
 */
const STRICT = Object.freeze({
  checkHyphens: true,
  checkBidi: true,
  checkJoiners: true,
  useSTD3ASCIIRules: true,
  verifyDNSLength: true,
  transitionalProcessing: false,
});

/**
 * Converts a domain to its lower-case ASCII (A-label) form, or returns null
 * when strict IDNA rejects it. Callers pass domains without a trailing dot.
 */
export function domainToAsciiStrict(domain: string): string | null {
  if (domain.length === 0) return null;
  return toASCII(domain, STRICT);
}

/**
 * True when `domain` is plain lower/upper-case LDH ASCII with no label that
 * starts with `xn--` (punycode must be validated by tr46) and no hyphen in
 * positions 3-4 (reserved by checkHyphens). Such domains need no IDNA
 * processing beyond lower-casing, which keeps the hot path off tr46.
 */
export function isPlainLdhDomain(domain: string): boolean {
  const n = domain.length;
  let labelStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 46 : domain.charCodeAt(i);
    if (c === 46) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return false;
      if (domain.charCodeAt(labelStart) === 45 || domain.charCodeAt(i - 1) === 45) return false;
      if (
        len >= 4 &&
        domain.charCodeAt(labelStart + 2) === 45 &&
        domain.charCodeAt(labelStart + 3) === 45
      )
        return false;
      labelStart = i + 1;
      continue;
    }
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || (c >= 65 && c <= 90)))
      return false;
  }
  return n <= 253;
}
