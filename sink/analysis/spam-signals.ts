/**
 * Spam signals: a handful of transparent heuristics, each with a stable code
 * and a fixed number of points. This is NOT a spam filter and predicts no
 * mailbox provider's verdict; it flags what commonly hurts deliverability so
 * a flow can assert "score at most N" and a reader can see why.
 *
 * Codes are permanent (flows and scripts match on them); the README lists them.
 */
import type { AnalysisReason, DkimResult } from '../../src/protocol.ts';
import type { RequiredHeaders } from './headers.ts';
import { hostOf } from './links.ts';
import type { ListUnsubscribe } from './unsubscribe.ts';

/** Characters of the text body scanned for phrases and exclamation marks. */
export const MAX_SIGNAL_SCAN_CHARS = 256 * 1024;
/** Points at most from suspicious phrases, however many match. */
export const MAX_PHRASE_POINTS = 3;
/** A Date header further in the future than this is flagged (clock skew between hosts is minutes). */
export const FUTURE_DATE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/** Reason codes with their points; `score` of a reason comes from here. */
export const REASON_POINTS = Object.freeze({
  'missing-from': 3,
  'missing-date': 1,
  'missing-message-id': 1,
  'invalid-date': 1,
  'future-date': 1,
  'missing-subject': 0.5,
  'empty-body': 1,
  'html-only': 1,
  'all-caps-subject': 1.5,
  'excessive-exclamation': 1,
  'suspicious-phrases': 1,
  'url-shortener': 1,
  'ip-address-link': 1.5,
  'mismatched-link-text': 2,
  'no-list-unsubscribe': 1.5,
  'one-click-not-https': 0.5,
  'one-click-incomplete': 0.5,
  'one-click-not-dkim-covered': 0.5,
  'dkim-fail': 2,
  'no-dkim': 0.5,
  'dkim-body-length': 0,
  'mime-parse-error': 1,
  'analysis-truncated': 0,
} as const);

export type ReasonCode = keyof typeof REASON_POINTS;

/** Hosts of common URL shorteners: a shortened link hides its destination. */
export const URL_SHORTENERS: ReadonlySet<string> = new Set([
  'bit.ly',
  'tinyurl.com',
  't.co',
  'goo.gl',
  'ow.ly',
  'is.gd',
  'buff.ly',
  'rebrand.ly',
  'cutt.ly',
  'shorturl.at',
  'rb.gy',
  't.ly',
  'tiny.cc',
  'bl.ink',
  'lnkd.in',
  'short.io',
  's.id',
  'v.gd',
  'qr.ae',
  'adf.ly',
]);

/** Phrases that content filters have long scored; matched case-insensitively on word boundaries. */
export const SUSPICIOUS_PHRASES: readonly string[] = Object.freeze([
  'act now',
  'limited time',
  'click here',
  'buy now',
  'order now',
  '100% free',
  'risk-free',
  'risk free',
  'no credit check',
  'winner',
  'you have been selected',
  'congratulations',
  'cash bonus',
  'double your',
  'earn money',
  'make money fast',
  'urgent',
  'wire transfer',
  'verify your account',
  'viagra',
  'free gift',
  'guaranteed',
  'miracle',
  'once in a lifetime',
  'special promotion',
  'this is not spam',
  'crypto giveaway',
]);

const PHRASE_RE = new RegExp(
  `\\b(?:${SUSPICIOUS_PHRASES.map((p) => p.replace(/[.*+?^${}()|[\]\\%]/g, '\\$&')).join('|')})\\b`,
  'gi',
);

export interface SignalInput {
  required: RequiredHeaders;
  subject: string | null;
  /** Raw Date header value, or null. */
  date: string | null;
  text: string | null;
  html: string | null;
  /** A text/plain part exists (mailparser derives `text` from HTML, so this comes from the MIME headers). */
  hasText: boolean;
  hasHtml: boolean;
  links: readonly string[];
  mismatchedLinks: ReadonlyArray<{ href: string; text: string }>;
  listUnsubscribe: ListUnsubscribe;
  /** The message looks like bulk mail (List-Id, Precedence: bulk/list, an unsubscribe link...). */
  bulk: boolean;
  dkim: DkimResult;
  /** One-click headers covered by a passing DKIM signature. */
  oneClickDkimCovered: boolean;
  /** A passing signature uses l= (the body past l= could be anything). */
  dkimBodyLength: boolean;
  parseError: boolean;
  truncated: boolean;
  now: Date;
}

export function reason(code: ReasonCode, message: string): AnalysisReason {
  return { code, score: REASON_POINTS[code], message };
}

/** Evaluates every heuristic; returns the reasons in a fixed order and the summed score. */
export function spamSignals(input: SignalInput): { score: number; reasons: AnalysisReason[] } {
  const reasons: AnalysisReason[] = [];
  const add = (code: ReasonCode, message: string, score?: number): void => {
    reasons.push(score === undefined ? reason(code, message) : { code, score, message });
  };

  if (!input.required.from) add('missing-from', 'no From header (RFC 5322 requires it)');
  if (!input.required.date) add('missing-date', 'no Date header (RFC 5322 requires it)');
  else if (input.date !== null) {
    const t = Date.parse(input.date);
    if (Number.isNaN(t)) add('invalid-date', 'the Date header is not a valid date');
    else if (t - input.now.getTime() > FUTURE_DATE_TOLERANCE_MS)
      add('future-date', 'the Date header is more than a day in the future');
  }
  if (!input.required.messageId) add('missing-message-id', 'no Message-ID header');
  if (input.parseError) add('mime-parse-error', 'the MIME structure could not be parsed');

  const subject = input.subject?.trim() ?? '';
  if (subject === '') add('missing-subject', 'no Subject or an empty one');
  const letters = subject.replace(/[^\p{L}]/gu, '');
  if (
    letters.length >= 8 &&
    letters === letters.toUpperCase() &&
    letters !== letters.toLowerCase()
  ) {
    add('all-caps-subject', 'the Subject is written in capitals');
  }

  const text = (input.text ?? '').slice(0, MAX_SIGNAL_SCAN_CHARS);
  const htmlText = (input.html ?? '').slice(0, MAX_SIGNAL_SCAN_CHARS);
  const hasText = input.hasText && text.trim() !== '';
  const hasHtml = input.hasHtml && htmlText.trim() !== '';
  if (!hasText && !hasHtml) add('empty-body', 'neither a text nor an HTML body');
  else if (hasHtml && !hasText) add('html-only', 'HTML without a plain-text alternative');

  const bangs = (subject.match(/!/g)?.length ?? 0) + (text.match(/!{2,}/g)?.length ?? 0);
  if ((subject.match(/!/g)?.length ?? 0) >= 2 || /!{3,}/.test(subject) || bangs >= 5) {
    add('excessive-exclamation', 'many exclamation marks in the Subject or body');
  }

  const haystack = `${subject}\n${text || htmlText}`;
  const phrases = new Set<string>();
  PHRASE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PHRASE_RE.exec(haystack)) !== null && phrases.size < 20)
    phrases.add(m[0].toLowerCase());
  if (phrases.size > 0) {
    add(
      'suspicious-phrases',
      `phrases often used in spam: ${[...phrases].slice(0, 5).join(', ')}`,
      Math.min(MAX_PHRASE_POINTS, phrases.size * REASON_POINTS['suspicious-phrases']),
    );
  }

  const shortened = input.links.filter((l) => {
    const host = hostOf(l);
    return host !== null && URL_SHORTENERS.has(host.replace(/^www\./, ''));
  });
  if (shortened.length > 0)
    add('url-shortener', `links through a URL shortener hide their target (${shortened[0]})`);
  const ipLinks = input.links.filter((l) => {
    const host = hostOf(l);
    return host !== null && (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.startsWith('['));
  });
  if (ipLinks.length > 0) add('ip-address-link', `links to a bare IP address (${ipLinks[0]})`);
  if (input.mismatchedLinks.length > 0) {
    const first = input.mismatchedLinks[0];
    add(
      'mismatched-link-text',
      `a link shows "${first.text}" but goes to ${hostOf(first.href) ?? first.href}`,
    );
  }

  const lu = input.listUnsubscribe;
  if (input.bulk && !lu.present)
    add(
      'no-list-unsubscribe',
      'looks like bulk mail but has no List-Unsubscribe header (RFC 2369, RFC 8058)',
    );
  if (lu.postHeader) {
    if (!lu.postValid)
      add(
        'one-click-incomplete',
        'List-Unsubscribe-Post must be exactly "List-Unsubscribe=One-Click" (RFC 8058)',
      );
    else if (!lu.present)
      add(
        'one-click-incomplete',
        'List-Unsubscribe-Post without a List-Unsubscribe header (RFC 8058)',
      );
    else if (!lu.hasHttps)
      add(
        'one-click-not-https',
        'one-click unsubscribe needs an https URI in List-Unsubscribe (RFC 8058)',
      );
    if (lu.oneClick && !input.oneClickDkimCovered) {
      add(
        'one-click-not-dkim-covered',
        'List-Unsubscribe and List-Unsubscribe-Post are not both covered by a passing DKIM signature (RFC 8058 section 4)',
      );
    }
  }

  if (input.dkim === 'fail') add('dkim-fail', 'a DKIM signature failed verification');
  else if (input.dkim === 'none') add('no-dkim', 'the message is not DKIM-signed');
  if (input.dkimBodyLength)
    add('dkim-body-length', 'a DKIM signature uses l=: content past that length is unsigned');
  if (input.truncated)
    add(
      'analysis-truncated',
      'the message exceeded an analysis bound; part of it was not examined',
    );

  const score = Math.round(reasons.reduce((sum, r) => sum + r.score, 0) * 10) / 10;
  return { score, reasons };
}
