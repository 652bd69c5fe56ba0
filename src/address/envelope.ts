/**
 * The RFC 5321 envelope grammar (with RFC 6531's UTF-8 extension), as a
 * checker: the last gate before an address goes into an SMTP command.
 *
 *   Mailbox        = Local-part "@" ( Domain / address-literal )
 *   Local-part     = Dot-string / Quoted-string
 *   Dot-string     = Atom *("." Atom)            Atom = 1*(atext / UTF8-non-ascii)
 *   Quoted-string  = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE
 *   qtextSMTP      = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
 *   quoted-pairSMTP= "\" %d32-126
 *   Domain         = sub-domain *("." sub-domain)   (LDH labels: we send A-labels only)
 *   address-literal= "[" 1*dcontent "]"             dcontent = %d33-90 / %d94-126
 *
 * Nothing outside it (CR, LF, NUL, any C0 or C1 control, DEL, a lone
 * surrogate, U+FFFD from undecodable input) can pass, so a hostile input line
 * can never add a command to an SMTP dialogue. A linear scan, no regex.
 */

const ATEXT = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) ATEXT[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ATEXT[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) ATEXT[c] = 1;
for (const ch of "!#$%&'*+-/=?^_`{|}~") ATEXT[ch.charCodeAt(0)] = 1;

/**
 * A UTF-8 (RFC 6531) character allowed in an envelope: any scalar value from
 * U+00A0 up, except U+FFFD (what a decoder puts where the input was not
 * UTF-8) and lone surrogates. `i` indexes `s`; returns the UTF-16 units
 * used, or 0 when not allowed.
 */
function utf8NonAscii(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xa0 || c === 0xfffd) return 0;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 2 : 0;
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 0;
  return 1;
}

function dotString(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  let prevDot = true;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (prevDot) return false;
      prevDot = true;
    } else if (c < 128) {
      if (ATEXT[c] !== 1) return false;
      prevDot = false;
    } else {
      const n = utf8NonAscii(s, i);
      if (n === 0) return false;
      i += n - 1;
      prevDot = false;
    }
  }
  return !prevDot;
}

function quotedString(s: string, from: number, to: number): boolean {
  if (to - from < 2 || s.charCodeAt(from) !== 34 || s.charCodeAt(to - 1) !== 34) return false;
  for (let i = from + 1; i < to - 1; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) {
      const q = s.charCodeAt(++i);
      if (i >= to - 1 || q < 32 || q > 126) return false;
    } else if (c === 34) {
      return false;
    } else if (c < 128) {
      if (c < 32 || c === 127) return false;
    } else {
      const n = utf8NonAscii(s, i);
      if (n === 0) return false;
      i += n - 1;
    }
  }
  return true;
}

function ldhDomain(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (i === labelStart || s.charCodeAt(labelStart) === 45 || s.charCodeAt(i - 1) === 45)
        return false;
      labelStart = i + 1;
    } else if (!(
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 45
    )) {
      return false;
    }
  }
  return true;
}

function addressLiteral(s: string, from: number, to: number): boolean {
  if (to - from < 3 || s.charCodeAt(from) !== 91 || s.charCodeAt(to - 1) !== 93) return false;
  for (let i = from + 1; i < to - 1; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126 || c === 91 || c === 92 || c === 93) return false;
  }
  return true;
}

/** True when `mailbox` (no angle brackets) may go into `RCPT TO:<…>` / `MAIL FROM:<…>` as it is. */
export function isEnvelopeMailbox(mailbox: string): boolean {
  const at = mailbox.lastIndexOf('@');
  if (at <= 0 || at === mailbox.length - 1) return false;
  const localOk =
    mailbox.charCodeAt(0) === 34 ? quotedString(mailbox, 0, at) : dotString(mailbox, 0, at);
  if (!localOk) return false;
  return mailbox.charCodeAt(at + 1) === 91
    ? addressLiteral(mailbox, at + 1, mailbox.length)
    : ldhDomain(mailbox, at + 1, mailbox.length);
}

/**
 * True when a whole SMTP command line (without its CRLF) holds no byte that
 * could end or split the command: no C0 control, DEL, C1 control, lone
 * surrogate or U+FFFD. The transport's own last line of defence.
 */
export function isCommandSafe(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 128) {
      if (c < 32 || c === 127) return false;
    } else {
      const n = utf8NonAscii(line, i);
      if (n === 0) return false;
      i += n - 1;
    }
  }
  return true;
}

/** Zero-width, invisible and bidirectional-control characters: never typed on purpose in a mailbox name. */
export function isInvisible(c: number): boolean {
  return (
    c === 0x00a0 ||
    c === 0x00ad ||
    c === 0x034f ||
    c === 0x061c ||
    c === 0x115f ||
    c === 0x1160 ||
    c === 0x17b4 ||
    c === 0x17b5 ||
    c === 0x180e ||
    (c >= 0x200b && c <= 0x200f) ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) ||
    (c >= 0x2066 && c <= 0x206f) ||
    c === 0x3164 ||
    c === 0xfeff ||
    c === 0xffa0 ||
    (c >= 0xfff0 && c <= 0xfff8)
  );
}
