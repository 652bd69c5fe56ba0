/**
 * The `--release-to` allow-list: the only SMTP servers a captured message may
 * be relayed to (MailHog's and Mailpit's "release"). Without an entry nothing
 * is ever relayed, so the sink can never become an open relay.
 */
import { isIPv6 } from 'node:net';

/** One allowed relay: a host, and a port or null for any port of that host. */
export interface ReleaseTarget {
  readonly host: string;
  readonly port: number | null;
}

/** Entries in --release-to; a list, not a directory of servers. */
export const MAX_RELEASE_TARGETS = 100;

/**
 * Parses `HOST[:PORT],…` (IPv6 as `[::1]:25`). Returns the problem as a string
 * for the caller's option error, or the targets.
 */
export function parseReleaseTargets(raw: string): ReleaseTarget[] | string {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length > MAX_RELEASE_TARGETS) return `must list at most ${MAX_RELEASE_TARGETS} hosts`;
  const out: ReleaseTarget[] = [];
  for (const entry of entries) {
    let host = entry;
    let port: number | null = null;
    const bracket = /^\[([0-9a-fA-F:.]{2,45})\](?::(\d{1,5}))?$/.exec(entry);
    if (bracket) {
      host = bracket[1]!;
      port = bracket[2] === undefined ? null : Number(bracket[2]);
    } else {
      const colon = entry.lastIndexOf(':');
      if (colon >= 0 && entry.indexOf(':') === colon) {
        host = entry.slice(0, colon);
        if (!/^\d{1,5}$/.test(entry.slice(colon + 1)))
          return `has a bad port in ${JSON.stringify(entry)}`;
        port = Number(entry.slice(colon + 1));
      }
    }
    if (host.includes(':') && !isIPv6(host))
      return `has a bad host in ${JSON.stringify(entry)} (IPv6 addresses go in brackets: [::1]:25)`;
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host))
      return `has a bad host in ${JSON.stringify(entry)} (expected HOST[:PORT])`;
    if (port !== null && (port < 1 || port > 65535))
      return `has a port out of range in ${JSON.stringify(entry)}`;
    out.push(Object.freeze({ host: host.toLowerCase(), port }));
  }
  return out;
}

/** The entry `host:port` matches (host compared case-insensitively, as typed: no DNS), or undefined. */
export function matchReleaseTarget(
  targets: readonly ReleaseTarget[],
  host: string,
  port: number,
): ReleaseTarget | undefined {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return targets.find((t) => t.host === h && (t.port === null || t.port === port));
}

/** True when `host:port` is on the list. */
export function releaseAllowed(
  targets: readonly ReleaseTarget[],
  host: string,
  port: number,
): boolean {
  return matchReleaseTarget(targets, host, port) !== undefined;
}

/** `host:port` (bracketed for IPv6) of a target, `*` standing for any port. */
export function formatReleaseTarget(t: ReleaseTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${host}:${t.port ?? '*'}`;
}
