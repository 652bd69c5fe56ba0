/**
 * Entry point of the bundle that `check --in-cluster` ships in ConfigMaps:
 * one file, two roles chosen by EV_CHECK_ROLE (coordinator or shard), so the
 * cluster pulls only the stock Node.js image.
 */
import { randomBytes } from 'node:crypto';
import { createCoordinator } from './coordinator.ts';
import { runShard } from './shard.ts';
import { systemClock } from '../system-clock.ts';
import { COORDINATOR_PORT, type CoordinatorLimits, type ShardOptions } from '../../../src/check-cluster/protocol.ts';

const env = process.env;
const log = (line: string): void => { process.stderr.write(`${new Date().toISOString()} ${line}\n`); };

function required(name: string): string {
  const v = env[name];
  if (!v) {
    log(`fatal: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const role = env.EV_CHECK_ROLE;
  const token = required('EV_TOKEN');
  if (role === 'coordinator') {
    const limits = JSON.parse(required('EV_CHECK_LIMITS')) as CoordinatorLimits;
    const c = createCoordinator({ token, limits, clock: systemClock, leaseTtlMs: env.EV_LEASE_TTL_MS ? Number(env.EV_LEASE_TTL_MS) : undefined, log });
    const port = await c.listen(Number(env.EV_PORT ?? COORDINATOR_PORT), env.EV_HOST ?? '::');
    log(`coordinator listening on ${env.EV_HOST ?? '::'}:${port}`);
    const stop = (): void => { void c.close().then(() => process.exit(0)); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  if (role === 'shard') {
    const index = env.JOB_COMPLETION_INDEX ?? '0';
    // A restarted container keeps its pod name: the random part makes it a new shard, so the
    // coordinator retires the previous process's leases at once instead of renewing them.
    const shard = `${index}/${env.EV_POD_NAME ?? env.HOSTNAME ?? 'shard'}/${randomBytes(4).toString('hex')}`;
    const ac = new AbortController();
    process.once('SIGTERM', () => ac.abort(new Error('SIGTERM')));
    const options = JSON.parse(required('EV_CHECK_OPTIONS')) as ShardOptions;
    log(`shard ${shard} starting against ${required('EV_COORDINATOR_URL')}`);
    const r = await runShard({ url: required('EV_COORDINATOR_URL'), token, shard, options, clock: systemClock, signal: ac.signal, log });
    log(`shard ${shard} done: ${r.checked} checked`);
    process.exit(0);
  }
  log(`fatal: EV_CHECK_ROLE must be coordinator or shard, got "${role ?? ''}"`);
  process.exit(2);
}

main().catch((err: unknown) => {
  log(`fatal: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
