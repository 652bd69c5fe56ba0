import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { evError } from '../src/errors.ts';
import type { DnsResolver } from '../src/address/dns.ts';

/**
 * node:dns Resolver for the DNS checks: per-try timeout and tries set here
 * (c-ares retries on its own), and `--dns-server HOST:PORT` (IPv6 as
 * [::1]:53) when given.
 */
export function createDnsResolver(o: {
  server?: string;
  timeoutMs: number;
  tries: number;
}): DnsResolver {
  const r = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
  if (o.server) r.setServers([normaliseServer(o.server)]);
  return r;
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
