/**
 * Untrusted text (mail subjects, addresses, headers, bodies, SMTP replies) on
 * a terminal. A crafted message must not drive the terminal (ESC sequences, a
 * bare CR rewriting the line) nor reorder what is shown (the bidi controls of
 * "Trojan Source", CVE-2021-42574), so every renderer goes through here.
 */

/**
 * C0 controls, DEL, C1 controls, and the bidi controls: the Arabic letter
 * mark, LRM/RLM, the embeddings and overrides (U+202A-U+202E) and the
 * isolates (U+2066-U+2069).
 */
// eslint-disable-next-line no-control-regex -- a terminal sanitiser matches control characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as UNSAFE
const UNSAFE_RUNS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;

const UNSAFE_BUT_LAYOUT =
  // eslint-disable-next-line no-control-regex -- as UNSAFE
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export interface TerminalLineOptions {
  /** Longest result in characters; longer text is cut and ends with `…`. */
  max?: number;
  /**
   * `space` (default): each run of unsafe characters becomes one space.
   * `escape`: each shows as `\uXXXX`, so a report says what arrived; newlines and tabs still become spaces.
   */
  show?: 'space' | 'escape';
}

/** Text for one terminal line: nothing in it can move the cursor, change colours or reorder characters. */
export function terminalLine(
  text: string | null | undefined,
  options: TerminalLineOptions = {},
): string {
  if (text === null || text === undefined) return '';
  const safe =
    options.show === 'escape'
      ? text
          .replace(/[\n\t]/g, ' ')
          .replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : text.replace(UNSAFE_RUNS, ' ');
  const max = options.max ?? Number.POSITIVE_INFINITY;
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

/** Text for several terminal lines (a message body): newlines (CRLF too) and tabs stay, anything else unsafe becomes U+FFFD. */
export function terminalBlock(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(UNSAFE_BUT_LAYOUT, '\ufffd');
}
