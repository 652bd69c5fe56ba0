import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { evError } from '../src/errors.ts';
import type { DnsResolver } from '../src/address/dns.ts';
import { errorCode } from '../src/guards.ts';

/** Queries asked again after c-ares gave up before the configured time at most (each of its tries waits 250 ms at least). */
export const MAX_EARLY_TIMEOUT_RETRIES = 20;

/**
 * node:dns Resolver for the DNS checks: per-try timeout and tries set here
 * (c-ares retries on its own), and `--dns-server HOST:PORT` (IPv6 as
 * [::1]:53) when given.
 *
 * c-ares (Node 22 and later) uses `timeout` only until a server has
 * answered a few queries; from then on each try waits a multiple of that
 * server's recent average latency (about a second on loopback), whatever
 * `--dns-timeout` says. A server that answers late under load (a busy
 * resolver, or this machine descheduling the process) then gives
 * `dns_timeout` verdicts for domains that resolve. A query that timed out
 * before `timeoutMs x tries` is therefore asked again until that much time
 * has passed: a reply lost or late once (a passing stall) no longer becomes a
 * verdict. A server that is always slower than c-ares's estimate still times
 * out (each new try is cut the same way).
 */
export function createDnsResolver(o: {
  server?: string;
  timeoutMs: number;
  tries: number;
}): DnsResolver {
  const r = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
  if (o.server) r.setServers([normaliseServer(o.server)]);
  const budgetMs = o.timeoutMs * o.tries;
  const ask = async <T>(query: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    for (let retry = 0; ; retry++) {
      try {
        return await query();
      } catch (err) {
        if (
          errorCode(err) !== 'ETIMEOUT' ||
          retry >= MAX_EARLY_TIMEOUT_RETRIES ||
          performance.now() - start >= budgetMs
        )
          throw err;
      }
    }
  };
  return {
    resolveMx: (name) => ask(() => r.resolveMx(name)),
    resolve4: (name) => ask(() => r.resolve4(name)),
    resolve6: (name) => ask(() => r.resolve6(name)),
  };
}

/** Validates HOST[:PORT] / [V6]:PORT; returns the form setServers accepts. */
export function normaliseServer(s: string): string {
  const bad = (): never => {
    throw evError('EV_ERR_INVALID_OPTION', `--dns-server "${s}" is not IP[:PORT]`, {
      hint: 'e.g. --dns-server 1.1.1.1 or --dns-server 127.0.0.1:5353 or --dns-server [::1]:53',
    });
  };
  let host = s;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1];
    port = v6[2];
  } else if (s.split(':').length === 2) {
    [host, port] = s.split(':');
  }
  if (!isIP(host)) bad();
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) bad();
  if (port === undefined) return host;
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
