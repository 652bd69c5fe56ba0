/**
 * The inbox page: header (which sink, counts vs caps, feed state), the
 * virtualised list with search and verdict filters, one message, the events
 * timeline and the rules. Keyboard: j/k or arrows move, Enter opens, `/`
 * searches, Delete deletes, Esc closes.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { SinkStats } from '../../../src/protocol.ts';
import { ApiError, type Api, type SinkInfo } from './api.ts';
import { EventsView } from './events.tsx';
import { LiveFeed, type FeedStatus } from './feed.ts';
import { formatSize, formatUptime } from './format.ts';
import { VirtualList } from './list.tsx';
import { MessageView } from './message.tsx';
import {
  InboxModel,
  parseSearch,
  rowsFor,
  type MessageRow,
  type Row,
  type Verdict,
} from './model.ts';
import { RulesView } from './rules.tsx';

/** Rows of the first page: enough to fill any screen before the rest arrives. */
const FIRST_PAGE = 200;
/** Rows per later page (the API's maximum). */
const PAGE = 1000;
/** How often verdicts (attachment marker) of newly arrived mail are fetched. */
const VERDICT_INTERVAL_MS = 250;
/** Ids per verdict request: the sink takes at most 200 (its URL limit); 150 every 250 ms keeps up with 600 messages/s. */
const VERDICT_BATCH = 150;
const STATS_INTERVAL_MS = 5000;
/** How long "live feed back" stays up (a restart or gap notice stays until dismissed). */
const FEED_BACK_NOTICE_MS = 6000;
/** Retained events of these types make inbox rows (refusals) or mark them (bounces). */
const INBOX_HISTORY_TYPES = ['message.rejected', 'message.deferred', 'message.bounced'];
/** Events the timeline fetches when first shown; the feed adds the rest live. */
const TIMELINE_HISTORY = 1000;
const ROW_HEIGHT = 68;
/** User Timing marks (performance.mark) of the first load, read by `npm run bench:ui`. */
export const MARK_FIRST_ROWS = 'inbox-first-rows';
export const MARK_ALL_LOADED = 'inbox-all-loaded';
const VERDICTS: Array<{ value: Verdict | null; label: string }> = [
  { value: null, label: 'All' },
  { value: 'received', label: 'Received' },
  { value: 'rejected', label: 'Rejected' },
  { value: 'deferred', label: 'Deferred' },
  { value: 'bounced', label: 'Bounced' },
];

type View = 'inbox' | 'events' | 'rules';

export interface AppProps {
  api: Api;
  /** What boot() read to check the token: reused for the first load. */
  initialInfo: SinkInfo;
  namespace: string | null;
  onUnauthorized: () => void;
}

declare global {
  interface Window {
    /** Test and benchmark hooks: the feed (to cut it) and the render counter. */
    __evInbox?: { feed: LiveFeed | null; renders: number; model: InboxModel };
  }
}

export function App({ api, initialInfo, namespace, onUnauthorized }: AppProps) {
  const model = useMemo(() => new InboxModel(), []);
  const [, setTick] = useState(0);
  const frame = useRef(0);
  const schedule = () => {
    if (frame.current !== 0) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      setTick((t) => t + 1);
    });
  };
  const [info, setInfo] = useState<SinkInfo | null>(null);
  const [stats, setStats] = useState<SinkStats | null>(null);
  const [status, setStatus] = useState<FeedStatus>({ state: 'connecting' });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [view, setView] = useState<View>('inbox');
  const [selected, setSelectedState] = useState<string | null>(null);
  const [openId, setOpenIdState] = useState<string | null>(null);
  // Key presses can come faster than renders: the handler reads these refs, not stale state.
  const selectedRef = useRef<string | null>(null);
  const openRef = useRef<string | null>(null);
  const setSelected = (key: string | null) => {
    selectedRef.current = key;
    setSelectedState(key);
  };
  const setOpenId = (key: string | null) => {
    openRef.current = key;
    setOpenIdState(key);
  };
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [search, setSearch] = useState('');
  const [searchRows, setSearchRows] = useState<Row[] | null>(null);
  const [confirmClear, setConfirmClear] = useState(false);
  const feedRef = useRef<LiveFeed | null>(null);
  const searchBox = useRef<HTMLInputElement>(null);
  const generation = useRef(0);

  const statsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const statsSoon = () => {
    statsTimer.current ??= setTimeout(() => {
      statsTimer.current = null;
      api.stats().then(setStats, () => undefined);
    }, 1000);
  };

  const fail = (err: unknown) => {
    if (err instanceof ApiError && err.status === 401) onUnauthorized();
    else setError(err instanceof ApiError ? `${err.body.code}: ${err.message}` : String(err));
  };

  /** Loads the inbox snapshot and the retained refusals and bounces, then follows the feed from the older of their positions. */
  const load = async () => {
    const gen = ++generation.current;
    setLoading(true);
    const reuse = gen === 1 ? initialInfo : null;
    const [sinkInfo, first, history] = await Promise.all([
      reuse ?? api.info(),
      api.inbox(0, FIRST_PAGE),
      api.history(INBOX_HISTORY_TYPES),
    ]);
    if (gen !== generation.current) return;
    setInfo(sinkInfo);
    model.reset(first.instance);
    model.addPage(first);
    model.addHistory(history.events);
    setLoading(false);
    schedule();
    const since = Math.min(first.lastSeq, history.lastSeq);
    if (feedRef.current) feedRef.current.resetTo(since, first.instance);
    else {
      const feed = new LiveFeed({
        token: api.token,
        since,
        instance: first.instance,
        handlers: {
          onHello: (hello) => {
            if (hello.instance !== model.instance) {
              setNotice('The sink restarted (a new process): reloading the inbox.');
              feed.resetTo(0, hello.instance);
              void load().catch(fail);
            }
          },
          onEvent: (e) => {
            if (e.type === 'gap') {
              setNotice(
                `${e.data.missed} events were no longer retained while the feed was down: reloading the inbox.`,
              );
              void load().catch(fail);
              return;
            }
            model.apply(e);
            schedule();
            // Counters in the header follow the feed, at most once a second.
            statsSoon();
          },
          onStatus: (s) => {
            setStatus(s);
            // Set here, in feed order, not in an effect after the render: a gap or
            // restart notice that follows must replace this one, never the reverse.
            if (s.state === 'live' && s.resumedAfter !== null) {
              const back = `Live feed back: resumed after event #${s.resumedAfter}, nothing missed.`;
              setNotice(back);
              setTimeout(() => setNotice((n) => (n === back ? null : n)), FEED_BACK_NOTICE_MS);
            }
          },
        },
      });
      feedRef.current = feed;
      window.__evInbox = { feed, renders: 0, model };
      feed.start();
    }
    // The rest of the snapshot, in the background; arrivals shift the offsets, duplicates are skipped.
    let fetched = first.items.length;
    const arrivalsAtSnapshot = model.liveArrivals;
    while (fetched < first.total && gen === generation.current) {
      const page = await api.inbox(fetched + (model.liveArrivals - arrivalsAtSnapshot), PAGE);
      if (page.items.length === 0) break;
      model.addPage(page);
      fetched += page.items.length;
      schedule();
    }
    if (gen === 1) performance.mark(MARK_ALL_LOADED);
  };

  useEffect(() => {
    load().catch(fail);
    const verdicts = setInterval(() => {
      if (model.pendingVerdicts.size === 0) return;
      const ids = [...model.pendingVerdicts].slice(0, VERDICT_BATCH);
      for (const id of ids) model.pendingVerdicts.delete(id);
      api.verdicts(ids).then(
        (page) => {
          model.applyVerdicts(page.items);
          schedule();
        },
        () => {
          for (const id of ids) model.pendingVerdicts.add(id);
        },
      );
    }, VERDICT_INTERVAL_MS);
    const refreshStats = () => api.stats().then(setStats, () => undefined);
    void refreshStats();
    const statsTimer = setInterval(refreshStats, STATS_INTERVAL_MS);
    return () => {
      clearInterval(verdicts);
      clearInterval(statsTimer);
      feedRef.current?.close();
    };
  }, []);

  useEffect(() => {
    if (view !== 'events' || model.timelineLoaded) return;
    api.history(undefined, TIMELINE_HISTORY).then((h) => {
      model.mergeTimeline(h.events);
      schedule();
    }, fail);
  }, [view, model.instance]);

  // Search runs on the sink (text search reads the raw messages); re-run as mail arrives.
  const query = useMemo(() => parseSearch(search.trim()), [search]);
  const searching = Object.keys(query).length > 0;
  useEffect(() => {
    if (!searching) {
      setSearchRows(null);
      return undefined;
    }
    const t = setTimeout(() => {
      api.inbox(0, PAGE, query).then((page) => {
        setSearchRows(
          page.items.map(
            (item): MessageRow =>
              model.byId.get(item.id) ?? {
                kind: 'message',
                key: item.id,
                time: item.time,
                item,
                bounce: null,
              },
          ),
        );
      }, fail);
    }, 250);
    return () => clearTimeout(t);
  }, [search, searching ? model.version : 0]);

  const rows: Row[] = useMemo(() => {
    if (searchRows !== null)
      return verdict === null || verdict === 'received'
        ? searchRows.filter((r) => r.kind !== 'message' || model.byId.has(r.key))
        : searchRows.filter((r) => r.kind === 'message' && r.bounce !== null);
    return rowsFor(model, verdict);
  }, [model.version, verdict, searchRows]);

  useEffect(() => {
    if (!loading && performance.getEntriesByName(MARK_FIRST_ROWS).length === 0)
      performance.mark(MARK_FIRST_ROWS);
  }, [loading]);

  // The key handler is re-registered after each render; a key pressed before that must see these rows.
  const rowsRef = useRef<Row[]>(rows);
  rowsRef.current = rows;

  const remove = (id: string) => {
    const rows = rowsRef.current;
    const index = rows.findIndex((r) => r.key === id);
    api.remove(id).then(() => {
      model.remove(id);
      const next = rows[index + 1] ?? rows[index - 1];
      setSelected(next && next.key !== id ? next.key : null);
      if (openRef.current === id) setOpenId(null);
      schedule();
    }, fail);
  };

  const open = (key: string) => {
    const row = rowsRef.current.find((r) => r.key === key);
    if (!row || row.kind === 'message') {
      setOpenId(key);
      setView('inbox');
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest('input, textarea, select')) {
        if (e.key === 'Escape') target.blur();
        if (e.key === 'Enter' && target === searchBox.current) target.blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (view !== 'inbox') return;
      const selected = selectedRef.current;
      const openId = openRef.current;
      const rows = rowsRef.current;
      const index = selected === null ? -1 : rows.findIndex((r) => r.key === selected);
      const move = (to: number) => {
        const row = rows[Math.max(0, Math.min(rows.length - 1, to))];
        if (row) {
          setSelected(row.key);
          if (openId !== null && row.kind === 'message') setOpenId(row.key);
        }
      };
      if (e.key === '/') {
        e.preventDefault();
        searchBox.current?.focus();
      } else if (e.key === 'j' || e.key === 'ArrowDown') {
        e.preventDefault();
        move(index + 1);
      } else if (e.key === 'k' || e.key === 'ArrowUp') {
        e.preventDefault();
        move(index < 0 ? 0 : index - 1);
      } else if (e.key === 'Enter' && selected !== null) open(selected);
      else if ((e.key === 'Delete' || e.key === 'Backspace') && (openId ?? selected) !== null) {
        const id = openId ?? selected!;
        if (model.byId.has(id)) remove(id);
      } else if (e.key === 'Escape') setOpenId(null);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  if (window.__evInbox) window.__evInbox.renders++;
  const count = model.messages.length;
  const statusText =
    status.state === 'live'
      ? 'live'
      : status.state === 'connecting'
        ? 'connecting…'
        : status.state === 'reconnecting'
          ? `feed lost: reconnecting (attempt ${status.attempt}), will resume after #${status.lastSeq}`
          : status.state === 'failed'
            ? status.reason
            : 'closed';

  return (
    <div class={`app${openId ? ' has-open' : ''}`}>
      <header class="top">
        <div class="brand">
          <strong>email sink</strong>
          <span class="sink-name" title="sink name (the pod's name in a cluster)">
            {info?.sinkName ?? ''}
          </span>
          {namespace && (
            <span class="muted" title="namespace">
              ns {namespace}
            </span>
          )}
        </div>
        <nav class="views">
          {(['inbox', 'events', 'rules'] as const).map((v) => (
            <button
              key={v}
              class={view === v ? 'active' : ''}
              data-view={v}
              onClick={() => setView(v)}
            >
              {v === 'inbox' ? `Inbox (${count})` : v === 'events' ? 'Events' : 'Rules'}
            </button>
          ))}
        </nav>
        <div class="sink-facts" aria-label="Sink">
          {stats && (
            <span title="messages kept / cap">
              {stats.messages.toLocaleString()}/{stats.maxMessages.toLocaleString()} msgs
            </span>
          )}
          {stats && (
            <span class="fact-extra" title="bytes kept / cap">
              {formatSize(stats.bytes)}/{formatSize(stats.maxBytes)}
            </span>
          )}
          {stats && (
            <span class="fact-extra" title="since start">
              {stats.received} received · {stats.rejected} rejected · {stats.deferred} deferred ·{' '}
              {stats.bounced} bounced · {stats.evicted} evicted
            </span>
          )}
          {stats && <span title="uptime">up {formatUptime(stats.uptimeSeconds)}</span>}
          <span class={`feed-state feed-${status.state}`} role="status" data-state={status.state}>
            {statusText}
          </span>
        </div>
      </header>
      {notice && (
        <div class="notice" role="status">
          {notice}{' '}
          <button class="link" onClick={() => setNotice(null)}>
            dismiss
          </button>
        </div>
      )}
      {error && (
        <div class="notice error" role="alert">
          {error}{' '}
          <button class="link" onClick={() => setError(null)}>
            dismiss
          </button>
        </div>
      )}
      {view === 'inbox' && (
        <main class="inbox">
          <div class="list-pane">
            <div class="toolbar">
              <input
                ref={searchBox}
                class="search"
                type="search"
                placeholder="Search: text, from:x to:y subject:z   ( / )"
                value={search}
                onInput={(e) => setSearch(e.currentTarget.value)}
                aria-label="Search"
              />
              <div class="filters" role="group" aria-label="Filter by event type">
                {VERDICTS.map((v) => (
                  <button
                    key={v.label}
                    class={verdict === v.value ? 'active' : ''}
                    data-verdict={v.value ?? 'all'}
                    onClick={() => setVerdict(v.value)}
                  >
                    {v.label}
                  </button>
                ))}
              </div>
              {confirmClear ? (
                <span class="confirm">
                  Delete all {count} messages?{' '}
                  <button
                    class="danger"
                    data-confirm="clear"
                    onClick={() => {
                      setConfirmClear(false);
                      api.clear().then(() => {
                        model.clearMessages();
                        setOpenId(null);
                        schedule();
                      }, fail);
                    }}
                  >
                    Delete all
                  </button>{' '}
                  <button onClick={() => setConfirmClear(false)}>Cancel</button>
                </span>
              ) : (
                <button
                  class="danger"
                  data-action="clear"
                  onClick={() => setConfirmClear(true)}
                  disabled={count === 0}
                >
                  Clear all
                </button>
              )}
            </div>
            {loading ? (
              <p class="muted pad">Loading…</p>
            ) : (
              <VirtualList
                rows={rows}
                selected={selected}
                rowHeight={ROW_HEIGHT}
                onSelect={setSelected}
                onOpen={open}
              />
            )}
            <div class="list-foot muted">
              {searching ? `${rows.length} matching` : `${rows.length} shown`} · j/k move · Enter
              open · / search · Del delete
            </div>
          </div>
          <div class="message-pane">
            {openId ? (
              <MessageView
                key={openId}
                api={api}
                id={openId}
                onClose={() => setOpenId(null)}
                onDelete={remove}
              />
            ) : (
              <p class="muted pad">Select a message.</p>
            )}
          </div>
        </main>
      )}
      {view === 'events' && (
        <EventsView
          events={model.timeline}
          version={model.version}
          onOpen={(id) => {
            if (model.byId.has(id)) {
              setOpenId(id);
              setSelected(id);
              setView('inbox');
            }
          }}
        />
      )}
      {view === 'rules' && <RulesView api={api} version={model.rulesVersion} />}
    </div>
  );
}
