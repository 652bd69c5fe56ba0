/**
 * The full MIME parse (mailparser) and the analysis of one message. Runs in
 * the parse worker (parse-worker.ts) for the ingest path, or inline when a
 * caller injects collaborators a worker cannot receive (a DKIM resolver).
 *
 * Broken MIME never throws out of here: the error is returned as `parseError`
 * and whatever could be parsed is used.
 */
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import type { AttachmentMeta, MessageAnalysis } from '../src/protocol.ts';
import { decodeEncodedWords } from './message-headers.ts';
import { mailpitSnippet } from './snippet.ts';
import { parsePlainText } from './plain-text-parse.ts';
import type { ParsedBodies } from './plain-text-parse.ts';

/** HTML larger than this is not converted to text (the conversion is superlinear on hostile input). */
export const MAX_HTML_TO_PARSE = 2 * 1024 * 1024;
/** Header lines returned in a detail; the rest of a 10,000-header message stays in the raw source. */
export const MAX_DETAIL_HEADERS = 2000;
/**
 * Characters of text and of HTML returned in a detail view. A 24 MiB text body
 * made a 50 MB string, a JSON copy of it and a response buffer, in a 256 MiB
 * heap, for every view; the whole message stays at /raw.
 */
export const MAX_DETAIL_BODY_CHARS = 1024 * 1024;

/** The analysis of one message given what the parse found (mailparser's ParsedMail, or the plain-text fast path's equal result). */
export type Analyzer = (raw: Buffer, parsed: ParsedBodies | null) => Promise<MessageAnalysis>;

export interface ParsedParts {
  parseError: string | null;
  headers: Array<{ name: string; value: string }>;
  text: string | null;
  html: string | null;
  attachments: AttachmentMeta[];
  /** text or html was cut at MAX_DETAIL_BODY_CHARS. */
  truncated?: boolean;
}

function cut(body: string | null): { value: string | null; cut: boolean } {
  if (body === null || body.length <= MAX_DETAIL_BODY_CHARS) return { value: body, cut: false };
  // A flat copy: a slice would keep the whole parsed body alive.
  return {
    value: Buffer.from(body.slice(0, MAX_DETAIL_BODY_CHARS), 'utf8').toString('utf8'),
    cut: true,
  };
}

export interface AnalyzedParts {
  parseError: string | null;
  analysis: MessageAnalysis | null;
  analysisError: string | null;
}

async function parse(
  raw: Buffer,
): Promise<{ parsed: ParsedMail | null; parseError: string | null }> {
  try {
    const parsed = await simpleParser(raw, {
      skipImageLinks: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: MAX_HTML_TO_PARSE,
    });
    return { parsed, parseError: null };
  } catch (err) {
    return { parsed: null, parseError: oneLine(err) };
  }
}

/** The parts of a detail view: decoded headers, bodies, attachment metadata. */
export async function parseParts(raw: Buffer): Promise<ParsedParts> {
  const { parsed, parseError } = await parse(raw);
  if (parsed === null) return { parseError, headers: [], text: null, html: null, attachments: [] };
  return { parseError, ...partsOf(parsed) };
}

/** Mailpit's `Snippet` of a message ('' when it cannot be parsed). */
export async function parseSnippet(raw: Buffer): Promise<string> {
  const { parsed } = await parse(raw);
  if (parsed === null) return '';
  return mailpitSnippet(
    typeof parsed.text === 'string' ? parsed.text : null,
    typeof parsed.html === 'string' ? parsed.html : null,
  );
}

/** One attachment's content, or undefined when there is no such index. */
export async function parseAttachment(
  raw: Buffer,
  index: number,
): Promise<{ meta: AttachmentMeta; content: Buffer } | undefined> {
  const { parsed } = await parse(raw);
  const att = parsed?.attachments[index];
  if (att === undefined) return undefined;
  return { meta: attachmentMeta(att, index), content: Buffer.from(att.content) };
}

/**
 * Parses, then runs the analysis (the analysis engineer's analyzeMessage). A
 * single-part ASCII/UTF-8 text message skips mailparser: its text, HTML and
 * subject come from sink/plain-text-parse.ts, equal to mailparser's.
 */
export async function analyzeParts(raw: Buffer, analyze: Analyzer): Promise<AnalyzedParts> {
  const fast = parsePlainText(raw);
  const { parsed, parseError }: { parsed: ParsedBodies | null; parseError: string | null } =
    fast !== null ? { parsed: fast, parseError: null } : await parse(raw);
  try {
    return { parseError, analysis: await analyze(raw, parsed), analysisError: null };
  } catch (err) {
    return { parseError, analysis: null, analysisError: oneLine(err) };
  }
}

function partsOf(parsed: ParsedMail): Omit<ParsedParts, 'parseError'> {
  const headers = parsed.headerLines.slice(0, MAX_DETAIL_HEADERS).map((h) => {
    const colon = h.line.indexOf(':');
    const name = colon < 0 ? h.key : h.line.slice(0, colon).trim();
    const value =
      colon < 0
        ? ''
        : h.line
            .slice(colon + 1)
            .replace(/\r?\n[ \t]+/g, ' ')
            .trim();
    return { name, value: decodeEncodedWords(value) };
  });
  const text = cut(typeof parsed.text === 'string' ? parsed.text : null);
  const html = cut(typeof parsed.html === 'string' ? parsed.html : null);
  return {
    headers,
    text: text.value,
    html: html.value,
    attachments: parsed.attachments.map((a, i) => attachmentMeta(a, i)),
    ...(text.cut || html.cut ? { truncated: true } : {}),
  };
}

function attachmentMeta(a: ParsedMail['attachments'][number], index: number): AttachmentMeta {
  return {
    index,
    filename: a.filename ?? null,
    contentType: a.contentType,
    size: a.size,
    contentId: a.cid ?? null,
    disposition: a.contentDisposition ?? null,
    checksum: a.checksum ?? null,
  };
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].slice(0, 500);
}
