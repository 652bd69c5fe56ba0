/**
 * Entry point of the checker bundle that `check --in-cluster` ships in
 * ConfigMaps and runs on the stock Node.js image: one shard of the Indexed
 * Job. Work, results and limits live in the run's Redis (the official image,
 * in the same namespace); the password comes from the run's Secret.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { evError, isEmailValidateError } from '../src/errors.ts';
import {
  SHARD_EXIT_REDIS_UNREACHABLE,
  SHARD_UNREACHABLE_MS,
  type ClusterLimits,
  type ShardOptions,
} from '../src/check-cluster/protocol.ts';
import { PROVIDER_FILE_ENV, decodeProviderPayload } from '../src/check-cluster/provider-secret.ts';
import { systemClock } from '../src/system-clock.ts';
import { runShard } from './shard.ts';
import { errorMessage, errorStack } from '../src/guards.ts';

const env = process.env;
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

function required(name: string): string {
  const v = env[name];
  if (!v)
    throw evError('EV_ERR_INVALID_OPTION', `${name} is not set`, {
      hint: 'the shard runs from the Job that check --in-cluster creates',
    });
  return v;
}

function json<T>(name: string): T {
  try {
    return JSON.parse(required(name)) as T;
  } catch (err) {
    if (isEmailValidateError(err)) throw err;
    throw evError('EV_ERR_INVALID_OPTION', `${name} is not valid JSON`, {
      hint: 'the shard runs from the Job that check --in-cluster creates',
    });
  }
}

async function main(): Promise<void> {
  const index = env.JOB_COMPLETION_INDEX ?? '0';
  // A restarted container keeps its pod name: the random part makes it a new consumer.
  const shard = `${index}/${env.EV_POD_NAME ?? env.HOSTNAME ?? 'shard'}/${randomBytes(4).toString('hex')}`;
  const options = json<ShardOptions>('EV_CHECK_OPTIONS');
  const limits = json<ClusterLimits>('EV_CHECK_LIMITS');
  // --provider: the config and its credentials, from the run's Secret mounted as a file.
  const providerFile = env[PROVIDER_FILE_ENV];
  const provider = providerFile
    ? decodeProviderPayload(readFileSync(providerFile, 'utf8'))
    : undefined;
  // host:port, or [IPv6]:port.
  const address = required('EV_REDIS_ADDRESS');
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  if (!m)
    throw evError('EV_ERR_INVALID_OPTION', `EV_REDIS_ADDRESS "${address}" is not host:port`, {
      hint: 'the shard runs from the Job that check --in-cluster creates',
    });
  const host = m[1];
  const port = Number(m[2]);
  const unreachableMs = Number(env.EV_REDIS_UNREACHABLE_MS ?? SHARD_UNREACHABLE_MS);
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort(evError('EV_ERR_INTERRUPTED', 'SIGTERM')));
  let down: number | null = null;
  const redis = new Redis({
    host,
    port,
    password: required('EV_TOKEN'),
    lazyConnect: true,
    // Reconnect quickly; after SHARD_UNREACHABLE_MS give up, so the Job restarts us and the
    // Service name is looked up again (a replaced Redis pod may have a new address).
    retryStrategy: () => {
      down ??= Date.now();
      if (Date.now() - down > unreachableMs) {
        ac.abort(
          evError(
            'EV_ERR_CHECK_REDIS',
            `Redis at ${host} unreachable for ${Math.round(unreachableMs / 1000)} s`,
          ),
        );
        return null;
      }
      return 200;
    },
    maxRetriesPerRequest: null,
    // Commands issued in one event-loop turn (permits, DNS answers, results of many
    // checks) go out as one write and come back as one read.
    enableAutoPipelining: true,
  });
  // Claims block in XREADGROUP for up to BLOCK_MS: on their own connection, so that the
  // permits, DNS answers and results on `redis` never queue behind one.
  const blocking = redis.duplicate({ enableAutoPipelining: false });
  for (const c of [redis, blocking]) {
    c.on('ready', () => {
      down = null;
    });
    c.on('error', () => {}); // reported through retryStrategy and failed commands
  }
  await Promise.all([redis.connect(), blocking.connect()]);
  log(`shard ${shard} starting against ${host}`);
  const aborted = new Promise<never>((_, reject) => {
    ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
  });
  const r = await Promise.race([
    runShard({
      redis,
      blocking,
      shard,
      options,
      limits,
      ...(provider ? { provider } : {}),
      clock: systemClock,
      signal: ac.signal,
      log,
      leaseMs: env.EV_LEASE_TTL_MS ? Number(env.EV_LEASE_TTL_MS) : undefined,
    }),
    aborted,
  ]);
  log(`shard ${shard} done: ${r.checked} checked`);
  redis.disconnect();
  blocking.disconnect();
  process.exit(0);
}

main().catch((err: unknown) => {
  if (isEmailValidateError(err))
    log(`error ${err.code}: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
  else log(`error EV_ERR_INTERNAL: ${errorStack(err) ?? errorMessage(err)}`);
  process.exit(
    isEmailValidateError(err) && err.code === 'EV_ERR_CHECK_REDIS'
      ? SHARD_EXIT_REDIS_UNREACHABLE
      : 1,
  );
});
