/**
 * Message analysis: required headers, List-Unsubscribe / one-click, DKIM,
 * links, text/HTML parts and spam signals. Heuristics, not a spam filter.
 *
 * `analyzeMessage` never throws: every input is treated as hostile, every scan
 * is bounded by a named constant (see each module), and an unexpected failure
 * yields a conservative analysis with an `analysis-truncated` reason instead
 * of an exception.
 */
import type { ParsedBodies } from '../plain-text-parse.ts';
import type { MessageAnalysis } from '../../src/protocol.ts';
import { verifyDkim, type DkimResolver, type DkimVerdict } from './dkim.ts';
import {
  headerText,
  lastHeader,
  MAX_HEADER_VALUE_CHARS,
  requiredHeaders,
  splitMessage,
  type RawHeader,
} from './headers.ts';
import { extractLinks, MAX_LINK_SCAN_CHARS } from './links.ts';
import { reason, spamSignals } from './spam-signals.ts';
import { analyzeListUnsubscribe } from './unsubscribe.ts';

export type { DkimResolver } from './dkim.ts';
export {
  defaultDkimResolver,
  MAX_DKIM_SIGNATURES,
  DKIM_DNS_TIMEOUT_MS,
  MAX_DKIM_BODY_BYTES,
} from './dkim.ts';
export { MAX_LINKS } from './links.ts';
export { REASON_POINTS, type ReasonCode } from './spam-signals.ts';

export interface AnalyzeOptions {
  /** TXT resolver for DKIM keys; default node:dns with a short timeout. */
  dkimResolver?: DkimResolver;
  /** Clock for x= expiry and Date checks. */
  now?: () => Date;
  /** Per-lookup DKIM key timeout in ms (default {@link DKIM_DNS_TIMEOUT_MS}). */
  dkimTimeoutMs?: number;
}

/** Bytes of the raw body scanned for parts and links when the MIME parse failed. */
export const MAX_RAW_BODY_SCAN_BYTES = MAX_LINK_SCAN_CHARS;

/**
 * Analyses one message. `parsed` is mailparser's result, or null when the MIME
 * parse failed: then parts and links are estimated from the raw bytes.
 */
export async function analyzeMessage(
  raw: Buffer,
  parsed: ParsedBodies | null,
  options: AnalyzeOptions = {},
): Promise<MessageAnalysis> {
  const now = options.now ?? (() => new Date());
  try {
    return await analyze(raw, parsed, options, now);
  } catch (err) {
    // Defensive: nothing above should throw, but a crafted message must never take the sink down.
    return fallbackAnalysis(err);
  }
}

async function analyze(
  raw: Buffer,
  parsed: ParsedBodies | null,
  options: AnalyzeOptions,
  now: () => Date,
): Promise<MessageAnalysis> {
  const split = splitMessage(raw);
  const headers = split.headers;
  const required = requiredHeaders(headers);
  const listUnsubscribe = analyzeListUnsubscribe(headers);

  let dkim: DkimVerdict;
  try {
    dkim = await verifyDkim(raw, headers, split.bodyOffset, {
      resolver: options.dkimResolver,
      now,
      timeoutMs: options.dkimTimeoutMs,
    });
  } catch {
    dkim = { result: 'permerror', signatures: [], skipped: 0 };
  }

  const { text, html, truncatedBody } = bodies(raw, parsed, split.bodyOffset, headers);
  const hasText =
    text !== null && text.trim() !== '' && hasTextPart(raw, split.bodyOffset, headers);
  const hasHtml = html !== null && html.trim() !== '';
  const scan = extractLinks(text, html);

  const passing = dkim.signatures.filter((s) => s.result === 'pass');
  const oneClickDkimCovered = passing.some(
    (s) =>
      s.signedHeaders?.includes('list-unsubscribe') === true &&
      s.signedHeaders.includes('list-unsubscribe-post'),
  );
  const subjectHeader = lastHeader(headers, 'subject');
  const subject = parsed?.subject ?? (subjectHeader ? headerText(subjectHeader.value) : null);
  const dateHeader = lastHeader(headers, 'date');
  const signals = spamSignals({
    required,
    subject: subject === null ? null : subject.slice(0, MAX_HEADER_VALUE_CHARS),
    date: dateHeader ? dateHeader.value.slice(0, 200) : null,
    text,
    html,
    hasText,
    hasHtml,
    links: scan.links,
    mismatchedLinks: scan.mismatched,
    listUnsubscribe,
    bulk: looksBulk(headers, text, html),
    dkim: dkim.result,
    oneClickDkimCovered,
    dkimBodyLength: passing.some((s) => s.bodyLength !== undefined),
    parseError: parsed === null,
    truncated: split.truncated || scan.truncated || truncatedBody || dkim.skipped > 0,
    now: now(),
  });

  return {
    requiredHeaders: required,
    listUnsubscribe: {
      present: listUnsubscribe.present,
      oneClick: listUnsubscribe.oneClick,
      urls: listUnsubscribe.urls,
      mailto: listUnsubscribe.mailto,
      oneClickDkimCovered: listUnsubscribe.oneClick && oneClickDkimCovered,
    },
    dkim: { result: dkim.result, signatures: dkim.signatures },
    links: scan.links,
    hasText,
    hasHtml,
    spamScore: signals.score,
    reasons: signals.reasons,
  };
}

/** Text and HTML bodies: from mailparser when it succeeded, otherwise guessed from the raw bytes. */
function bodies(
  raw: Buffer,
  parsed: ParsedBodies | null,
  bodyOffset: number,
  headers: readonly RawHeader[],
): { text: string | null; html: string | null; truncatedBody: boolean } {
  if (parsed) {
    const text = typeof parsed.text === 'string' ? parsed.text : null;
    const html = typeof parsed.html === 'string' ? parsed.html : null;
    return { text, html, truncatedBody: false };
  }
  const end = Math.min(raw.length, bodyOffset + MAX_RAW_BODY_SCAN_BYTES);
  const body = bodyOffset < raw.length ? raw.toString('utf8', bodyOffset, end) : '';
  const truncatedBody = raw.length > end;
  const contentType = lastHeader(headers, 'content-type')?.value.toLowerCase() ?? 'text/plain';
  // Without a MIME tree, look for part headers in the body to tell which kinds are there.
  const htmlPart = contentType.startsWith('text/html') || /content-type:\s*text\/html/i.test(body);
  const textPart =
    contentType.startsWith('text/plain') || /content-type:\s*text\/plain/i.test(body);
  return {
    text: textPart ? body : null,
    html: htmlPart ? body : null,
    truncatedBody,
  };
}

/**
 * Whether the message has a text/plain part. mailparser fills `text` from the
 * HTML when there is none, so this reads the MIME headers: the top-level type
 * (absent means text/plain) or a part header within the scanned bytes.
 */
function hasTextPart(raw: Buffer, bodyOffset: number, headers: readonly RawHeader[]): boolean {
  const top = lastHeader(headers, 'content-type')?.value.trim().toLowerCase();
  if (top === undefined || top === '' || top.startsWith('text/plain')) return true;
  if (!top.startsWith('multipart/')) return false;
  const end = Math.min(raw.length, bodyOffset + MAX_RAW_BODY_SCAN_BYTES);
  return /^content-type:[ \t]*text\/plain/im.test(
    raw.toString('latin1', Math.min(bodyOffset, raw.length), end),
  );
}

/** Bulk-looking mail: list headers, bulk precedence, campaign headers, or an unsubscribe link in the body. */
function looksBulk(
  headers: readonly RawHeader[],
  text: string | null,
  html: string | null,
): boolean {
  for (const h of headers) {
    if (
      h.key === 'list-id' ||
      h.key === 'feedback-id' ||
      h.key.startsWith('x-campaign') ||
      h.key === 'x-mailer-campaign'
    )
      return true;
    if (h.key === 'precedence' && /^(bulk|list|junk)$/i.test(h.value.trim())) return true;
  }
  const sample = `${(text ?? '').slice(0, 64 * 1024)}\n${(html ?? '').slice(0, 64 * 1024)}`;
  return /\bunsubscribe\b/i.test(sample);
}

function fallbackAnalysis(err: unknown): MessageAnalysis {
  return {
    requiredHeaders: { from: false, date: false, messageId: false },
    listUnsubscribe: { present: false, oneClick: false, urls: [], mailto: [] },
    dkim: { result: 'permerror', signatures: [] },
    links: [],
    hasText: false,
    hasHtml: false,
    spamScore: 0,
    reasons: [
      reason('analysis-truncated', `analysis failed: ${err instanceof Error ? err.name : 'error'}`),
    ],
  };
}
