import type { MessageDetail, MessageList } from '../../../src/protocol.ts';
import { terminalBlock } from '../../../src/terminal-text.ts';
import { clean, clockTime } from './event-line.ts';
import { renderTable, uniquePrefixes } from './table.ts';

/** Shortest message id shown by `messages list`: 8 hex digits of a random id (32 bits) rarely clash with any other message the sink holds, and `messages get` says so if one does. */
export const SHORT_ID_CHARS = 8;

export interface MessageListFormat {
  utc?: boolean;
  /** Terminal width to fit (null: no limit). */
  width?: number | null;
  /** `-o wide`: full ids, every column, nothing cut. */
  wide?: boolean;
}

/**
 * `messages list` in text mode: one row per message, newest first as the sink
 * returns them. Ids are the shortest prefixes unique among the rows shown
 * (at least SHORT_ID_CHARS), which `messages get` accepts.
 */
export function formatMessageList(list: MessageList, options: MessageListFormat = {}): string {
  if (list.items.length === 0) return `No messages (total ${list.total}).`;
  const wide = options.wide === true;
  const ids = wide
    ? null
    : uniquePrefixes(
        list.items.map((m) => m.id),
        SHORT_ID_CHARS,
      );
  // Wide cells are whole (up to the sanitiser's own bound); otherwise the table cuts them to fit.
  const field = (v: string | null | undefined): string => clean(v);
  const rows = list.items.map((m) => [
    ids?.get(m.id) ?? m.id,
    clockTime(m.time, options.utc),
    field(m.envelope.mailFrom?.address) || '<>',
    field(m.envelope.rcptTo.map((r) => r.address).join(', ')),
    field(m.subject ?? '(no subject)'),
    String(m.size),
  ]);
  const table = renderTable(
    [
      'ID',
      'TIME',
      { header: 'FROM', truncate: true, min: 8 },
      { header: 'TO', truncate: true, min: 10 },
      { header: 'SUBJECT', truncate: true, min: 10 },
      { header: 'SIZE', dropOrder: 1 },
    ],
    rows,
    { width: options.width, wide },
  );
  const shown = list.start + list.items.length;
  const more =
    shown < list.total
      ? `\n(${list.start + 1}-${shown} of ${list.total}; use --start/--limit for more)`
      : '';
  return `${table}${more}`;
}

/** `messages get` in text mode: envelope, headers, analysis summary and the text body. */
export function formatMessageDetail(m: MessageDetail, options: { utc?: boolean } = {}): string {
  const lines: string[] = [];
  const field = (name: string, value: string): void => {
    lines.push(`${`${name}:`.padEnd(14)}${value}`);
  };
  field('ID', m.id);
  field('Time', `${m.time} (${clockTime(m.time, options.utc)})`);
  field(
    'Envelope',
    `${clean(m.envelope.mailFrom?.address) || '<>'} -> ${clean(m.envelope.rcptTo.map((r) => r.address).join(', '))}`,
  );
  field(
    'Client',
    `${m.envelope.clientAddress} helo=${clean(m.envelope.helo)} tls=${m.envelope.tls}${m.envelope.authUser ? ` auth=${clean(m.envelope.authUser)}` : ''}`,
  );
  field('Size', `${m.size} bytes`);
  if (m.parseError) field('Parse error', clean(m.parseError));
  if (m.attachments.length > 0) {
    field(
      'Attachments',
      m.attachments
        .map((a) => `${clean(a.filename) || `#${a.index}`} (${a.contentType}, ${a.size}B)`)
        .join('; '),
    );
  }
  if (m.analysis) {
    const reasons = m.analysis.reasons
      .map((r) => `${r.code}${r.score ? `(+${r.score})` : ''}`)
      .join(', ');
    field('Spam score', `${m.analysis.spamScore}${reasons ? `  ${reasons}` : ''}`);
    field('DKIM', m.analysis.dkim.result);
    field(
      'Unsubscribe',
      m.analysis.listUnsubscribe.present
        ? `yes${m.analysis.listUnsubscribe.oneClick ? ' (one-click)' : ''}`
        : 'no',
    );
  }
  lines.push('', 'Headers:');
  for (const h of m.headers) lines.push(`  ${clean(h.name, 60)}: ${clean(h.value, 200)}`);
  lines.push('');
  // The body is untrusted: keep line breaks and tabs, neutralise other control characters.
  if (m.text !== null) lines.push(terminalBlock(m.text).trimEnd());
  else if (m.html !== null) lines.push('(HTML only; use `messages raw` to see the source)');
  else lines.push('(no text body)');
  return lines.join('\n');
}
