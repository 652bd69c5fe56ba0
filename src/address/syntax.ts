/**
 * Address syntax diagnosis after RFC 5321 (the SMTP envelope) and RFC 5322
 * (message headers), in the spirit of Dominic Sayers' is_email: every address
 * gets one diagnosis code, the most severe finding, and a category.
 *
 *   valid       plain dot-atom local part and DNS domain
 *   unusual     RFC 5321-valid but rare: quoted local part, address literal,
 *               domain without a dot, numeric TLD (is_email's RFC5321 group)
 *   deprecated  comments / folding white space (legal in headers, never in an
 *               envelope) and obsolete RFC 5322 forms (is_email's CFWS+DEPREC)
 *   invalid     violates RFC 5321 for an envelope: too long, non-DNS domain,
 *               bad literal (is_email's RFC5322 group) or plain errors (ERR)
 *
 * A hand-written scanner, no regular expressions: it runs once per input line
 * (hundreds of thousands per second) and must not backtrack on hostile input.
 */

import { domainToAsciiStrict, isPlainLdhDomain } from './idna.ts';
import { isEnvelopeMailbox, isInvisible } from './envelope.ts';

export type SyntaxCategory = 'valid' | 'unusual' | 'deprecated' | 'invalid';

/** Octet limits of RFC 5321 §4.5.3.1 (and its errata for the whole path). */
export const MAX_LOCAL_PART_OCTETS = 64; // RFC 5321 §4.5.3.1.1
export const MAX_DOMAIN_OCTETS = 253; // 255 on the wire minus the length octets of the first and last label
export const MAX_LABEL_OCTETS = 63; // RFC 1035 §2.3.4
export const MAX_ADDRESS_OCTETS = 254; // RFC 5321 path limit 256 minus the angle brackets
/** Input lines longer than this are rejected before parsing: no mailbox is longer, and parsing cost stays bounded. */
export const MAX_INPUT_CHARS = 1024;

/** Diagnosis codes and their category. Codes are stable (documented in the README). */
export const DIAGNOSES = Object.freeze({
  valid: 'valid',
  // RFC 5321: valid but unusual
  rfc5321_tld: 'unusual',
  rfc5321_tld_numeric: 'unusual',
  rfc5321_quoted_string: 'unusual',
  rfc5321_address_literal: 'unusual',
  unusual_invisible_char: 'unusual',
  // CFWS and deprecated forms
  cfws_comment: 'deprecated',
  cfws_fws: 'deprecated',
  deprec_local_part: 'deprecated',
  deprec_fws: 'deprecated',
  deprec_comment: 'deprecated',
  deprec_cfws_near_at: 'deprecated',
  // RFC 5322-only: invalid in an envelope
  rfc5322_domain: 'invalid',
  rfc5322_too_long: 'invalid',
  rfc5322_local_too_long: 'invalid',
  rfc5322_domain_too_long: 'invalid',
  rfc5322_label_too_long: 'invalid',
  rfc5322_domain_literal: 'invalid',
  rfc5322_domlit_obsdtext: 'invalid',
  rfc5322_ipv6_group_count: 'invalid',
  rfc5322_ipv6_2x2x_colon: 'invalid',
  rfc5322_ipv6_bad_char: 'invalid',
  rfc5322_ipv6_max_groups: 'invalid',
  rfc5322_ipv6_colon_start: 'invalid',
  rfc5322_ipv6_colon_end: 'invalid',
  // errors
  err_empty: 'invalid',
  err_too_long_input: 'invalid',
  err_no_at: 'invalid',
  err_no_local_part: 'invalid',
  err_no_domain_part: 'invalid',
  err_consecutive_dots: 'invalid',
  err_dot_start: 'invalid',
  err_dot_end: 'invalid',
  err_domain_hyphen_start: 'invalid',
  err_domain_hyphen_end: 'invalid',
  err_unclosed_quoted_str: 'invalid',
  err_unclosed_comment: 'invalid',
  err_unclosed_domain_literal: 'invalid',
  err_expecting_atext: 'invalid',
  err_expecting_dtext: 'invalid',
  err_expecting_qpair: 'invalid',
  err_atext_after_qs: 'invalid',
  err_atext_after_cfws: 'invalid',
  err_atext_after_domlit: 'invalid',
  err_backslash_end: 'invalid',
  err_cr_no_lf: 'invalid',
  err_fws_crlf_end: 'invalid',
  err_control_char: 'invalid',
  err_invalid_utf8: 'invalid',
  err_idna: 'invalid',
  err_not_envelope_safe: 'invalid',
} satisfies Record<string, SyntaxCategory>);

export type Diagnosis = keyof typeof DIAGNOSES;

/**
 * Severity of each diagnosis: its position in {@link DIAGNOSES}, which follows
 * is_email's numeric codes (categories in order, then the codes inside each).
 * An address reports its most severe finding, not the first one seen.
 */
const SEVERITY: Record<string, number> = Object.fromEntries(
  Object.keys(DIAGNOSES).map((d, i) => [d, i]),
);

export interface SyntaxResult {
  category: SyntaxCategory;
  diagnosis: Diagnosis;
  /** Local part as written in the envelope (comments and FWS removed; quotes kept only when needed). */
  local: string;
  /** Domain in lower-case ASCII (A-labels), or the address literal in brackets. '' when invalid before the domain. */
  domain: string;
  /** The domain as written (Unicode allowed), comments removed. */
  domainInput: string;
  /** The local part contains UTF-8: delivery needs the SMTPUTF8 extension (RFC 6531). */
  smtputf8: boolean;
  /** The domain is internationalised (contains U-labels or A-labels). */
  idn: boolean;
  /** The domain is an address literal (`[1.2.3.4]`, `[IPv6:…]`). */
  literal: boolean;
}

// atext of RFC 5322 §3.2.3, as a lookup table over ASCII.
const ATEXT = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) ATEXT[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ATEXT[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) ATEXT[c] = 1;
for (const ch of "!#$%&'*+-/=?^_`{|}~") ATEXT[ch.charCodeAt(0)] = 1;

/** Bytes of `s` in UTF-8, without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function result(
  category: SyntaxCategory,
  diagnosis: Diagnosis,
  local = '',
  domain = '',
  domainInput = '',
  smtputf8 = false,
  idn = false,
  literal = false,
): SyntaxResult {
  return { category, diagnosis, local, domain, domainInput, smtputf8, idn, literal };
}

function invalid(diagnosis: Diagnosis, local = '', domainInput = ''): SyntaxResult {
  return result('invalid', diagnosis, local, '', domainInput);
}

/**
 * Diagnoses one address (already trimmed of surrounding white space by the
 * reader). Never throws.
 */
export function diagnose(address: string): SyntaxResult {
  const n = address.length;
  if (n === 0) return invalid('err_empty');
  if (n > MAX_INPUT_CHARS) return invalid('err_too_long_input');
  // Fast path: ASCII atext, dots and exactly one '@', with a plain LDH domain.
  let at = -1;
  let upper = false;
  for (let i = 0; i < n; i++) {
    const c = address.charCodeAt(i);
    if (c === 64) {
      if (at !== -1) return slow(address);
      at = i;
    } else if (c === 46) {
      if (i === 0 || i === n - 1) return slow(address);
      const p = address.charCodeAt(i - 1);
      if (p === 46 || p === 64 || address.charCodeAt(i + 1) === 64) return slow(address);
    } else if (c >= 128 || ATEXT[c] !== 1) {
      return slow(address);
    } else if (at !== -1 && c >= 65 && c <= 90) {
      upper = true;
    }
  }
  if (at <= 0 || at === n - 1 || at > MAX_LOCAL_PART_OCTETS || n > MAX_ADDRESS_OCTETS)
    return slow(address);
  const domainInput = address.slice(at + 1);
  if (!isPlainLdhDomain(domainInput)) return slow(address);
  const dot = domainInput.lastIndexOf('.');
  if (dot === -1 || isAllDigits(domainInput, dot + 1)) return slow(address);
  return result(
    'valid',
    'valid',
    address.slice(0, at),
    upper ? domainInput.toLowerCase() : domainInput,
    domainInput,
  );
}

function isAllDigits(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The full scanner: comments, folding white space, quoted strings, literals. */
class Scanner {
  readonly s: string;
  i = 0;
  worst: Diagnosis = 'valid';
  error: Diagnosis | null = null;
  smtputf8 = false;

  constructor(s: string) {
    this.s = s;
  }

  note(d: Diagnosis): void {
    if (SEVERITY[d] > SEVERITY[this.worst]) this.worst = d;
  }

  /**
   * A character that no envelope can carry: C0 controls (tab included, outside
   * folding white space), DEL, C1 controls, and U+FFFD (what the reader puts
   * where the input was not UTF-8). Returns the error to fail with, or null.
   */
  unsafe(c: number): Diagnosis | null {
    if (c < 32 || c === 127 || (c >= 0x80 && c <= 0x9f)) return 'err_control_char';
    if (c === 0xfffd || (c >= 0xd800 && c <= 0xdfff && !this.pairedSurrogate()))
      return 'err_invalid_utf8';
    return null;
  }

  /** {@link unsafe} for the character at `at`. */
  unsafeAt(at: number): Diagnosis | null {
    const keep = this.i;
    this.i = at;
    const u = this.unsafe(this.s.charCodeAt(at));
    this.i = keep;
    return u;
  }

  private pairedSurrogate(): boolean {
    const c = this.s.charCodeAt(this.i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = this.s.charCodeAt(this.i + 1);
      return d >= 0xdc00 && d <= 0xdfff;
    }
    const p = this.s.charCodeAt(this.i - 1);
    return p >= 0xd800 && p <= 0xdbff;
  }

  fail(d: Diagnosis): false {
    if (this.error === null) this.error = d;
    return false;
  }

  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): number {
    return this.s.charCodeAt(this.i);
  }

  /** Skips CFWS; returns 'comment' | 'fws' | null for what was seen, or false on error. */
  cfws(): 'comment' | 'fws' | null | false {
    let seen: 'comment' | 'fws' | null = null;
    while (!this.done) {
      const c = this.peek();
      if (c === 32 || c === 9) {
        this.i++;
        if (seen === null) seen = 'fws';
        continue;
      }
      if (c === 13) {
        if (this.s.charCodeAt(this.i + 1) !== 10) return this.fail('err_cr_no_lf');
        const w = this.s.charCodeAt(this.i + 2);
        if (w !== 32 && w !== 9) return this.fail('err_fws_crlf_end');
        this.i += 2;
        if (seen === null) seen = 'fws';
        continue;
      }
      if (c === 40) {
        if (!this.comment()) return false;
        seen = 'comment';
        continue;
      }
      break;
    }
    return seen;
  }

  /** A comment, with nesting and quoted pairs. */
  comment(): boolean {
    let depth = 0;
    while (!this.done) {
      const c = this.peek();
      this.i++;
      if (c === 40) depth++;
      else if (c === 41) {
        depth--;
        if (depth === 0) return true;
      } else if (c === 92) {
        if (this.done) return this.fail('err_backslash_end');
        const q = this.peek();
        this.i++;
        // A quoted control character is still a control character (obs-qp): refused.
        if (q !== 9) {
          const u = this.unsafeAt(this.i - 1);
          if (u !== null) return this.fail(u);
        }
      } else if (c === 13) {
        // Only folding white space (CRLF then WSP) may break a comment's line.
        if (this.peek() !== 10) return this.fail('err_cr_no_lf');
        const w = this.s.charCodeAt(this.i + 1);
        if (w !== 32 && w !== 9) return this.fail('err_fws_crlf_end');
        this.i++;
      } else if (c !== 9) {
        const u = this.unsafeAt(this.i - 1);
        if (u !== null) return this.fail(u);
      }
    }
    return this.fail('err_unclosed_comment');
  }

  /** A quoted string starting at '"'; returns its unquoted content or null. */
  quoted(): string | null {
    this.i++;
    let out = '';
    let start = this.i;
    while (!this.done) {
      const c = this.peek();
      if (c === 34) {
        out += this.s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c === 92) {
        out += this.s.slice(start, this.i);
        if (this.i + 1 >= this.s.length) {
          this.fail('err_backslash_end');
          return null;
        }
        const q = this.s.charCodeAt(this.i + 1);
        // RFC 5321's quoted-pairSMTP is "\\" %d32-126: a quoted control
        // character (RFC 5322's obs-qp) cannot go into an envelope.
        const u = this.unsafeAt(this.i + 1);
        if (u !== null) {
          this.fail(u);
          return null;
        }
        if (q >= 128) {
          this.fail('err_expecting_qpair');
          return null;
        }
        out += this.s[this.i + 1];
        this.i += 2;
        start = this.i;
        continue;
      }
      if (c === 13) {
        if (this.s.charCodeAt(this.i + 1) !== 10) {
          this.fail('err_cr_no_lf');
          return null;
        }
        const w = this.s.charCodeAt(this.i + 2);
        if (w !== 32 && w !== 9) {
          this.fail('err_fws_crlf_end');
          return null;
        }
        // Folding inside a quoted string is CFWS (is_email's CFWS_FWS): header
        // syntax, removed from the envelope form; the WSP after it stays.
        this.note('cfws_fws');
        out += this.s.slice(start, this.i);
        this.i += 2;
        start = this.i;
        continue;
      }
      // No control character (tab included: qtextSMTP has none) can be sent
      // in an envelope, so an address holding one is invalid, not deprecated.
      const u = this.unsafe(c);
      if (u !== null) {
        this.fail(u);
        return null;
      }
      if (c >= 128) {
        this.smtputf8 = true;
        if (isInvisible(c)) this.note('unusual_invisible_char');
      }
      this.i++;
    }
    this.fail('err_unclosed_quoted_str');
    return null;
  }
}

const SPECIAL_IN_QUOTED_OUTPUT = /["\\]/;

/** The full scanner without the fast path (exported for tests: both must agree). */
export function diagnoseSlow(address: string): SyntaxResult {
  return slow(address);
}

function slow(address: string): SyntaxResult {
  if (address.length === 0) return invalid('err_empty');
  if (address.length > MAX_INPUT_CHARS) return invalid('err_too_long_input');
  const sc = new Scanner(address);
  const s = address;
  // ---- local part: word *("." word), CFWS around words
  const words: string[] = [];
  // Extent of the local part as written, words and dots (quotes and quoted
  // pairs included), without the CFWS around it: RFC 5321's 64-octet limit
  // applies to what is written, not to the unquoted form.
  let localStart = -1;
  let localEnd = -1;
  let quotedWords = 0;
  let expectWord = true;
  let sawAt = false;
  for (;;) {
    const before = sc.i;
    const seen = sc.cfws();
    if (seen === false) return invalid(sc.error!);
    if (seen !== null) {
      // At the very start: header CFWS; next to '@' or between words: obsolete forms.
      if (before === 0) sc.note(seen === 'comment' ? 'cfws_comment' : 'cfws_fws');
      else if (sc.peek() === 64) sc.note('deprec_cfws_near_at');
      else sc.note(seen === 'comment' ? 'deprec_comment' : 'deprec_fws');
    }
    if (sc.done) break;
    const c = sc.peek();
    if (c === 64) {
      sawAt = true;
      break;
    }
    if (c === 46) {
      if (expectWord) return invalid(words.length === 0 ? 'err_dot_start' : 'err_consecutive_dots');
      expectWord = true;
      sc.i++;
      continue;
    }
    if (c === 34) {
      if (!expectWord)
        return invalid(seen !== null ? 'err_atext_after_cfws' : 'err_expecting_atext');
      if (localStart === -1) localStart = sc.i;
      const content = sc.quoted();
      if (content === null) return invalid(sc.error!);
      localEnd = sc.i;
      words.push(content);
      quotedWords++;
      expectWord = false;
      continue;
    }
    if (c === 92)
      return invalid(sc.i === s.length - 1 ? 'err_backslash_end' : 'err_expecting_atext');
    if ((c < 128 && ATEXT[c] === 1) || c >= 128) {
      if (!expectWord)
        return invalid(
          quotedWords > 0 && seen === null ? 'err_atext_after_qs' : 'err_atext_after_cfws',
        );
      const start = sc.i;
      if (localStart === -1) localStart = start;
      while (!sc.done) {
        const d = sc.peek();
        if (d >= 128) {
          const u = sc.unsafe(d);
          if (u !== null) return invalid(u);
          if (isInvisible(d)) sc.note('unusual_invisible_char');
          sc.smtputf8 = true;
          sc.i++;
          continue;
        }
        if (ATEXT[d] !== 1) break;
        sc.i++;
      }
      words.push(s.slice(start, sc.i));
      localEnd = sc.i;
      expectWord = false;
      continue;
    }
    if (c < 32 || c === 127) return invalid('err_control_char');
    return invalid('err_expecting_atext');
  }
  if (!sawAt) {
    if (words.length === 0) return invalid('err_no_local_part');
    return invalid('err_no_at');
  }
  if (words.length === 0) return invalid('err_no_local_part');
  if (expectWord) return invalid('err_dot_end');
  const writtenLocalOctets = utf8Length(s.slice(localStart, localEnd));
  sc.i++; // '@'

  // Local part as it goes into the envelope.
  let local: string;
  if (quotedWords === 0) {
    local = words.join('.');
  } else {
    if (words.length > 1) sc.note('deprec_local_part');
    const joined = words.join('.');
    // A quoted string is unusual as written even when its content is a
    // dot-atom (is_email's RFC5321_QUOTEDSTRING); the envelope form drops
    // the quotes then: "abc"@x is the same mailbox as abc@x (RFC 5321 §4.1.2).
    sc.note('rfc5321_quoted_string');
    if (isDotAtom(joined)) {
      local = joined;
    } else {
      local = `"${SPECIAL_IN_QUOTED_OUTPUT.test(joined) ? escapeQuoted(joined) : joined}"`;
    }
  }

  // ---- domain
  const seenBefore = sc.cfws();
  if (seenBefore === false) return invalid(sc.error!, local);
  if (seenBefore !== null) sc.note('deprec_cfws_near_at');
  if (sc.done) return invalid('err_no_domain_part', local);
  let domainInput: string;
  let literal = false;
  let domain = '';
  let idn = false;
  if (sc.peek() === 91) {
    const lit = domainLiteral(sc);
    if (lit === null) return invalid(sc.error!, local);
    literal = true;
    domainInput = lit;
    domain = lit;
  } else {
    // Labels, with RFC 5322's obs-domain: CFWS around the dots (deprecated).
    const labels: string[] = [];
    let hasNonLdh = false;
    let hasNonAscii = false;
    let trailing: 'comment' | 'fws' | null = null;
    for (;;) {
      const labelStart = sc.i;
      while (!sc.done) {
        const c = sc.peek();
        if (c === 46 || !(c >= 128 || ATEXT[c] === 1)) break;
        if (c >= 128) {
          const u = sc.unsafe(c);
          if (u !== null) return invalid(u, local);
          hasNonAscii = true;
        } else if (!(
          (c >= 97 && c <= 122) ||
          (c >= 65 && c <= 90) ||
          (c >= 48 && c <= 57) ||
          c === 45
        ))
          hasNonLdh = true;
        sc.i++;
      }
      const len = sc.i - labelStart;
      const c = sc.done ? -1 : sc.peek();
      if (len === 0) {
        if (c === 46)
          return invalid(labels.length === 0 ? 'err_dot_start' : 'err_consecutive_dots', local);
        if (labels.length === 0)
          return invalid(c === -1 ? 'err_no_domain_part' : 'err_expecting_atext', local);
        return invalid('err_dot_end', local);
      }
      if (s.charCodeAt(labelStart) === 45) return invalid('err_domain_hyphen_start', local);
      if (s.charCodeAt(sc.i - 1) === 45) return invalid('err_domain_hyphen_end', local);
      if (len > MAX_LABEL_OCTETS && !hasNonAscii) sc.note('rfc5322_label_too_long');
      labels.push(s.slice(labelStart, sc.i));
      const cf = sc.cfws();
      if (cf === false) return invalid(sc.error!, local, labels.join('.'));
      if (!sc.done && sc.peek() === 46) {
        if (cf !== null) sc.note(cf === 'comment' ? 'deprec_comment' : 'deprec_fws');
        sc.i++;
        const cf2 = sc.cfws();
        if (cf2 === false) return invalid(sc.error!, local, labels.join('.'));
        if (cf2 !== null) sc.note(cf2 === 'comment' ? 'deprec_comment' : 'deprec_fws');
        continue;
      }
      trailing = cf;
      break;
    }
    domainInput = labels.join('.');
    if (hasNonLdh) sc.note('rfc5322_domain');
    if (!hasNonLdh) {
      if (!hasNonAscii && isPlainLdhDomain(domainInput)) {
        domain = domainInput.toLowerCase();
      } else {
        const ascii = domainToAsciiStrict(domainInput);
        if (ascii === null) {
          // Keep the more specific length diagnosis when tr46 rejects for length.
          if (sc.worst === 'rfc5322_label_too_long')
            return invalid('rfc5322_label_too_long', local, domainInput);
          if (utf8Length(domainInput) > MAX_DOMAIN_OCTETS && !hasNonAscii)
            return invalid('rfc5322_domain_too_long', local, domainInput);
          return invalid('err_idna', local, domainInput);
        }
        domain = ascii;
        idn = hasNonAscii || ascii.includes('xn--');
      }
    }
    // Anything after the domain other than CFWS is an error.
    if (!sc.done) {
      const c = sc.peek();
      return invalid(
        trailing !== null && (c >= 128 || ATEXT[c] === 1)
          ? 'err_atext_after_cfws'
          : 'err_expecting_atext',
        local,
        domainInput,
      );
    }
    if (trailing !== null) sc.note(trailing === 'comment' ? 'cfws_comment' : 'cfws_fws');
    if (domain !== '') {
      if (domain.length > MAX_DOMAIN_OCTETS) sc.note('rfc5322_domain_too_long');
      const dot = domain.lastIndexOf('.');
      if (dot === -1) sc.note('rfc5321_tld');
      else if (isAllDigits(domain, dot + 1)) sc.note('rfc5321_tld_numeric');
    }
  }
  if (literal && !sc.done) {
    const after = sc.cfws();
    if (after === false) return invalid(sc.error!, local, domainInput);
    if (after !== null) sc.note(after === 'comment' ? 'cfws_comment' : 'cfws_fws');
    if (!sc.done) return invalid('err_atext_after_domlit', local, domainInput);
  }

  // ---- lengths (octets)
  const localOctets = Math.max(utf8Length(local), writtenLocalOctets);
  if (localOctets > MAX_LOCAL_PART_OCTETS) sc.note('rfc5322_local_too_long');
  if (localOctets + 1 + utf8Length(domain || domainInput) > MAX_ADDRESS_OCTETS)
    sc.note('rfc5322_too_long');

  const category = DIAGNOSES[sc.worst];
  if (category === 'invalid')
    return result('invalid', sc.worst, local, '', domainInput, sc.smtputf8);
  // The last gate: whatever the scanner accepted must fit the envelope
  // grammar, so no input can put a byte into an SMTP command that the
  // grammar does not allow (a scanner bug becomes an invalid address).
  if (!isEnvelopeMailbox(`${local}@${domain}`))
    return result('invalid', 'err_not_envelope_safe', local, '', domainInput, sc.smtputf8);
  return result(category, sc.worst, local, domain, domainInput, sc.smtputf8, idn, literal);
}

function escapeQuoted(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return out;
}

/** True for a dot-atom: atext (or UTF-8) runs separated by single dots. */
export function isDotAtom(s: string): boolean {
  if (s.length === 0) return false;
  let prevDot = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (prevDot) return false;
      prevDot = true;
    } else if (c >= 128 || ATEXT[c] === 1) {
      prevDot = false;
    } else {
      return false;
    }
  }
  return !prevDot;
}

/** Parses `[ … ]` at sc.i; returns the normalised literal or null (sc.error set). */
function domainLiteral(sc: Scanner): string | null {
  const s = sc.s;
  sc.i++;
  let content = '';
  let segStart = sc.i;
  let obs = false;
  while (!sc.done) {
    const c = sc.peek();
    if (c === 93) {
      content += s.slice(segStart, sc.i);
      sc.i++;
      if (obs) {
        sc.note('rfc5322_domlit_obsdtext');
        return `[${content}]`;
      }
      return classifyLiteral(sc, content) ? `[${content}]` : null;
    }
    if (c === 91) {
      sc.fail('err_expecting_dtext');
      return null;
    }
    if (c === 92) {
      if (sc.i + 1 >= s.length) {
        sc.fail('err_backslash_end');
        return null;
      }
      obs = true;
      content += s.slice(segStart, sc.i) + s[sc.i + 1];
      sc.i += 2;
      segStart = sc.i;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      // FWS inside a literal: header syntax only.
      obs = true;
    } else if (c < 33 || c === 127) {
      obs = true;
    } else if (c >= 128) {
      sc.fail('err_expecting_dtext');
      return null;
    }
    sc.i++;
  }
  sc.fail('err_unclosed_domain_literal');
  return null;
}

/** IPv4 literal, IPv6 literal, or a general literal (invalid for us). */
function classifyLiteral(sc: Scanner, content: string): boolean {
  if (isIPv4(content)) {
    sc.note('rfc5321_address_literal');
    return true;
  }
  if (content.length >= 5 && content.slice(0, 5).toLowerCase() === 'ipv6:') {
    const d = checkIPv6(content.slice(5));
    if (d !== null) sc.note(d);
    else sc.note('rfc5321_address_literal');
    return true;
  }
  sc.note('rfc5322_domain_literal');
  return true;
}

/** Dotted-quad IPv4 of RFC 5321 §4.1.3 (no leading zeros beyond a single 0). */
export function isIPv4(s: string): boolean {
  let parts = 0;
  let i = 0;
  const n = s.length;
  while (i <= n) {
    let j = i;
    let v = 0;
    while (j < n && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57 && j - i < 4) {
      v = v * 10 + s.charCodeAt(j) - 48;
      j++;
    }
    const len = j - i;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(i) === 48)) return false;
    parts++;
    if (j === n) break;
    if (s.charCodeAt(j) !== 46) return false;
    i = j + 1;
  }
  return parts === 4;
}

/** Validates an IPv6 literal body; returns a diagnosis when it is not plainly valid. */
function checkIPv6(s: string): Diagnosis | null {
  let maxGroups = 8;
  let body = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon !== -1 && isIPv4(s.slice(lastColon + 1))) {
    body = s.slice(0, lastColon + 1) + '0';
    maxGroups = 7;
  }
  const groups = body.split(':');
  const dbl = body.indexOf('::');
  if (dbl !== -1 && body.indexOf('::', dbl + 1) !== -1) return 'rfc5322_ipv6_2x2x_colon';
  for (const g of groups) {
    if (g.length > 4) return 'rfc5322_ipv6_bad_char';
    for (let k = 0; k < g.length; k++) {
      const c = g.charCodeAt(k);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)))
        return 'rfc5322_ipv6_bad_char';
    }
  }
  if (dbl === -1) {
    if (body.startsWith(':')) return 'rfc5322_ipv6_colon_start';
    if (body.endsWith(':')) return 'rfc5322_ipv6_colon_end';
    if (groups.length !== maxGroups) return 'rfc5322_ipv6_group_count';
    return null;
  }
  if (body.startsWith(':') && !body.startsWith('::')) return 'rfc5322_ipv6_colon_start';
  if (body.endsWith(':') && !body.endsWith('::')) return 'rfc5322_ipv6_colon_end';
  // RFC 5321 §4.1.3: '::' stands for at least two groups, so no more than
  // six groups (four beside an IPv4 tail) may be written besides it.
  // (is_email calls seven a deprecated form; the envelope grammar has none.)
  const explicit = groups.filter((g) => g.length > 0).length;
  if (explicit > maxGroups - 2) return 'rfc5322_ipv6_max_groups';
  return null;
}
