/**
 * The virtualised inbox list: only the rows in view (plus a few) are in the
 * DOM, so 10,000 messages render as fast as 30. Rows have a fixed height.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Row } from './model.ts';
import { formatSize, formatTime } from './format.ts';

const OVERSCAN = 8;

export interface ListProps {
  rows: Row[];
  selected: string | null;
  rowHeight: number;
  onSelect: (key: string) => void;
  onOpen: (key: string) => void;
}

export function VirtualList({ rows, selected, rowHeight, onSelect, onOpen }: ListProps) {
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Keep the selected row in view (keyboard navigation).
  useEffect(() => {
    if (selected === null) return;
    const el = box.current!;
    const index = rows.findIndex((r) => r.key === selected);
    if (index < 0) return;
    const top = index * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight)
      el.scrollTop = top + rowHeight - el.clientHeight;
  }, [selected]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / rowHeight) + OVERSCAN);
  const visible = rows.slice(first, last);

  return (
    <div
      class="list"
      ref={box}
      role="listbox"
      aria-label="Messages"
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div class="list-spacer" style={{ height: `${rows.length * rowHeight}px` }}>
        {visible.map((row, i) => (
          <RowView
            key={row.key}
            row={row}
            top={(first + i) * rowHeight}
            height={rowHeight}
            selected={row.key === selected}
            onSelect={onSelect}
            onOpen={onOpen}
          />
        ))}
      </div>
      {rows.length === 0 && (
        <div class="empty">
          No messages yet. Send mail to the sink's SMTP port and it shows up here.
        </div>
      )}
    </div>
  );
}

function RowView({
  row,
  top,
  height,
  selected,
  onSelect,
  onOpen,
}: {
  row: Row;
  top: number;
  height: number;
  selected: boolean;
  onSelect: (k: string) => void;
  onOpen: (k: string) => void;
}) {
  const common = {
    class: `row${selected ? ' selected' : ''} row-${row.kind}`,
    style: { transform: `translateY(${top}px)`, height: `${height}px` },
    role: 'option' as const,
    'aria-selected': selected,
    'data-key': row.key,
    onClick: () => {
      onSelect(row.key);
      onOpen(row.key);
    },
  };
  if (row.kind !== 'message') {
    const d = row.data;
    return (
      <div {...common}>
        <div class="row-line1">
          <span class={`badge badge-${row.kind}`}>{row.kind}</span>
          <span class="row-from">{d.from ?? '<>'}</span>
          <span class="row-time">{formatTime(row.time)}</span>
        </div>
        <div class="row-line2">
          <span class="row-subject">
            {d.code} {d.enhancedCode ?? ''} {d.text}
          </span>
        </div>
        <div class="row-line3">
          to {d.to ?? '—'} · at {d.stage}
          {d.rule ? ` · rule ${d.rule}` : ''}
        </div>
      </div>
    );
  }
  const m = row.item;
  const recipients = m.to.length > 0 ? m.to : m.envelope.rcptTo.map((r) => r.address);
  return (
    <div {...common}>
      <div class="row-line1">
        <span class="row-from">{m.from ?? m.envelope.mailFrom?.address ?? '<>'}</span>
        {m.attachments && (
          <span class="badge attach" title="has attachments">
            attachment
          </span>
        )}
        <span class="row-time">{formatTime(m.time)}</span>
      </div>
      <div class="row-line2">
        <span class="row-subject">{m.subject ?? '(no subject)'}</span>
      </div>
      <div class="row-line3">
        <span class="row-to">to {recipients.join(', ')}</span>
        <span class="row-badges">
          {row.bounce && <span class="badge badge-bounced">bounced</span>}
          {m.envelope.mailFrom === null && <span class="badge badge-dsn">DSN</span>}
          {m.dkim !== null && m.dkim !== 'none' && (
            <span class={`badge badge-dkim-${m.dkim === 'pass' ? 'pass' : 'fail'}`}>
              DKIM {m.dkim}
            </span>
          )}
          {m.spamScore !== null && (
            <span class={`badge ${m.spamScore >= 5 ? 'badge-spam-high' : 'badge-spam'}`}>
              spam {m.spamScore}
            </span>
          )}
          <span class="row-size">{formatSize(m.size)}</span>
        </span>
      </div>
    </div>
  );
}
