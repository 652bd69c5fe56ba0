/**
 * The part of Mailpit's search syntax (mailpit.axllent.org/docs/usage/search-filters)
 * the sink answers: words and "quoted phrases" anywhere in the message,
 * `from:`, `to:` (To, Cc and envelope recipients), `subject:`, `message-id:`,
 * `tag:` (a recipient's plus-address tag), `is:read`, `is:unread`,
 * `has:attachment`, and `-` before any term to negate it. All terms must
 * match (AND), case-insensitively. Other `prefix:value` terms are refused with
 * a 400 naming them rather than silently matching nothing.
 */
import type { MessageSummary } from '../../../src/protocol.ts';
import { evError } from '../../../src/errors.ts';

/** Longest query accepted; each term is a substring scan over the stored messages. */
export const MAX_MAILPIT_QUERY_LENGTH = 1024;
/** Terms per query. */
export const MAX_MAILPIT_QUERY_TERMS = 32;

export interface SearchTerm {
  field:
    | 'any'
    | 'from'
    | 'to'
    | 'subject'
    | 'message-id'
    | 'tag'
    | 'is:read'
    | 'is:unread'
    | 'has:attachment';
  value: string;
  negate: boolean;
}

const FIELDS = new Set(['from', 'to', 'subject', 'message-id', 'tag']);

/** Splits a query into terms (linear scan, no regular expressions over the input). */
export function parseMailpitQuery(query: string): SearchTerm[] {
  if (query.length > MAX_MAILPIT_QUERY_LENGTH)
    throw evError(
      'EV_ERR_BAD_REQUEST',
      `search query longer than ${MAX_MAILPIT_QUERY_LENGTH} characters`,
    );
  /** `quoteAt`: length of the text where the first quote opened (a colon after it is part of a phrase). */
  const words: Array<{ text: string; quoted: boolean; quoteAt: number }> = [];
  let i = 0;
  while (i < query.length) {
    while (i < query.length && query[i] === ' ') i++;
    if (i >= query.length) break;
    let text = '';
    let quoted = false;
    let quoteAt = Infinity;
    while (i < query.length && query[i] !== ' ') {
      if (query[i] === '"') {
        if (!quoted) quoteAt = text.length;
        quoted = true;
        const end = query.indexOf('"', i + 1);
        const stop = end < 0 ? query.length : end;
        text += query.slice(i + 1, stop);
        i = stop + 1;
      } else {
        text += query[i];
        i++;
      }
    }
    words.push({ text, quoted, quoteAt });
  }
  if (words.length > MAX_MAILPIT_QUERY_TERMS)
    throw evError(
      'EV_ERR_BAD_REQUEST',
      `search query has more than ${MAX_MAILPIT_QUERY_TERMS} terms`,
    );
  const terms: SearchTerm[] = [];
  for (const word of words) {
    let text = word.text;
    let negate = false;
    let quoteAt = word.quoteAt;
    if (text.startsWith('-') && text.length > 1) {
      negate = true;
      text = text.slice(1);
      quoteAt--;
    }
    const lower = text.toLowerCase();
    if (lower === 'is:read' || lower === 'is:unread')
      terms.push({ field: lower, value: '', negate });
    else if (lower === 'has:attachment' || lower === 'has:attachments')
      terms.push({ field: 'has:attachment', value: '', negate });
    else {
      const colon = text.indexOf(':') < quoteAt ? text.indexOf(':') : -1;
      const prefix = colon > 0 ? lower.slice(0, colon) : '';
      if (prefix !== '' && FIELDS.has(prefix))
        terms.push({ field: prefix as SearchTerm['field'], value: lower.slice(colon + 1), negate });
      else if (prefix !== '' && /^[a-z-]+$/.test(prefix)) {
        throw evError(
          'EV_ERR_BAD_REQUEST',
          `the sink does not support the Mailpit search filter ${JSON.stringify(`${prefix}:`)}`,
          {
            hint: 'supported: words, "phrases", from:, to:, subject:, message-id:, tag:, is:read, is:unread, has:attachment, and - to negate',
          },
        );
      } else if (lower !== '') terms.push({ field: 'any', value: lower, negate });
    }
  }
  return terms;
}

export interface SearchSubject {
  summary: MessageSummary;
  /** Lower-cased raw source, computed only when a term needs it. */
  text: () => string;
  read: boolean;
  hasAttachment: () => boolean;
}

const has = (value: string | null | undefined, needle: string) =>
  value != null && value.toLowerCase().includes(needle);

/** True when every term matches. */
export function matchesMailpitQuery(terms: readonly SearchTerm[], m: SearchSubject): boolean {
  for (const t of terms) {
    const s = m.summary;
    let hit: boolean;
    switch (t.field) {
      case 'from':
        hit = has(s.from, t.value) || has(s.envelope.mailFrom?.address, t.value);
        break;
      case 'to':
        hit =
          s.to.some((x) => has(x, t.value)) ||
          s.envelope.rcptTo.some((r) => has(r.address, t.value));
        break;
      case 'subject':
        hit = has(s.subject, t.value);
        break;
      case 'message-id':
        hit = has(s.messageId, t.value);
        break;
      case 'tag':
        hit = s.envelope.rcptTo.some((r) => r.tag !== null && r.tag.toLowerCase() === t.value);
        break;
      case 'is:read':
        hit = m.read;
        break;
      case 'is:unread':
        hit = !m.read;
        break;
      case 'has:attachment':
        hit = m.hasAttachment();
        break;
      default:
        hit = m.text().includes(t.value);
    }
    if (hit === t.negate) return false;
  }
  return true;
}
