/**
 * Watch streams: `?watch=true&resourceVersion=…`, answered 200 with chunked,
 * newline-delimited `{"type","object"}` events. A resourceVersion older than
 * the retained history (or after `faults.expireWatches()`) gets an ERROR event
 * carrying a 410 Expired Status, which is what tells clients to relist.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Call, KubeApi } from './api.ts';
import type { FaultControls } from './faults.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceType } from './resources.ts';
import type { KubeObject, Store, StoreEvent } from './store.ts';
import { toTable, wantsTable } from './table.ts';
import { expired } from './status.ts';

/** Bytes buffered for a slow watcher before the server gives up on it. */
export const MAX_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;
/** Upper bound on `timeoutSeconds` (the real server's default maximum is 30 min). */
export const MAX_WATCH_TIMEOUT_SECONDS = 1800;

interface ActiveWatch {
  res: ServerResponse;
  end(withError?: boolean): void;
}

export class WatchHub {
  private readonly active = new Set<ActiveWatch>();
  private readonly store: Store;
  private readonly api: KubeApi;
  private readonly faults: FaultControls;
  private readonly bookmarkIntervalMs: number;

  constructor(store: Store, api: KubeApi, faults: FaultControls, bookmarkIntervalMs: number) {
    this.store = store;
    this.api = api;
    this.faults = faults;
    this.bookmarkIntervalMs = bookmarkIntervalMs;
  }

  get count(): number {
    return this.active.size;
  }

  /** `closeAfterEvents`: end the stream cleanly after that many ADDED/MODIFIED/DELETED events (a watch closed early). */
  serve(call: Call, req: IncomingMessage, res: ServerResponse, closeAfterEvents?: number): void {
    this.api.authorize('watch', call.rt, call.namespace);
    const match = this.api.matcher(call);
    const q = call.query;
    const rvParam = q.get('resourceVersion') ?? '';
    const sendInitial = q.get('sendInitialEvents') === 'true';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const rt = call.rt;

    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();

    const asTable = wantsTable(req.headers.accept);
    const includeObject = q.get('includeObject');
    const write = (type: string, object: unknown): void => {
      if (res.writableEnded || res.destroyed) return;
      const shown =
        asTable && type !== 'ERROR' && type !== 'BOOKMARK'
          ? toTable(
              rt,
              [object as KubeObject],
              (object as KubeObject).metadata.resourceVersion ?? '',
              includeObject,
              new Date(),
            )
          : object;
      res.write(`${JSON.stringify({ type, object: shown })}\n`);
      if (res.writableLength > MAX_WATCH_BUFFER_BYTES) watch.end();
      if (
        closeAfterEvents !== undefined &&
        type !== 'BOOKMARK' &&
        type !== 'ERROR' &&
        --eventsLeft <= 0
      )
        watch.end();
    };
    let eventsLeft = closeAfterEvents ?? Infinity;
    const expire = (message: string): void => {
      write('ERROR', expired(message).toStatus());
      res.end();
    };

    if (rvParam !== '' && rvParam !== '0' && this.faults.watchExpiries > 0) {
      this.faults.watchExpiries--;
      expire(`too old resource version: ${rvParam} (${this.store.currentRv})`);
      return;
    }

    let closed = false;
    let lastSent = 0;
    const pending: StoreEvent[] = [];
    let replaying = true;
    const deliver = (ev: StoreEvent): void => {
      if (ev.rt !== rt && (ev.rt.group !== rt.group || ev.rt.plural !== rt.plural)) return;
      if (ev.rv <= lastSent) return;
      const now = match(ev.object);
      const before = ev.type === 'MODIFIED' && ev.old ? match(ev.old) : now;
      if (!now && !before) return;
      lastSent = ev.rv;
      // An object entering or leaving the selection is ADDED or DELETED for this watch.
      const type = ev.type !== 'MODIFIED' || (now && before) ? ev.type : now ? 'ADDED' : 'DELETED';
      write(type, ev.object);
    };
    const unsubscribe = this.store.subscribe((ev) => {
      if (replaying) pending.push(ev);
      else deliver(ev);
    });
    const timers: NodeJS.Timeout[] = [];
    const watch: ActiveWatch = {
      res,
      end: (withError = false) => {
        if (closed) return;
        closed = true;
        unsubscribe();
        for (const t of timers) clearTimeout(t);
        this.active.delete(watch);
        if (withError) {
          expire(`too old resource version: ${rvParam || lastSent} (${this.store.currentRv})`);
        } else if (!res.writableEnded) {
          res.end();
        }
      },
    };
    this.active.add(watch);
    if (closeAfterEvents === 0) {
      watch.end();
      return;
    }
    req.on('close', () => watch.end());
    res.on('close', () => watch.end());

    if (rvParam === '' || rvParam === '0' || sendInitial) {
      const snapshotRv = this.store.currentRv;
      for (const obj of this.store.list(rt, call.namespace)) if (match(obj)) write('ADDED', obj);
      lastSent = snapshotRv;
      if (sendInitial && bookmarks)
        write('BOOKMARK', this.bookmark(rt, { 'k8s.io/initial-events-end': 'true' }));
    } else {
      const since = Number(rvParam);
      const events = Number.isFinite(since) ? this.store.eventsSince(since) : undefined;
      if (!events) {
        watch.end(true);
        return;
      }
      lastSent = since;
      for (const ev of events) deliver(ev);
    }
    replaying = false;
    for (const ev of pending.splice(0)) deliver(ev);

    if (bookmarks && this.bookmarkIntervalMs > 0) {
      const tick = (): void => {
        if (closed) return;
        write('BOOKMARK', this.bookmark(rt));
        timers[0] = setTimeout(tick, this.bookmarkIntervalMs);
        timers[0].unref();
      };
      timers[0] = setTimeout(tick, this.bookmarkIntervalMs);
      timers[0].unref();
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeout) && timeout > 0) {
      const t = setTimeout(() => watch.end(), Math.min(timeout, MAX_WATCH_TIMEOUT_SECONDS) * 1000);
      t.unref();
      timers.push(t);
    }
  }

  /** A bookmark is an object of the watched kind carrying only a resourceVersion. */
  private bookmark(rt: ResourceType, annotations?: Record<string, string>): unknown {
    const meta: Record<string, unknown> = { resourceVersion: String(this.store.currentRv) };
    if (annotations) meta.annotations = annotations;
    return { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: meta };
  }

  /** End every watch with a 410 ERROR event and compact history. */
  expireAll(): number {
    const n = this.active.size;
    this.store.compact();
    for (const w of [...this.active]) w.end(true);
    return n;
  }

  closeAll(): void {
    for (const w of [...this.active]) w.end();
  }
}
