/**
 * SMTP probe planning: which hosts to dial, what to say, what replies mean.
 * Pure; the dialogue itself runs over an injected transport.
 */

import { diagnose } from './syntax.ts';
import { isNonPublicIp, type DomainDns } from './dns.ts';

/**
 * Domains a prober must never claim as its HELO name or MAIL FROM domain:
 * pretending to be a big provider is what gets probing IPs blocklisted (and
 * fails SPF for MAIL FROM).
 */
export const FORBIDDEN_IDENTITY_DOMAINS: readonly string[] = Object.freeze([
  'gmail.com',
  'googlemail.com',
  'google.com',
  'yahoo.com',
  'ymail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'microsoft.com',
  'icloud.com',
  'me.com',
  'apple.com',
  'aol.com',
  'protonmail.com',
  'proton.me',
  'gmx.com',
  'gmx.net',
  'web.de',
  'mail.ru',
  'yandex.ru',
  'yandex.com',
  'qq.com',
  'localhost',
  'localdomain',
]);

/** Length of the random local part used for catch-all detection. */
export const CATCH_ALL_LOCAL_LENGTH = 20;

function claimsForbidden(domain: string): string | null {
  const d = domain.toLowerCase().replace(/\.$/, '');
  for (const f of FORBIDDEN_IDENTITY_DOMAINS) if (d === f || d.endsWith(`.${f}`)) return f;
  return null;
}

/**
 * Checks a HELO/EHLO name: a fully-qualified host name that is not a big
 * provider's. Returns a problem description or null when fine.
 */
export function heloProblem(name: string): string | null {
  if (!name) return 'is empty';
  const r = diagnose(`x@${name}`);
  if (r.category === 'invalid' || r.literal) return 'is not a valid host name';
  if (!r.domain.includes('.'))
    return 'is not fully qualified (it needs a dot, e.g. probe.mail.example.net)';
  const f = claimsForbidden(r.domain);
  if (f)
    return `claims to be ${f}, which gets probing hosts blocklisted; use a name that resolves to this machine`;
  return null;
}

/** Checks a MAIL FROM address ('' is the null reverse-path, allowed). */
export function mailFromProblem(address: string): string | null {
  if (address === '') return null;
  const r = diagnose(address);
  if (r.category === 'invalid') return `is not a valid address (${r.diagnosis})`;
  const f = claimsForbidden(r.domain);
  if (f)
    return `uses ${f}, whose SPF will fail from here; use a domain you control or the null sender ""`;
  return null;
}

export interface ProbeTarget {
  host: string;
  /** The address to connect to (first resolved address of the host). */
  address: string;
}

/**
 * MX hosts to try, best priority first, each with its first address.
 * Non-public addresses are skipped unless `allowPrivate` (tests on loopback).
 */
export function probeTargets(dns: DomainDns, allowPrivate: boolean): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const mx of dns.mx) {
    for (const a of mx.addresses) {
      if (!allowPrivate && isNonPublicIp(a)) continue;
      out.push({ host: mx.exchange, address: a });
      break;
    }
  }
  return out;
}

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status (e.g. 5.1.1) when the server sent one. */
  enhanced?: string;
  message: string;
}

export type RcptClass =
  | 'accepted'
  /** 5xx that names the mailbox: unknown user, no such mailbox, disabled. */
  | 'no_mailbox'
  /** Another permanent rejection of the recipient. */
  | 'rejected'
  /** 4xx: greylisting, throttling, temporary failure. Retry later. */
  | 'temporary'
  /** The server refuses us (block list, policy), not the recipient. */
  | 'blocked';

// Words that, in a 5xx, mean the server rejects the sender's IP or reputation.
const BLOCK_WORDS = [
  'spamhaus',
  'blocklist',
  'blacklist',
  'block list',
  'blocked',
  'banned',
  'listed',
  'reputation',
  'not allowed to send',
  'rbl',
  'policy',
];
// Enhanced codes of RFC 3463 that are about the mailbox.
const MAILBOX_ENHANCED = new Set(['5.1.1', '5.1.0', '5.1.10', '5.2.1', '5.1.6']);

/** Classifies the reply to RCPT TO. */
export function classifyRcpt(reply: SmtpReply): RcptClass {
  const c = reply.code;
  if (c >= 200 && c < 300) return 'accepted';
  if (c >= 400 && c < 500) return 'temporary';
  if (c >= 500 && c < 600) {
    if (reply.enhanced && MAILBOX_ENHANCED.has(reply.enhanced)) return 'no_mailbox';
    const m = reply.message.toLowerCase();
    if (reply.enhanced?.startsWith('5.7.') || BLOCK_WORDS.some((w) => m.includes(w)))
      return 'blocked';
    if (c === 550 || c === 551 || c === 553) return 'no_mailbox';
    return 'rejected';
  }
  return 'rejected';
}

/** Parses the enhanced status code at the start of a reply text. */
export function enhancedOf(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  const part = (): boolean => {
    const s = i;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57 && i - s < 3) i++;
    return i > s;
  };
  const c0 = text.charCodeAt(0);
  if (c0 !== 50 && c0 !== 52 && c0 !== 53) return undefined;
  if (!part() || text[i] !== '.') return undefined;
  i++;
  if (!part() || text[i] !== '.') return undefined;
  i++;
  if (!part()) return undefined;
  if (i < n && text[i] !== ' ') return undefined;
  return text.slice(0, i);
}

/** A random local part for catch-all detection (lower-case letters and digits). */
export function randomLocalPart(random: () => number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'ev-';
  for (let i = 0; i < CATCH_ALL_LOCAL_LENGTH; i++)
    s += alphabet[Math.floor(random() * alphabet.length) % alphabet.length];
  return s;
}
