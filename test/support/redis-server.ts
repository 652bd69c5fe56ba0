/**
 * Tests that run Redis (the fake kubelet runs `redis:*` images with Debian's
 * redis-server) call {@link requireRedisServer} in `before`: without the
 * package they skip with the reason printed, and under CI=true a skip is a
 * failure (`.ci/run` installs it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { canRunRedis, REDIS_SERVER } from './fake-kube/container-command.ts';
import { requireTool } from './require-tool.ts';

export function requireRedisServer(ctx: Mocha.Context): void {
  if (canRunRedis()) return;
  requireTool(ctx, REDIS_SERVER, 'redis-server');
}

/** Pids of the redis-server processes serving on `ip` (the fake kubelet binds each to its pod's IP). */
export function redisPidsOn(ip: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    // redis-server renames its process to "redis-server IP:PORT".
    if (/^\S*redis-server /.test(cmd) && cmd.includes(` ${ip}:`)) out.push(Number(d));
  }
  return out;
}

/** Resolves when `cond` holds, checking after each Redis reply; rejects after `ms`. */
export async function until(
  cond: () => Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

export interface LocalRedis {
  /** A new connection (auto-pipelining on, as the shards use it); closed by `close`. */
  client(): Redis;
  /** Every connection made so far, oldest first. */
  readonly clients: readonly Redis[];
  close(): void;
}

/** A throw-away redis-server on a Unix socket in a temporary directory (no port, nothing saved). */
export async function startLocalRedis(): Promise<LocalRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'ev-redis-'));
  const socket = join(dir, 'redis.sock');
  const server = spawn(
    REDIS_SERVER,
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const clients: Redis[] = [];
  const close = (): void => {
    for (const c of clients) c.disconnect();
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => Promise.resolve(existsSync(socket)), 'redis-server to listen');
  } catch (err) {
    close();
    throw err;
  }
  return {
    client: () => {
      const c = new Redis({ path: socket, enableAutoPipelining: true });
      clients.push(c);
      return c;
    },
    clients,
    close,
  };
}
