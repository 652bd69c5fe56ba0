/**
 * `check --in-cluster`: the CLI side. Creates a namespace with Redis (the
 * official image) and an Indexed Job of shards (the stock Node.js image with
 * our bundle in ConfigMaps), streams the input into Redis through a
 * port-forward tunnel and the results back (stream.ts), writes them with the
 * local `check`'s writers in input order, and removes what it created once
 * every result is written.
 *
 * The run outlives the CLI: killed (even with kill -9), its laptop closed or
 * its tunnel gone for good, the shards go on within the namespace's TTL, and
 * `check --in-cluster --attach NAME` (or the same command again with the same
 * --state) reconnects, writes what arrived meanwhile and finishes.
 */
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import type { Redis } from 'ioredis';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import { CHECKER_BUNDLE_PATH, readBuiltBundle } from '../built-bundle.ts';
import {
  DEFAULT_TTL,
  MANAGED_BY_LABEL,
  generateNamespaceName,
  isValidNamespaceName,
  parseTtl,
  formatDuration,
} from '../../../src/cluster-meta.ts';
import {
  REDIS_PORT,
  SHARD_EXIT_REDIS_UNREACHABLE,
  type ClusterCheckpoint,
  type RunMeta,
} from '../../../src/check-cluster/protocol.ts';
import { RedisRun } from '../../../src/check-cluster/redis-run.ts';
import {
  CHECK_TOKEN_KEY,
  CHECK_TOKEN_SECRET,
  REDIS_SELECTOR,
  SHARDS_NAME,
  SHARD_SELECTOR,
  buildCheckClusterManifests,
} from '../../../src/check-cluster/manifests.ts';
import { encodeProviderPayload } from '../../../src/check-cluster/provider-secret.ts';
import type { KubeFlagsValues } from '../kube-flags.ts';
import type { KubeClient } from '../kube/adapter.ts';
import { isPodReady, podState } from '../kube/readiness.ts';
import { checkPermissions } from '../kube/permissions.ts';
import {
  NAMESPACE_GONE_WAIT_MS,
  ephemeralDeployment,
  waitPodReady,
  type CleanupRegistry,
} from '../kube/ephemeral-namespace.ts';
import { Tunnel } from '../tunnel/tunnel.ts';
import { stageOptionsOf, validateProbeIdentity } from '../../../checker/index.ts';
import { rateBurst } from '../../../src/limits/token-bucket.ts';
import {
  optionsKey,
  readProviderFile,
  type CheckIo,
  type CheckOptions,
  type CheckSummary,
} from '../check/run-check-command.ts';
import { loadClusterState, saveClusterState, type ClusterState } from './cluster-state.ts';
import { streamCheck } from './stream.ts';
import { removeCheckObjects } from './remove.ts';
import { errorMessage } from '../../../src/guards.ts';

/** How long to wait for the Redis pod to be ready (an image pull included). */
export const REDIS_READY_MS = 120_000;
/** How long the CLI keeps trying to reach Redis through the tunnel before it stops (the run goes on in the cluster). */
export const REDIS_DEADLINE_MS = 60_000;
/** Job status is checked this often, to fail fast when the shards cannot run. */
export const JOB_POLL_MS = 2_000;
/** Restarts after which every shard crash-looping means the shards cannot run (a real Job fails later, at its backoffLimit). */
export const SHARD_CRASH_RESTARTS = 3;

export interface ClusterCheckOptions {
  shards: number;
  kube: KubeFlagsValues;
  ttl?: string;
  nodeImage?: string;
  redisImage?: string;
  /** Reattach to the run in this namespace. */
  attach?: string;
  /** Leave the namespace in place afterwards (debugging). */
  keep?: boolean;
  /** Lease time after which another shard takes a batch over (tests shorten it). */
  leaseTtlMs?: number;
  /** How long a shard keeps trying an unreachable Redis before it exits and is restarted (tests shorten it). */
  redisUnreachableMs?: number;
  /** How long the CLI keeps trying an unreachable Redis (default REDIS_DEADLINE_MS). */
  redisDeadlineMs?: number;
  /** How long to wait for a ready Redis pod (default REDIS_READY_MS). */
  redisReadyMs?: number;
  cleanups?: CleanupRegistry;
  /** Progress lines (stderr). */
  onStatus?: (line: string) => void;
  /** Test seam: the bundle bytes. */
  bundle?: Uint8Array;
  /** Called once the shards run (tests disturb the run from here). */
  onRunning?: (info: { namespace: string; client: KubeClient }) => void;
}

/** The checker bundle built by `npm run build` (or embedded in the single executable). */
export function readCheckerBundle(): Uint8Array {
  return readBuiltBundle(CHECKER_BUNDLE_PATH, 'the checker bundle');
}

/** Adapts {@link runCheckInCluster} to the local runner's signature (for the `check` command). */
export function inClusterRunner(
  c: ClusterCheckOptions,
): (o: CheckOptions, io: CheckIo) => Promise<CheckSummary> {
  return (o, io) => runCheckInCluster(o, io, c);
}

function validate(o: CheckOptions): void {
  if (o.offline && (o.smtpProbe || o.provider))
    throw evError(
      'EV_ERR_CONFLICTING_OPTIONS',
      '--offline cannot be combined with --smtp-probe or --provider',
      { hint: 'drop --offline to run network checks' },
    );
  if (o.smtpProbe && !o.helo)
    throw evError('EV_ERR_INVALID_OPTION', '--smtp-probe needs --helo', {
      hint: "pass --helo with the fully-qualified name the cluster's egress IP resolves to",
    });
  validateProbeIdentity(o);
}

/** Why the shards cannot finish, or null: the Job failed, or every shard pod is crash-looping. */
export async function shardFailure(client: KubeClient, namespace: string): Promise<Error | null> {
  const hint = {
    hint: `see the shard logs: kubectl logs -n ${namespace} -l app.kubernetes.io/component=shard (add --previous for a crashed one)`,
  };
  const j = await client.objects.read({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: SHARDS_NAME, namespace },
  });
  const failed = (
    (j as { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } })
      .status?.conditions ?? []
  ).find((x) => x.type === 'Failed' && x.status === 'True');
  if (failed)
    return evError(
      'EV_ERR_CHECK_SHARDS_FAILED',
      `the shards failed: ${failed.message ?? 'Job failed'}`,
      hint,
    );
  const pods = (await client.listPods(namespace, SHARD_SELECTOR)).filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  // A shard that gave up on an unreachable Redis exits with its own code and is not crashing:
  // it waits out a Redis restart or replacement that the CLI is handling.
  const crashing = pods.filter((p) =>
    (p.status?.containerStatuses ?? []).some(
      (c) =>
        c.restartCount >= SHARD_CRASH_RESTARTS &&
        !c.state?.running &&
        c.lastState?.terminated?.exitCode !== SHARD_EXIT_REDIS_UNREACHABLE,
    ),
  );
  if (pods.length > 0 && crashing.length === pods.length) {
    const st = podState(crashing[0]);
    return evError(
      'EV_ERR_CHECK_SHARDS_FAILED',
      `every shard pod keeps crashing (${st.name}: ${st.reason}${st.message ? `: ${st.message}` : ''})`,
      hint,
    );
  }
  return null;
}

export interface Connection {
  tunnel: Tunnel;
  redis: Redis;
  run: RedisRun;
  readonly reconnects: number;
  close(): Promise<void>;
}

/** A tunnel to the Redis pod (re-resolved when it is replaced) and an ioredis client over it. */
export async function connectRedis(
  client: KubeClient,
  namespace: string,
  password: string,
  c: ClusterCheckOptions,
  signal?: AbortSignal,
): Promise<Connection> {
  const failure = (reason: string): Error =>
    evError('EV_ERR_CHECK_COORDINATOR', `Redis in ${namespace} did not become ready (${reason})`, {
      hint: 'can the cluster pull the redis:7-alpine image? see `kubectl describe pod -n NAMESPACE -l app.kubernetes.io/component=redis`',
    });
  const pod = await waitPodReady(client, namespace, REDIS_SELECTOR, {
    timeoutMs: c.redisReadyMs ?? REDIS_READY_MS,
    signal,
    failure,
  });
  const tunnel = await Tunnel.open({
    pod,
    port: REDIS_PORT,
    request: (p) => client.portForwardRequest(namespace, p, REDIS_PORT),
    resolvePod: async (prev) => {
      const ready = (await client.listPods(namespace, REDIS_SELECTOR))
        .filter((p) => isPodReady(p) && !p.metadata?.deletionTimestamp)
        .map((x) => x.metadata?.name ?? '');
      return ready.includes(prev) ? prev : ready[0];
    },
    retry: { deadlineMs: c.redisDeadlineMs ?? REDIS_DEADLINE_MS },
  });
  const { Redis: RedisClient } = await import('ioredis');
  const deadlineMs = c.redisDeadlineMs ?? REDIS_DEADLINE_MS;
  let down: number | null = null;
  let gaveUp: Error | null = null;
  const redis = new RedisClient({
    host: tunnel.host,
    port: tunnel.port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: null,
    // A command cut off by a dropped tunnel fails and the caller sends it again, smaller when it can
    // (stream.ts); resending everything unanswered at once could exceed what a flaky link carries.
    autoResendUnfulfilledCommands: false,
    // Reconnect through the tunnel (which re-opens the port-forward, to a new pod if Redis was
    // replaced) until the deadline; then stop: the run goes on in the cluster, --attach continues it.
    retryStrategy: () => {
      down ??= Date.now();
      if (Date.now() - down > deadlineMs) {
        gaveUp = evError(
          'EV_ERR_CHECK_REDIS',
          `Redis in ${namespace} was unreachable through the tunnel for ${Math.round(deadlineMs / 1000)} s`,
          {
            hint: `the run goes on in the cluster until its TTL; continue it with \`kubectl email-validate check --in-cluster --attach ${namespace}\``,
          },
        );
        return null;
      }
      return 200;
    },
  });
  let reconnects = 0;
  // Arrivals are read with a blocking XREAD: on a second connection, so that pushes and
  // result fetches never queue behind it (Redis answers a connection's commands in order).
  const blocking = redis.duplicate();
  for (const c of [redis, blocking]) {
    c.on('ready', () => {
      down = null;
    });
    c.on('error', () => {});
    c.on('end', () => {
      if (!gaveUp)
        gaveUp = evError('EV_ERR_CHECK_REDIS', `the connection to Redis in ${namespace} ended`);
    });
  }
  redis.on('reconnecting', () => {
    reconnects++;
  });
  await Promise.all([redis.connect(), blocking.connect()]);
  const run = new RedisRun(redis, blocking);
  const wrapped = new Proxy(run, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== 'function') return v;
      // After the client gave up, every call fails with the reason (not ioredis's "Connection is closed").
      return (...args: unknown[]) =>
        (v as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch((err: unknown) => {
          throw gaveUp ?? err;
        });
    },
  });
  return {
    tunnel,
    redis,
    run: wrapped,
    get reconnects() {
      return reconnects;
    },
    async close() {
      redis.disconnect();
      blocking.disconnect();
      await tunnel.close();
    },
  };
}

export async function runCheckInCluster(
  o: CheckOptions,
  io: CheckIo,
  c: ClusterCheckOptions,
): Promise<CheckSummary> {
  validate(o);
  const started = io.clock.now();
  const status = c.onStatus ?? (() => {});
  const state = o.state ? loadClusterState(o.state) : null;
  const attachTo = c.attach ?? state?.namespace;
  const { connect } = await import('../kube/adapter.ts');
  const client = connect(c.kube);
  return attachTo === undefined
    ? startRun(o, io, c, client, started, status)
    : attachRun(o, io, c, client, attachTo, state, started, status);
}

function summaryOf(
  o: CheckOptions,
  counts: CheckSummary['counts'],
  elapsedMs: number,
  resumed: boolean,
): CheckSummary {
  return { counts, elapsedMs, resumed, exitCode: o.failOn.some((v) => counts[v] > 0) ? 1 : 0 };
}

async function startRun(
  o: CheckOptions,
  io: CheckIo,
  c: ClusterCheckOptions,
  client: KubeClient,
  started: number,
  status: (l: string) => void,
): Promise<CheckSummary> {
  const paths = (o.paths.length === 0 ? ['-'] : o.paths).map((p) =>
    p === '-' ? p : resolvePath(p),
  );
  for (const p of paths)
    if (p !== '-' && !existsSync(p))
      throw evError('EV_ERR_INPUT_INVALID', `cannot read ${p}: no such file`, {
        hint: 'check the path',
      });
  if (o.state && !o.out)
    throw evError('EV_ERR_INVALID_OPTION', '--state needs --out', {
      hint: 'the output file is what a reattached run continues',
    });
  const ttlMs = parseTtl(c.ttl ?? DEFAULT_TTL);
  const bundle = c.bundle ?? readCheckerBundle();
  const now = new Date();
  const createNamespace = c.kube.namespace === undefined;
  const namespace = c.kube.namespace ?? generateNamespaceName(now, Math.random);
  if (!isValidNamespaceName(namespace))
    throw evError('EV_ERR_INVALID_OPTION', `"${namespace}" is not a valid namespace name`, {
      hint: 'use lowercase letters, digits and dashes (at most 63).',
    });
  const password = randomBytes(24).toString('base64url');
  // The provider's config and credentials go to the shards in a Secret; validated here first (the same errors as locally).
  const provider = o.provider
    ? encodeProviderPayload(await readProviderFile(o.provider), o.provider, io.env)
    : undefined;
  const objects = buildCheckClusterManifests({
    namespace,
    createNamespace,
    now,
    ttlMs,
    token: password,
    bundle,
    shards: c.shards,
    ...(provider !== undefined ? { provider } : {}),
    leaseTtlMs: c.leaseTtlMs,
    redisUnreachableMs: c.redisUnreachableMs,
    ...(c.nodeImage ? { nodeImage: c.nodeImage } : {}),
    ...(c.redisImage ? { redisImage: c.redisImage } : {}),
    // The same stage options as a local run (one function builds the stages from them), with a per-shard concurrency.
    shard: { ...stageOptionsOf(o), concurrency: Math.max(1, Math.ceil(o.concurrency / c.shards)) },
    limits: {
      concurrency: o.concurrency,
      rate: o.rate,
      burst: o.rate === null ? 1 : rateBurst(o.rate, o.burst),
      domainConcurrency: o.domainConcurrency,
      domainRate: o.domainRate,
      mxConcurrency: o.mxConcurrency,
      mxRate: o.mxRate,
    },
  });
  const meta: RunMeta = {
    id: randomBytes(8).toString('hex'),
    created: now.getTime(),
    total: -1,
    pushed: 0,
    paths,
    out: o.out ? resolvePath(o.out) : null,
    format: o.format,
    column: o.column,
    options: optionsKey(o),
  };
  const deployment = ephemeralDeployment({
    client,
    namespace,
    createNamespace,
    what: 'the check objects',
    onStatus: status,
    ...(c.cleanups && !c.keep ? { cleanups: c.cleanups } : {}),
  });
  let conn: Connection | null = null;
  let keepRun = false;
  try {
    await checkPermissions(client, {
      namespace,
      createNamespace,
      purpose: 'run the check',
      activities: ['check-in-cluster'],
    });
    const job = objects[objects.length - 1];
    status(
      `creating ${deployment.label} (Redis + ${c.shards} shards, TTL ${formatDuration(ttlMs)})…`,
    );
    await deployment.apply(objects.slice(0, -1), io.signal);
    conn = await connectRedis(client, namespace, password, c, io.signal);
    await conn.run.create(meta);
    await deployment.apply([job], io.signal);
    if (o.state) saveClusterState(o.state, { namespace, meta, checkpoint: null });
    status(
      `Redis ${conn.tunnel.pod} ready; ${c.shards} shards started (Indexed Job ${SHARDS_NAME}); reattach with --attach ${namespace} if this CLI stops`,
    );
    c.onRunning?.({ namespace, client });
    const out = await follow(
      o,
      io,
      c,
      client,
      namespace,
      conn,
      { meta, checkpoint: null, pushed: 0 },
      status,
    );
    return summaryOf(o, out, io.clock.now() - started, false);
  } catch (err) {
    keepRun = leavesRunGoing(err, io);
    throw interruption(err, io, keepRun, namespace);
  } finally {
    await conn?.close().catch(() => {});
    if (keepRun) {
      deployment.release();
      status(
        `the run goes on in namespace ${namespace}; continue it with: kubectl email-validate check --in-cluster --attach ${namespace}${o.state ? ` (or the same command with --state ${o.state})` : ''}`,
      );
    } else if (!c.keep) {
      if (deployment.created) status(`removing ${deployment.label}…`);
      await deployment.destroy().catch((err: unknown) => {
        io.stderr.write(
          `warning: cleanup of ${deployment.label} failed: ${errorMessage(err)}\nhint: remove it later with \`kubectl email-validate gc\`.\n`,
        );
      });
    }
  }
}

/** A CLI that lost its tunnel for good or was told to stop (not Ctrl-C) leaves the run going; a failed run is removed. */
function leavesRunGoing(err: unknown, io: CheckIo): boolean {
  if (io.signal?.aborted)
    return (io.signal.reason as { leaveRunning?: boolean } | undefined)?.leaveRunning === true;
  return isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_REDIS';
}

function interruption(err: unknown, io: CheckIo, keepRun: boolean, namespace: string): unknown {
  if (!io.signal?.aborted || (isEmailValidateError(err) && err.code !== 'EV_ERR_INTERRUPTED'))
    return err;
  return keepRun
    ? evError('EV_ERR_INTERRUPTED', `stopped; the run goes on in namespace ${namespace}`, {
        hint: `continue it with \`kubectl email-validate check --in-cluster --attach ${namespace}\``,
      })
    : evError(
        'EV_ERR_INTERRUPTED',
        'interrupted; results so far were written, the cluster objects are being removed',
        { hint: 'run the check again' },
      );
}

async function follow(
  o: CheckOptions,
  io: CheckIo,
  c: ClusterCheckOptions,
  client: KubeClient,
  namespace: string,
  conn: Connection,
  start: { meta: RunMeta; checkpoint: ClusterCheckpoint | null; pushed: number },
  status: (l: string) => void,
): Promise<CheckSummary['counts']> {
  let timer: ReturnType<typeof setInterval> | null = null;
  const failed = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      void shardFailure(client, namespace).then(
        (err) => {
          if (err) reject(err);
        },
        () => {},
      );
    }, JOB_POLL_MS);
  });
  failed.catch(() => {});
  try {
    const r = await streamCheck(
      { ...o, format: start.meta.format as CheckOptions['format'], column: start.meta.column },
      io,
      conn.run,
      start,
      {
        status,
        failed,
        onCheckpoint: o.state
          ? (cp) => saveClusterState(o.state!, { namespace, meta: start.meta, checkpoint: cp })
          : undefined,
      },
    );
    if (r.recreated > 0)
      status(
        `Redis lost its data ${r.recreated} time(s); ${r.resent} addresses were queued again from this CLI's record`,
      );
    if (o.state) rmSync(o.state, { force: true });
    return r.counts;
  } finally {
    if (timer) clearInterval(timer);
  }
}

async function attachRun(
  o: CheckOptions,
  io: CheckIo,
  c: ClusterCheckOptions,
  client: KubeClient,
  namespace: string,
  state: ClusterState | null,
  started: number,
  status: (l: string) => void,
): Promise<CheckSummary> {
  if (!isValidNamespaceName(namespace))
    throw evError('EV_ERR_INVALID_OPTION', `"${namespace}" is not a valid namespace name`, {
      hint: 'pass the namespace the run printed',
    });
  const password = await client.readSecretKey(namespace, CHECK_TOKEN_SECRET, CHECK_TOKEN_KEY);
  if (password === undefined) {
    throw evError(
      'EV_ERR_CHECK_ATTACH',
      `no in-cluster check runs in namespace ${namespace} (finished, removed, or past its TTL)`,
      {
        hint: 'list running checks with `kubectl email-validate status`; start a new run without --attach',
      },
    );
  }
  // The namespace is the run's own when check --in-cluster created it (managed); otherwise -n named an existing one.
  const ownNamespace =
    (await client.getNamespace(namespace))?.metadata?.labels?.[MANAGED_BY_LABEL] !== undefined;
  let conn: Connection | null = null;
  let keepRun = false;
  try {
    conn = await connectRedis(client, namespace, password, c, io.signal);
    let meta: RunMeta | null = await conn.run.meta();
    let checkpoint = await conn.run.lastCheckpoint();
    let pushed = meta?.pushed ?? 0;
    if (meta === null) {
      // Redis lost everything while no CLI was attached: start again from this CLI's own record.
      if (!state)
        throw evError(
          'EV_ERR_CHECK_ATTACH',
          `the Redis of the run in ${namespace} lost its data and this CLI has no record of the run`,
          { hint: "pass the run's --state file, or start the check again" },
        );
      meta = { ...state.meta, total: -1, pushed: 0 };
      checkpoint = state.checkpoint;
      pushed = checkpoint?.index ?? 0;
      await conn.run.create(meta);
      status(
        `Redis in ${namespace} lost its data: the run was created again from ${o.state}; addresses after the last checkpoint (${pushed}) are queued again`,
      );
    } else if (
      state &&
      state.checkpoint &&
      (checkpoint === null || state.checkpoint.index > checkpoint.index)
    ) {
      checkpoint = state.checkpoint;
    }
    if (state && state.meta.id !== meta.id)
      throw evError('EV_ERR_CHECK_ATTACH', `the run in ${namespace} is not the one in ${o.state}`, {
        hint: 'pass the --state file of that run',
      });
    const given = o.paths.map((p) => (p === '-' ? p : resolvePath(p)));
    if (given.length > 0 && JSON.stringify(given) !== JSON.stringify(meta.paths)) {
      throw evError(
        'EV_ERR_CHECK_ATTACH',
        `the run in ${namespace} reads ${meta.paths.join(', ')}, not ${given.join(', ')}`,
        { hint: "reattach without input files (the run's are used), or with the same ones" },
      );
    }
    if (o.out && resolvePath(o.out) !== meta.out)
      throw evError(
        'EV_ERR_CHECK_ATTACH',
        `the run in ${namespace} writes to ${meta.out ?? 'stdout'}, not ${o.out}`,
        { hint: "reattach without --out (the run's is used), or with the same one" },
      );
    if (meta.paths.includes('-') && meta.total < 0)
      throw evError(
        'EV_ERR_CHECK_ATTACH',
        `the run in ${namespace} read its input from stdin and the input had not ended`,
        { hint: 'start the check again' },
      );
    status(
      `attached to the run in ${namespace}${checkpoint ? `: ${checkpoint.index} records written before, continuing` : ''}`,
    );
    c.onRunning?.({ namespace, client });
    const offline = (JSON.parse(meta.options) as unknown[])[0] === true;
    const counts = await follow(
      { ...o, offline, paths: meta.paths, out: meta.out },
      io,
      c,
      client,
      namespace,
      conn,
      { meta, checkpoint, pushed },
      status,
    );
    return summaryOf(o, counts, io.clock.now() - started, true);
  } catch (err) {
    keepRun =
      leavesRunGoing(err, io) || (isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_ATTACH');
    throw interruption(err, io, keepRun, namespace);
  } finally {
    await conn?.close().catch(() => {});
    if (!keepRun && !c.keep) {
      status(`removing the run in ${namespace}…`);
      // Reattached: the namespace is the run's own (created by `check --in-cluster`) unless -n named it.
      await removeRun(client, namespace, ownNamespace).catch((err: unknown) => {
        io.stderr.write(
          `warning: cleanup of namespace ${namespace} failed: ${errorMessage(err)}\nhint: remove it later with \`kubectl email-validate gc\`.\n`,
        );
      });
    }
  }
}

/** Removes a reattached run: its namespace when the run created it, else its objects. */
async function removeRun(
  client: KubeClient,
  namespace: string,
  ownNamespace: boolean,
): Promise<void> {
  if (ownNamespace) {
    await client.deleteNamespace(namespace);
    await client.waitNamespaceGone(namespace, NAMESPACE_GONE_WAIT_MS);
    return;
  }
  await removeCheckObjects(client, namespace);
}
