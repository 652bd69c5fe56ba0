/** The events timeline: what the sink did, newest first, from history and the live feed. */
import { useState } from 'preact/hooks';
import type { SinkEvent } from '../../../src/protocol.ts';
import { formatTime } from './format.ts';

const PAGE = 300;
const LABELS: Record<string, string> = {
  'message.received': 'received',
  'message.rejected': 'rejected',
  'message.deferred': 'deferred',
  'message.bounced': 'bounced',
  'message.evicted': 'evicted',
  'message.deleted': 'deleted',
  'messages.cleared': 'cleared',
  'rules.updated': 'rules',
  'webhook.sent': 'webhook',
  gap: 'gap',
};

export function EventsView({
  events,
  onOpen,
}: {
  events: SinkEvent[];
  version: number;
  onOpen: (id: string) => void;
}) {
  const [shown, setShown] = useState(PAGE);
  const [type, setType] = useState<string>('');
  const filtered = type === '' ? events : events.filter((e) => e.type === type);
  const rows: SinkEvent[] = [];
  for (let i = filtered.length - 1; i >= 0 && rows.length < shown; i--) rows.push(filtered[i]);
  return (
    <section class="events" aria-label="Events timeline">
      <div class="toolbar">
        <label>
          Type{' '}
          <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">all</option>
            {Object.entries(LABELS).map(([t, l]) => (
              <option key={t} value={t}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">{filtered.length} events</span>
      </div>
      <ol class="timeline">
        {rows.map((e) => (
          <EventRow key={e.seq} event={e} onOpen={onOpen} />
        ))}
      </ol>
      {filtered.length > shown && (
        <button class="more" onClick={() => setShown(shown + PAGE)}>
          Show older events
        </button>
      )}
      {filtered.length === 0 && <p class="empty">No events yet.</p>}
    </section>
  );
}

function EventRow({ event, onOpen }: { event: SinkEvent; onOpen: (id: string) => void }) {
  const label = LABELS[event.type] ?? event.type;
  return (
    <li class={`event event-${label}`} data-type={event.type}>
      <span class="event-time" title={event.time}>
        {formatTime(event.time)}
      </span>
      <span class={`badge badge-${label}`}>{label}</span>
      <span class="event-seq muted">#{event.seq}</span>
      <div class="event-body">{describe(event, onOpen)}</div>
    </li>
  );
}

function describe(e: SinkEvent, onOpen: (id: string) => void) {
  switch (e.type) {
    case 'message.received': {
      const s = e.data;
      return (
        <>
          <button class="link" onClick={() => onOpen(s.id)}>
            {s.subject ?? '(no subject)'}
          </button>{' '}
          <span class="muted">
            from {s.envelope.mailFrom?.address ?? '<>'} to{' '}
            {s.envelope.rcptTo.map((r) => r.address).join(', ')}
          </span>
        </>
      );
    }
    case 'message.rejected':
    case 'message.deferred': {
      const d = e.data;
      return (
        <>
          <code>
            {d.code}
            {d.enhancedCode ? ` ${d.enhancedCode}` : ''}
          </code>{' '}
          {d.text}{' '}
          <span class="muted">
            · stage {d.stage} · {d.from ?? '<>'} → {d.to ?? '—'} · rule {d.rule ?? '—'} · client{' '}
            {d.clientAddress}
          </span>
        </>
      );
    }
    case 'message.bounced': {
      const d = e.data;
      return (
        <>
          {d.recipient}: <code>{d.status}</code> {d.diagnostic}{' '}
          <span class="muted">· rule {d.rule ?? '—'} · </span>
          <button class="link" onClick={() => onOpen(d.dsnId)}>
            DSN to {d.sender ?? '<>'}
          </button>{' '}
          ·{' '}
          <button class="link" onClick={() => onOpen(d.messageId)}>
            original
          </button>
        </>
      );
    }
    case 'webhook.sent': {
      const d = e.data;
      return (
        <>
          {d.format} POST {d.url} →{' '}
          {d.status !== null ? (
            <span
              class={`badge ${d.status >= 200 && d.status < 300 ? 'badge-dkim-pass' : 'badge-spam-high'}`}
            >
              {d.status}
            </span>
          ) : (
            <span class="badge badge-spam-high">{d.error ?? 'no answer'}</span>
          )}
          {d.status !== null && d.error ? ` ${d.error}` : ''}
        </>
      );
    }
    case 'message.evicted': {
      const d = e.data;
      return (
        <>
          message {d.id} evicted (over the {d.reason === 'count' ? 'message count' : 'byte'} cap)
        </>
      );
    }
    case 'message.deleted':
      return <>message {e.data.id} deleted</>;
    case 'messages.cleared':
      return <>{e.data.count} messages cleared</>;
    case 'rules.updated':
      return <>rules replaced: {e.data.count} rules in force</>;
    case 'gap': {
      const d = e.data;
      return (
        <>
          {d.missed} events were no longer retained (seq {d.from}–{d.to})
        </>
      );
    }
    default:
      return null;
  }
}
