/**
 * `check --in-cluster`: the CLI side. Creates a namespace with a coordinator
 * and an Indexed Job of shards (all on the stock Node.js image with our bundle
 * in ConfigMaps), streams the input to the coordinator through a port-forward
 * tunnel and the results back, writes them with the local `check`'s writers in
 * input order, and always removes what it created.
 *
 * Division of work: the CLI reads, numbers and de-duplicates the input (cheap,
 * and it must know every index to write in order); shards run the per-address
 * pipeline; the coordinator leases work and holds the limits.
 *
 * Memory is bounded on every hop: the CLI reads no further than
 * {@link REORDER_WINDOW} records past the oldest unwritten one, the
 * coordinator holds at most MAX_LIVE_ITEMS, each shard a few leases.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import { DEFAULT_TTL, generateNamespaceName, isValidNamespaceName, parseTtl, formatDuration } from '../../../src/cluster-meta.ts';
import { diagnose } from '../../../src/address/syntax.ts';
import { DigestSet } from '../../../src/check/dedupe.ts';
import { MAX_WINDOW, emptyCounts } from '../../../src/check/engine.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import type { Verdict } from '../../../src/check/reasons.ts';
import { COORDINATOR_PORT, MAX_PULL_RESULTS, MAX_PUSH_ITEMS, type PullResponse, type PushResponse, type WorkItem } from '../../../src/check-cluster/protocol.ts';
import {
  COORDINATOR_SELECTOR, SHARDS_NAME, SHARD_SELECTOR, buildCheckClusterManifests,
} from '../../../src/check-cluster/manifests.ts';
import type { KubeObject } from '../../../src/manifests.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import type { KubeClient } from '../kube/adapter.ts';
import { isPodReady, podState } from '../kube/readiness.ts';
import { checkPermissions } from '../kube/permissions.ts';
import { Tunnel } from '../tunnel/tunnel.ts';
import { stageOptionsOf, validateProbeIdentity } from '../check/stages.ts';
import { readInputs, type ReadProgress } from '../check/input.ts';
import { createResultWriter, fdSink } from '../check/output.ts';
import { startProgress } from '../check/progress.ts';
import type { CheckIo, CheckOptions, CheckSummary } from '../check/run-check-command.ts';
import { CoordinatorClient } from './client.ts';

/** Records read past the oldest unwritten one at most (results that arrive early wait here): the local engine's window, so memory is the same. */
export const REORDER_WINDOW = MAX_WINDOW;
/** How long to wait for the coordinator pod to be ready (an image pull included). */
export const COORDINATOR_READY_MS = 120_000;
/** Job status is checked this often, to fail fast when the shards cannot run. */
export const JOB_POLL_MS = 2_000;
/** Smallest pull after repeated failures. */
export const MIN_PULL_RESULTS = 50;
/** How long the cleanup waits for the namespace to be gone. */
export const DELETE_WAIT_MS = 60_000;

export interface ClusterCheckOptions {
  shards: number;
  kube: KubeFlagsValues;
  ttl?: string;
  nodeImage?: string;
  /** Leave the namespace in place afterwards (debugging). */
  keep?: boolean;
  /** Lease TTL for the coordinator (tests shorten it). */
  leaseTtlMs?: number;
  /** Progress lines (stderr). */
  onStatus?: (line: string) => void;
  /** Test seam: the bundle bytes. */
  bundle?: Uint8Array;
  /** Called once the shards' Job is applied (tests kill a shard from here). */
  onRunning?: (info: { namespace: string; client: KubeClient }) => void;
}

/** The bundle built by `npm run build`, from both dist/ and source layouts. */
export function readCheckBundle(): Uint8Array {
  for (const url of [
    new URL('../../../check-cluster/check.bundle.mjs', import.meta.url), // dist/plugin/lib/check-cluster -> dist/check-cluster
    new URL('../../../dist/check-cluster/check.bundle.mjs', import.meta.url), // sources -> dist/check-cluster
  ]) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return readFileSync(path);
  }
  throw evError('EV_ERR_INTERNAL', 'the check bundle (dist/check-cluster/check.bundle.mjs) is missing from this installation', { hint: 'run `npm run build` in the tool\'s folder' });
}

/** Adapts {@link runCheckInCluster} to the local runner's signature (for the `check` command). */
export function inClusterRunner(c: ClusterCheckOptions): (o: CheckOptions, io: CheckIo) => Promise<CheckSummary> {
  return (o, io) => runCheckInCluster(o, io, c);
}

function validate(o: CheckOptions): void {
  if (o.state) throw evError('EV_ERR_CONFLICTING_OPTIONS', '--state cannot be combined with --in-cluster', { hint: 'a shard that dies is redone by another; run without --state, or run locally with --state' });
  if (o.provider) throw evError('EV_ERR_CONFLICTING_OPTIONS', '--provider is not supported with --in-cluster yet', { hint: 'run the provider check locally (it is limited by the provider, not by this machine)' });
  if (o.offline && o.smtpProbe) throw evError('EV_ERR_CONFLICTING_OPTIONS', '--offline cannot be combined with --smtp-probe', { hint: 'drop --offline to run network checks' });
  if (o.smtpProbe && !o.helo) throw evError('EV_ERR_INVALID_OPTION', '--smtp-probe needs --helo', { hint: 'pass --helo with the fully-qualified name the cluster\'s egress IP resolves to' });
  validateProbeIdentity(o);
}

export async function runCheckInCluster(o: CheckOptions, io: CheckIo, c: ClusterCheckOptions): Promise<CheckSummary> {
  validate(o);
  const started = io.clock.now();
  const status = c.onStatus ?? (() => {});
  const paths = o.paths.length === 0 ? ['-'] : o.paths;
  for (const p of paths) if (p !== '-' && !existsSync(p)) throw evError('EV_ERR_INPUT_INVALID', `cannot read ${p}: no such file`, { hint: 'check the path' });
  const ttlMs = parseTtl(c.ttl ?? DEFAULT_TTL);
  const bundle = c.bundle ?? readCheckBundle();
  const { connect } = await import('../kube/adapter.ts');
  const client = connect(c.kube);
  const now = new Date();
  const createNamespace = c.kube.namespace === undefined;
  const namespace = c.kube.namespace ?? generateNamespaceName(now, Math.random);
  if (!isValidNamespaceName(namespace)) throw evError('EV_ERR_INVALID_OPTION', `"${namespace}" is not a valid namespace name`, { hint: 'use lowercase letters, digits and dashes (at most 63).' });
  const token = randomBytes(24).toString('base64url');
  const objects = buildCheckClusterManifests({
    namespace, createNamespace, now, ttlMs, token, bundle, shards: c.shards, leaseTtlMs: c.leaseTtlMs,
    ...(c.nodeImage ? { nodeImage: c.nodeImage } : {}),
    // The same stage options as a local run (one function builds the stages from them), with a per-shard concurrency.
    shard: { ...stageOptionsOf(o), concurrency: Math.max(1, Math.ceil(o.concurrency / c.shards)) },
    limits: {
      concurrency: o.concurrency, rate: o.rate, burst: o.rate === null ? 1 : (o.burst ?? Math.max(1, Math.ceil(o.rate / 10))),
      domainConcurrency: o.domainConcurrency, domainRate: o.domainRate, mxConcurrency: o.mxConcurrency, mxRate: o.mxRate,
    },
  });

  let tunnel: Tunnel | null = null;
  let created = false;
  const cleanup = async (): Promise<void> => {
    await tunnel?.close();
    if (!created || c.keep) return;
    status(`removing ${createNamespace ? `namespace ${namespace}` : `the check objects in ${namespace}`}…`);
    if (createNamespace) {
      await client.deleteNamespace(namespace);
      await client.waitNamespaceGone(namespace, DELETE_WAIT_MS);
    } else {
      for (const obj of [...objects].reverse()) await client.deleteObject(obj as never);
    }
  };
  try {
    await checkPermissions(client, { namespace, createNamespace, purpose: 'run the check', activities: ['check-in-cluster'] });
    const job = objects[objects.length - 1];
    status(`creating ${createNamespace ? `namespace ${namespace}` : `the check objects in ${namespace}`} (coordinator + ${c.shards} shards, TTL ${formatDuration(ttlMs)})…`);
    for (const obj of objects.slice(0, -1)) {
      if (io.signal?.aborted) throw io.signal.reason;
      created = true;
      if (obj.kind === 'Namespace') await client.createNamespace(obj as never);
      else await client.apply(obj as never);
    }
    const pod = await waitCoordinator(client, namespace, io.signal);
    tunnel = await Tunnel.open({
      pod, port: COORDINATOR_PORT,
      request: (p) => client.portForwardRequest(namespace, p, COORDINATOR_PORT),
      resolvePod: async (prev) => {
        const ready = (await client.listPods(namespace, COORDINATOR_SELECTOR)).filter(isPodReady).map((x) => x.metadata?.name ?? '');
        return ready.includes(prev) ? prev : ready[0];
      },
    });
    await client.apply(job as never);
    status(`coordinator ${pod} ready; ${c.shards} shards started (Indexed Job ${SHARDS_NAME})`);
    c.onRunning?.({ namespace, client });
    // Stops the pusher and puller (and their retries) whichever way the run ends.
    const local = new AbortController();
    const signal = io.signal ? AbortSignal.any([io.signal, local.signal]) : local.signal;
    const api = new CoordinatorClient({ url: tunnel.url, token, signal });
    try {
      return await stream(o, io, api, client, namespace, job, started, status);
    } finally {
      local.abort(new Error('check finished'));
    }
  } catch (err) {
    // Ctrl-C during set-up surfaces as the abort reason: report it as the interruption it is.
    if (io.signal?.aborted && !isEmailValidateError(err)) throw evError('EV_ERR_INTERRUPTED', 'interrupted; the cluster objects are being removed');
    throw err;
  } finally {
    await cleanup().catch((err: unknown) => {
      io.stderr.write(`warning: cleanup of namespace ${namespace} failed: ${(err as Error).message}\nhint: remove it later with \`kubectl email-validate gc\`.\n`);
    });
  }
}

async function waitCoordinator(client: KubeClient, namespace: string, signal?: AbortSignal): Promise<string> {
  const deadline = Date.now() + COORDINATOR_READY_MS;
  let last = 'Pending';
  for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
    if (signal?.aborted) throw signal.reason;
    const pods = await client.listPods(namespace, COORDINATOR_SELECTOR);
    const ready = pods.find(isPodReady);
    if (ready) return ready.metadata?.name ?? '';
    if (pods[0]) { const s = podState(pods[0]); last = `${s.reason}${s.message ? `: ${s.message}` : ''}`; }
    if (Date.now() > deadline) {
      throw evError('EV_ERR_CHECK_COORDINATOR', `the check coordinator in ${namespace} did not become ready (${last})`, { hint: 'can the cluster pull the Node.js image? see `kubectl describe pod -n NAMESPACE`' });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Restarts after which every shard crash-looping means the shards cannot run (a real Job fails later, at its backoffLimit). */
export const SHARD_CRASH_RESTARTS = 3;

/**
 * Why the shards cannot finish, or null: the Job failed, or every shard pod
 * is crash-looping. Without this the CLI would wait for results forever.
 */
export async function shardFailure(client: KubeClient, namespace: string, job: KubeObject): Promise<Error | null> {
  const hint = { hint: `see the shard logs: kubectl logs -n ${namespace} -l app.kubernetes.io/component=shard (add --previous for a crashed one)` };
  const j = await client.objects.read({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: job.metadata.name, namespace } });
  const failed = ((j as { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }).status?.conditions ?? [])
    .find((x) => x.type === 'Failed' && x.status === 'True');
  if (failed) return evError('EV_ERR_CHECK_SHARDS_FAILED', `the shards failed: ${failed.message ?? 'Job failed'}`, hint);
  const pods = (await client.listPods(namespace, SHARD_SELECTOR)).filter((p) => !p.metadata?.deletionTimestamp);
  const crashing = pods.filter((p) => (p.status?.containerStatuses ?? []).some((c) => c.restartCount >= SHARD_CRASH_RESTARTS && !c.state?.running));
  if (pods.length > 0 && crashing.length === pods.length) {
    const st = podState(crashing[0]);
    return evError('EV_ERR_CHECK_SHARDS_FAILED', `every shard pod keeps crashing (${st.name}: ${st.reason}${st.message ? `: ${st.message}` : ''})`, hint);
  }
  return null;
}

/** Pushes the input and writes results as they come back, in input order. */
async function stream(o: CheckOptions, io: CheckIo, api: CoordinatorClient, client: KubeClient, namespace: string, job: KubeObject, started: number, status: (line: string) => void): Promise<CheckSummary> {
  const counts = emptyCounts();
  const read: ReadProgress = { bytes: 0 };
  const sink = o.out ? fdSink({ path: o.out, keepBytes: 0 }) : fdSink({ fd: io.stdoutFd });
  const writer = createResultWriter({ format: o.format, sink, durable: false, header: true, color: o.color });
  const paths = o.paths.length === 0 ? ['-'] : o.paths;
  const { statSync } = await import('node:fs');
  const totalBytes = paths.includes('-') ? null : paths.reduce((n, p) => n + statSync(p).size, 0);
  const stopProgress = o.progress ? startProgress(io.stderr, counts, read, totalBytes, () => io.clock.now()) : null;

  /** index -> result, or null for a duplicate (nothing to write). */
  const done = new Map<number, CheckResult | null>();
  let next = 1;
  let total = -1;
  let failure: unknown = null;
  /** Waiters for any progress (a result written, a batch sent, a failure). */
  let waiters: Array<() => void> = [];
  const wakeUp = (): void => { const w = waiters; waiters = []; for (const f of w) f(); };
  const progress = (): Promise<void> => new Promise((r) => { waiters.push(r); });
  const drain = (): void => {
    for (let d = done.get(next); d !== undefined; d = done.get(next)) {
      done.delete(next);
      if (d !== null) {
        writer.write(d);
        counts.written++;
        counts[d.verdict as Verdict]++;
      }
      next++;
    }
    wakeUp();
  };

  // The coordinator keeps its queue and results in memory: if its pod was
  // replaced, they are gone, and waiting would never end.
  let instance: string | null = null;
  const sameCoordinator = (id: string): void => {
    if (instance === null) instance = id;
    else if (id !== instance) {
      throw evError('EV_ERR_CHECK_COORDINATOR', 'the check coordinator restarted and lost the work in progress', {
        hint: `run the check again; if it keeps happening see kubectl describe pod -n ${namespace} -l app.kubernetes.io/component=coordinator (memory limit?)`,
      });
    }
  };

  const pusher = async (): Promise<void> => {
    const dedupe = new DigestSet();
    let index = 0;
    let batch: WorkItem[] = [];
    let inputDone = false;
    // One push in flight at a time (pushes must arrive in index order); while it
    // travels, the reader fills the next batch: round trips through the tunnel
    // carry as much as is ready, up to MAX_PUSH_ITEMS.
    const sender = async (): Promise<void> => {
      for (;;) {
        if (failure !== null) return;
        if (batch.length === 0) {
          if (inputDone) return;
          await progress();
          continue;
        }
        let items = batch.splice(0, MAX_PUSH_ITEMS);
        wakeUp();
        while (items.length > 0) {
          const r = await api.post<PushResponse>('/v1/push', { items });
          sameCoordinator(r.instance);
          items = items.filter((it) => it.i > r.highest);
        }
      }
    };
    const sending = sender().catch((err: unknown) => { failure = err; wakeUp(); });
    for await (const b of readInputs({ paths, column: o.column }, read, io.stdin as never)) {
      for (const v of b.values) {
        const i = ++index;
        counts.read++;
        const s = diagnose(v);
        const normalized = s.category === 'invalid' ? v : `${s.local}@${s.domain}`;
        if (!dedupe.add(normalized)) {
          counts.duplicates++;
          done.set(i, null);
          continue;
        }
        const item: WorkItem = { i, a: v, n: !o.offline && s.category !== 'invalid' };
        // With SMTP probing, one shard per domain: the catch-all answer is learnt once.
        if (o.smtpProbe && s.category !== 'invalid') item.k = s.domain;
        batch.push(item);
        if (batch.length === 1) wakeUp();
        // Back-pressure: a full batch waits for the sender, a full reorder window for results.
        while (failure === null && (batch.length >= MAX_PUSH_ITEMS || i - next >= REORDER_WINDOW)) await progress();
        if (failure !== null) throw failure;
      }
    }
    inputDone = true;
    wakeUp();
    await sending;
    if (failure !== null) throw failure;
    total = index;
    await api.post('/v1/end', { total });
    drain();
  };

  const puller = async (): Promise<void> => {
    let cursor = 0;
    for (;;) {
      // A response lost with a dropped tunnel is asked for again, smaller each time (a flaky link may never carry a big one).
      const from = cursor;
      const r = await api.get<PullResponse>((attempt) => `/v1/results?after=${from}&max=${Math.max(MIN_PULL_RESULTS, MAX_PULL_RESULTS >> attempt)}`);
      sameCoordinator(r.instance);
      cursor = r.cursor;
      lastStats = r.stats;
      for (const res of r.results) {
        // Exactly once: the coordinator de-duplicates by index, and so do we (a retried pull may repeat).
        if (res.index < next || done.has(res.index)) continue;
        done.set(res.index, res);
      }
      drain();
      if (r.done && total >= 0) return;
    }
  };

  let lastStats: PullResponse['stats'] | null = null;
  let jobTimer: ReturnType<typeof setInterval> | null = null;
  const jobFailed = new Promise<never>((_, reject) => {
    jobTimer = setInterval(() => {
      void shardFailure(client, namespace, job).then((err) => { if (err) reject(err); }, () => {});
    }, JOB_POLL_MS);
  });
  jobFailed.catch(() => {});
  try {
    const push = pusher().catch((err: unknown) => { failure = err; throw err; });
    await Promise.race([Promise.all([push, puller()]), jobFailed]);
    drain();
    if (next !== total + 1) throw evError('EV_ERR_INTERNAL', `in-cluster check ended with ${total + 1 - next} results missing`);
    const st = lastStats as PullResponse['stats'] | null;
    if (st) status(`coordinator: ${st.completed} results, ${st.expired} leases given back after a shard stopped, ${st.duplicates} late duplicate results dropped`);
  } catch (err) {
    if (io.signal?.aborted) throw evError('EV_ERR_INTERRUPTED', 'interrupted; results so far were written, the cluster objects are being removed', { hint: 'run the command again (without --in-cluster, --state can resume a local run)' });
    throw err;
  } finally {
    if (jobTimer) clearInterval(jobTimer);
    stopProgress?.();
    await writer.flush();
    writer.close();
  }
  const failed = o.failOn.some((v) => counts[v] > 0);
  return { counts, elapsedMs: io.clock.now() - started, resumed: false, exitCode: failed ? 1 : 0 };
}
