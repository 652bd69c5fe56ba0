import type { HelloFrame, SinkEvent } from '../../../src/protocol.ts';
import { FeedMerger } from '../merge-feeds.ts';
import type { SinceSpec } from '../render/since.ts';
import { formatEventLine, formatGapWarning } from '../render/event-line.ts';
import { plain, type Paint } from '../render/color.ts';
import type { EventFilter } from './event-filter.ts';

/** One sink's event feed, as `tail` needs it (a SinkClient adapter, or a fake in tests). */
export interface TailSource {
  /** Shown before each line (and as `pod` in JSON) when several sources are merged. */
  name: string;
  /**
   * Streams events after `since` (null: from the oldest event the sink still
   * retains, so that history already gone is not reported as lost) until
   * `signal` aborts, reconnecting and resuming by seq on its own; calls
   * `onHello` for each (re)connection. Rejects only when the sink cannot be
   * reached any more.
   */
  events(options: {
    since: number | null;
    signal: AbortSignal;
    onHello: (hello: HelloFrame) => void;
    onEvent: (event: SinkEvent) => void;
    onNotice?: (line: string) => void;
  }): Promise<void>;
}

export interface TailOptions {
  sources: readonly TailSource[];
  since: SinceSpec;
  /** false: print what the sinks retain, then return (`--no-follow`). */
  follow: boolean;
  filter: EventFilter;
  output: 'text' | 'json';
  paint?: Paint;
  utc?: boolean;
  /** Data lines (stdout). */
  write: (line: string) => void;
  /** Warnings (stderr). */
  warn: (line: string) => void;
  signal?: AbortSignal;
}

export interface TailResult {
  printed: number;
  gaps: number;
  missed: number;
}

/**
 * The engine of `tail`: subscribes to every source, merges the feeds, filters
 * and prints. Without `follow` each feed stops at the last seq its sink had
 * assigned when it said hello, so the command prints the retained history and
 * exits. Gaps are never filtered out: a warning on stderr in text mode, the
 * gap event itself in JSON.
 */
export async function runTail(options: TailOptions): Promise<TailResult> {
  const { sources, filter } = options;
  const paint = options.paint ?? plain;
  const many = sources.length > 1;
  const result: TailResult = { printed: 0, gaps: 0, missed: 0 };
  // Only an explicit seq can ask for events the sink no longer has (and get a gap).
  const since = options.since.kind === 'seq' ? options.since.seq : null;

  const merger = new FeedMerger(sources.length, ({ source, event }) => {
    if (!filter.matches(event)) return;
    const name = many ? sources[source].name : undefined;
    if (event.type === 'gap') {
      result.gaps += 1;
      result.missed += event.data.missed;
    }
    if (options.output === 'json') {
      options.write(JSON.stringify(name === undefined ? event : { ...event, pod: name }));
    } else if (event.type === 'gap') {
      options.warn(formatGapWarning(event, name));
      return;
    } else {
      options.write(formatEventLine(event, { paint, source: name, utc: options.utc }));
    }
    result.printed += 1;
  });

  const outer = options.signal;
  const controllers = sources.map(() => new AbortController());
  const onOuterAbort = (): void => {
    for (const c of controllers) c.abort();
  };
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });

  try {
    await Promise.all(
      sources.map(async (source, i) => {
        const controller = controllers[i];
        /** The last seq of the replay: set by the first hello; later hellos (reconnects) do not move it. */
        let target: number | null = null;
        let caughtUp = false;
        const reached = (): void => {
          if (caughtUp) return;
          caughtUp = true;
          merger.caughtUp(i);
          if (!options.follow) controller.abort();
        };
        try {
          await source.events({
            since,
            signal: controller.signal,
            onHello: (hello) => {
              if (target !== null) return;
              target = hello.lastSeq;
              if (target <= (since ?? 0)) reached();
            },
            onNotice: (line) => options.warn(line),
            onEvent: (event) => {
              if (controller.signal.aborted && !options.follow) return;
              merger.push(i, event);
              if (target !== null && event.seq >= target) reached();
            },
          });
        } finally {
          merger.end(i);
        }
      }),
    );
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    for (const c of controllers) c.abort();
    merger.flush();
  }
  return result;
}
