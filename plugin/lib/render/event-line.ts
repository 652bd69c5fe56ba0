import { terminalLine } from '../../../src/terminal-text.ts';
import type { EnvelopeAddress, RejectionData, SinkEvent } from '../../../src/protocol.ts';
import { plain, type Paint, type Style } from './color.ts';
import { fitToWidth } from './fit.ts';

export interface EventLineOptions {
  paint?: Paint;
  /** Prefix (e.g. the pod name) when several sinks are merged. */
  source?: string;
  /** Print times in UTC instead of the local zone (tests, CI logs). */
  utc?: boolean;
  /**
   * Fit the line to this many columns (`sink` on a terminal): the size and id
   * go first, then from, to and subject are cut with `…`, widest first.
   */
  width?: number | null;
}

/** Longest subject / text shown on one line before it is cut with an ellipsis. */
export const MAX_FIELD_CHARS = 120;

/** Fixed-width verdict column so that lines align like a log. */
const VERDICTS: Readonly<Record<string, { label: string; style: Style | readonly Style[] }>> =
  Object.freeze({
    'message.received': { label: 'RECEIVED', style: 'green' },
    'message.rejected': { label: 'REJECTED', style: ['red', 'bold'] },
    'message.deferred': { label: 'DEFERRED', style: ['yellow', 'bold'] },
    'message.bounced': { label: 'BOUNCED', style: ['magenta', 'bold'] },
    'message.analyzed': { label: 'ANALYZED', style: 'cyan' },
    'message.evicted': { label: 'EVICTED', style: 'gray' },
    'message.deleted': { label: 'DELETED', style: 'gray' },
    'messages.cleared': { label: 'CLEARED', style: 'gray' },
    'rules.updated': { label: 'RULES', style: 'blue' },
    'webhook.sent': { label: 'WEBHOOK', style: 'blue' },
    'auth.failed': { label: 'AUTHFAIL', style: ['red', 'bold'] },
    'message.released': { label: 'RELEASED', style: 'blue' },
    gap: { label: 'GAP', style: ['yellow', 'bold'] },
  });
const VERDICT_WIDTH = 8;

const SOURCE_STYLES: readonly Style[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `HH:MM:SS.mmm` of an ISO time, or the text itself when it is not a date. */
export function clockTime(iso: string, utc = false): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const [h, m, s, ms] = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${String(ms).padStart(3, '0')}`;
}

/** One line of untrusted text for the terminal (src/terminal-text.ts), cut to `max` characters. */
export function clean(text: string | null | undefined, max = MAX_FIELD_CHARS): string {
  return terminalLine(text, { max });
}

function addr(a: EnvelopeAddress | null | undefined): string {
  return a ? clean(a.address) || '<>' : '<>';
}

function recipients(list: readonly EnvelopeAddress[]): string {
  if (list.length === 0) return '(none)';
  const shown = list
    .slice(0, 3)
    .map((r) => clean(r.address))
    .join(', ');
  return list.length > 3 ? `${shown} +${list.length - 3}` : shown;
}

function quoted(subject: string | null | undefined): string {
  return subject === null || subject === undefined ? '(no subject)' : `"${clean(subject)}"`;
}

function reply(d: RejectionData): string {
  return [String(d.code), d.enhancedCode ?? '', clean(d.text)].filter(Boolean).join(' ');
}

/** `from -> to  detail` plus `extra` (with its own leading spaces) of the events about one message's delivery; null for the others. */
function deliveryParts(
  event: SinkEvent,
  paint: Paint,
): { from: string; to: string; detail: string; extra: string } | null {
  switch (event.type) {
    case 'message.received': {
      const m = event.data;
      return {
        from: addr(m.envelope.mailFrom),
        to: recipients(m.envelope.rcptTo),
        detail: quoted(m.subject),
        extra: `  ${paint('dim', `${m.size}B id=${m.id}`)}`,
      };
    }
    case 'message.rejected':
    case 'message.deferred': {
      const d = event.data;
      return {
        from: clean(d.from) || '<>',
        to: clean(d.to) || '(none)',
        detail: `${reply(d)} at ${d.stage}`,
        extra: d.rule ? paint('dim', ` rule=${clean(d.rule)}`) : '',
      };
    }
    case 'message.bounced': {
      const d = event.data;
      return {
        from: clean(d.sender) || '<>',
        to: clean(d.recipient),
        detail: `${clean(d.status)} ${clean(d.diagnostic)}`,
        extra: `  ${paint('dim', `id=${d.messageId} dsn=${d.dsnId}`)}`,
      };
    }
    default:
      return null;
  }
}

/** Narrowest a cut address or subject gets when a line is fitted to a width: `…` plus a few characters still hint at it. */
const MIN_FITTED_FIELD = 8;

/**
 * Cuts from, to and detail (widest first, down to MIN_FITTED_FIELD) so that
 * `from -> to  detail` takes at most `room` characters.
 */
function fitParts(parts: string[], room: number): string[] {
  const lengths = parts.map((p) => Array.from(p).length);
  const sep = 4 + 2; // ' -> ' and two spaces
  let excess = lengths.reduce((a, b) => a + b, 0) + sep - room;
  while (excess > 0) {
    let pick = -1;
    for (let i = 0; i < lengths.length; i++)
      if (lengths[i] > MIN_FITTED_FIELD && (pick < 0 || lengths[i] > lengths[pick])) pick = i;
    if (pick < 0) break;
    lengths[pick]--;
    excess--;
  }
  return parts.map((p, i) => {
    const c = Array.from(p);
    return c.length > lengths[i] ? `${c.slice(0, lengths[i] - 1).join('')}…` : p;
  });
}

/** The part of the line after the verdict, per event type. */
function body(event: SinkEvent, paint: Paint, room: number | null = null): string {
  const parts = deliveryParts(event, paint);
  if (parts) {
    const whole = `${parts.from} -> ${parts.to}  ${parts.detail}${parts.extra}`;
    if (room === null || Array.from(whole).length <= room) return whole;
    const [from, to, detail] = fitParts([parts.from, parts.to, parts.detail], room);
    return `${from} -> ${to}  ${detail}`;
  }
  switch (event.type) {
    case 'message.analyzed': {
      const d = event.data;
      const codes = d.analysis.reasons.filter((r) => r.score > 0).map((r) => r.code);
      const extra = d.parseError ? `  parse error: ${clean(d.parseError)}` : '';
      return `id=${d.id}  spam score ${d.analysis.spamScore}${codes.length ? ` (${codes.slice(0, 5).join(', ')})` : ''}  dkim ${d.analysis.dkim.result}${extra}`;
    }
    case 'message.evicted': {
      const d = event.data;
      return `id=${d.id}  store full (${d.reason})`;
    }
    case 'message.deleted':
      return `id=${event.data.id}`;
    case 'messages.cleared':
      return `${event.data.count} message(s) removed`;
    case 'rules.updated':
      return `${event.data.count} rule(s) active`;
    case 'webhook.sent': {
      const d = event.data;
      return `${clean(d.url)} ${d.format} -> ${d.error ? `error: ${clean(d.error)}` : String(d.status)}  id=${d.messageId}`;
    }
    case 'auth.failed': {
      const d = event.data;
      return `user ${JSON.stringify(clean(d.user, 60))} ${d.mechanism} from ${clean(d.clientAddress)}  attempt ${d.attempt}${d.disconnected ? '  (session closed: too many failures)' : ''}`;
    }
    case 'message.released': {
      const d = event.data;
      return `id=${d.id} -> ${clean(d.host)}:${d.port} ${d.to.map(clean).join(', ')} ${d.outcome}${d.error ? `: ${clean(d.error)}` : ''}`;
    }
    case 'gap': {
      const d = event.data;
      return `${d.missed} event(s) lost (seq ${d.from}..${d.to}) — the sink no longer retains them`;
    }
    default:
      return clean(JSON.stringify(event.data));
  }
}

/** Stable colour for a source name, so each pod keeps its colour across lines. */
function sourceStyle(source: string): Style {
  let h = 0;
  for (const ch of source) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return SOURCE_STYLES[h % SOURCE_STYLES.length];
}

/**
 * One terminal line for one event: `time  VERDICT  from -> to  subject …`.
 * Rejections, deferrals, bounces and gaps are bold and coloured when colour is on.
 */
export function formatEventLine(event: SinkEvent, options: EventLineOptions = {}): string {
  const paint = options.paint ?? plain;
  const verdict = VERDICTS[event.type] ?? {
    label: String(event.type).toUpperCase(),
    style: 'gray',
  };
  const prefix = options.source ? `${paint(sourceStyle(options.source), options.source)} ` : '';
  const time = clockTime(event.time, options.utc);
  const width = options.width ?? null;
  const head =
    Array.from(prefix.length > 0 ? `${options.source} ` : '').length +
    time.length +
    2 +
    VERDICT_WIDTH +
    2;
  const line = `${prefix}${paint('dim', time)}  ${paint(verdict.style, verdict.label.padEnd(VERDICT_WIDTH))}  ${body(event, paint, width === null ? null : width - head)}`;
  // Whatever still overflows (a narrow terminal, other event types) is cut at the end.
  return width === null ? line : fitToWidth(line, width);
}

/** The stderr warning printed for a gap in text mode. */
export function formatGapWarning(event: SinkEvent<'gap'>, source?: string): string {
  const where = source ? ` from ${source}` : '';
  return `warning: ${event.data.missed} event(s)${where} were lost (seq ${event.data.from}..${event.data.to}): they fell out of the sink's retained window`;
}
