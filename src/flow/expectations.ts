/**
 * Expectations evaluated as events arrive: no polling. Each expectation
 * subscribes to the run's {@link FlowHistory}, first examines everything
 * already seen since the flow started, then each new message or delivery
 * event, and settles on the first of: enough matches, its deadline (from the
 * injected clock), or an abort.
 */
import type { Clock } from '../clock.ts';
import {
  checkMessage,
  describeEvent,
  describeMessage,
  describeProbe,
  hasLevel,
  linkProbes,
  passes,
  statusMatches,
  type CheckResult,
  type CompiledCriteria,
  type CompiledEventCriteria,
  type LinkProbe,
} from './criteria.ts';
import type { DeliveryEvent, FlowHistory, TrackedMessage } from './history.ts';

/** Candidates listed under a failed expectation, closest first: enough to see the pattern. */
export const MAX_REPORTED_CANDIDATES = 3;
/** Messages whose full content is fetched to rank mismatches: bounds the work a failure costs. */
export const MAX_REPORT_DETAIL_FETCHES = 10;
/** How long a failure report waits for those fetches before ranking with what it has. */
export const REPORT_DETAIL_WAIT_MS = 2_000;

export interface Candidate {
  description: string;
  seq: number;
  passed: number;
  total: number;
  /** Every check, passed ones too, so a report can show what did match. */
  checks: CheckResult[];
}

export interface ExpectationOutcome {
  ok: boolean;
  wanted: number;
  /** Descriptions of what matched (message ids for messages). */
  matched: string[];
  matchedDescriptions: string[];
  /** Closest mismatches first (failed expectations) or the offending messages (expectNone). */
  candidates: Candidate[];
  /** How many messages/events were looked at. */
  considered: number;
  /** Events the feed lost or messages forgotten; a failure may be explained by them. */
  lost: number;
  interrupted: boolean;
}

export interface WatchOptions {
  history: FlowHistory;
  clock: Clock;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface MessageWatchOptions extends WatchOptions {
  criteria: CompiledCriteria;
  /** `expect`: at least `count` matches; `none`: no match within the window. */
  mode: 'expect' | 'none';
  count: number;
  probeLink(url: string): Promise<LinkProbe>;
}

function rank(candidates: Candidate[]): Candidate[] {
  return candidates.sort((a, b) => {
    const ra = a.total === 0 ? 0 : a.passed / a.total;
    const rb = b.total === 0 ? 0 : b.passed / b.total;
    return rb - ra || b.passed - a.passed || b.seq - a.seq;
  });
}

function candidateOf(description: string, seq: number, checks: CheckResult[]): Candidate {
  return {
    description,
    seq,
    passed: checks.filter((c) => c.ok).length,
    total: checks.length,
    checks,
  };
}

function withTimeout<T>(clock: Clock, promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(undefined), ms);
    promise.then(
      (v) => {
        clock.clearTimeout(timer);
        resolve(v);
      },
      () => {
        clock.clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

/** Watches messages for an `expect` or `expectNone` step. */
export function watchMessages(options: MessageWatchOptions): Promise<ExpectationOutcome> {
  const { history, criteria, clock, mode, count } = options;
  const matched: TrackedMessage[] = [];
  const matchedIds = new Set<string>();
  const busy = new Set<string>();
  const probeFailures = new Map<string, CheckResult[]>();
  let considered = 0;
  let settled = false;

  return new Promise<ExpectationOutcome>((resolve) => {
    const finish = (interrupted = false): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const ok =
        !interrupted && (mode === 'expect' ? matched.length >= count : matched.length === 0);
      const base = {
        ok,
        wanted: mode === 'expect' ? count : 0,
        matched: matched.map((m) => m.summary.id),
        matchedDescriptions: matched.map(describeMessage),
        considered,
        lost: history.lost + history.forgotten,
        interrupted,
      };
      if (ok || interrupted) return resolve({ ...base, candidates: [] });
      if (mode === 'none') {
        return resolve({
          ...base,
          candidates: matched
            .slice(0, MAX_REPORTED_CANDIDATES)
            .map((m) => candidateOf(describeMessage(m), m.seq, checkMessage(criteria, m))),
        });
      }
      void closestMismatches().then((candidates) => resolve({ ...base, candidates }));
    };

    const closestMismatches = async (): Promise<Candidate[]> => {
      const others = history.messages.filter((m) => !matchedIds.has(m.summary.id));
      const bySummary = rank(
        others.map((m) => candidateOf('', m.seq, checkMessage(criteria, m, 'summary'))),
      );
      const top = bySummary
        .slice(0, MAX_REPORT_DETAIL_FETCHES)
        .map((c) => others.find((m) => m.seq === c.seq) as TrackedMessage);
      if (criteria.level !== 'summary') {
        await withTimeout(
          clock,
          Promise.all(top.map((m) => history.loadDetail(m))),
          REPORT_DETAIL_WAIT_MS,
        );
      }
      return rank(
        top.map((m) => {
          const checks = [...checkMessage(criteria, m), ...(probeFailures.get(m.summary.id) ?? [])];
          return candidateOf(describeMessage(m), m.seq, checks);
        }),
      ).slice(0, MAX_REPORTED_CANDIDATES);
    };

    const accept = (m: TrackedMessage): void => {
      if (matchedIds.has(m.summary.id)) return;
      matchedIds.add(m.summary.id);
      matched.push(m);
      if (mode === 'none' || matched.length >= count) finish();
    };

    const consider = (m: TrackedMessage, fresh: boolean): void => {
      if (settled || matchedIds.has(m.summary.id) || busy.has(m.summary.id)) return;
      if (fresh) considered++;
      if (!passes(criteria, m, 'summary')) return;
      if (!hasLevel(m, criteria.level === 'analysis' ? 'detail' : criteria.level)) {
        busy.add(m.summary.id);
        void history.loadDetail(m).then(() => {
          busy.delete(m.summary.id);
          consider(m, false);
        });
        return;
      }
      // Analysis verdicts arrive in a later event; the 'updated' change re-runs this.
      if (!hasLevel(m, criteria.level)) return;
      if (!passes(criteria, m)) return;
      if (!criteria.probesLinks) return accept(m);
      busy.add(m.summary.id);
      void probeAll(m).then((failures) => {
        busy.delete(m.summary.id);
        if (settled) return;
        if (failures.length === 0) accept(m);
        else probeFailures.set(m.summary.id, failures);
      });
    };

    const probeAll = async (m: TrackedMessage): Promise<CheckResult[]> => {
      const failures: CheckResult[] = [];
      for (const p of linkProbes(criteria, m)) {
        const results = await Promise.all(
          p.urls.map(async (url) => ({ url, probe: await options.probeLink(url) })),
        );
        const bad = results.filter(
          (r) => r.probe.status === null || !statusMatches(r.probe.status, p.status),
        );
        if (bad.length > 0) {
          failures.push({
            field: p.field,
            expected: p.expected,
            actual: bad.map((b) => describeProbe(b.url, b.probe)).join('; '),
            ok: false,
          });
        }
      }
      return failures;
    };

    const unsubscribe = history.subscribe((change) => {
      if (change.kind === 'message') consider(change.message, true);
      else if (change.kind === 'updated') consider(change.message, false);
    });
    const timer = clock.setTimeout(() => finish(), Math.max(0, options.timeoutMs));
    const onAbort = (): void => finish(true);
    if (options.signal?.aborted) return finish(true);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const m of [...history.messages]) consider(m, true);
  });
}

export interface EventWatchOptions extends WatchOptions {
  criteria: CompiledEventCriteria;
  count: number;
}

/** Watches rejections, deferrals, bounces and webhook deliveries for an `expectEvent` step. */
export function watchEvents(options: EventWatchOptions): Promise<ExpectationOutcome> {
  const { history, criteria, clock, count } = options;
  const matched: DeliveryEvent[] = [];
  let considered = 0;
  let settled = false;

  return new Promise<ExpectationOutcome>((resolve) => {
    const finish = (interrupted = false): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const ok = !interrupted && matched.length >= count;
      let candidates: Candidate[] = [];
      if (!ok && !interrupted) {
        const matchedSet = new Set(matched);
        const fromEvents = history.events
          .filter((e) => !matchedSet.has(e))
          .map((e) => candidateOf(describeEvent(e), e.seq, criteria.check(e)));
        const fromMessages =
          criteria.type === 'webhook'
            ? []
            : history.messages.map((m) =>
                candidateOf(`accepted ${describeMessage(m)}`, m.seq, criteria.checkMessage(m)),
              );
        candidates = rank([...fromEvents, ...fromMessages]).slice(0, MAX_REPORTED_CANDIDATES);
      }
      resolve({
        ok,
        wanted: count,
        matched: matched.map((e) => String(e.seq)),
        matchedDescriptions: matched.map(describeEvent),
        candidates,
        considered,
        lost: history.lost + history.forgotten,
        interrupted,
      });
    };
    const consider = (e: DeliveryEvent): void => {
      if (settled) return;
      considered++;
      if (criteria.check(e).every((r) => r.ok)) {
        matched.push(e);
        if (matched.length >= count) finish();
      }
    };
    const unsubscribe = history.subscribe((change) => {
      if (change.kind === 'event') consider(change.event);
    });
    const timer = clock.setTimeout(() => finish(), Math.max(0, options.timeoutMs));
    const onAbort = (): void => finish(true);
    if (options.signal?.aborted) return finish(true);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const e of [...history.events]) consider(e);
  });
}
