/**
 * Tests that run Redis (the fake kubelet runs `redis:*` images with Debian's
 * redis-server) call {@link requireRedisServer} in `before`: without the
 * package they skip with the reason printed, and under CI=true a skip is a
 * failure (`.ci/run` installs it).
 */
import { readdirSync, readFileSync } from 'node:fs';
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
