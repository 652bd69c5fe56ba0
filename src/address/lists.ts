/**
 * List checks: disposable, role-based and free-provider addresses, and typo
 * suggestions for popular domains. Data comes from well-kept packages
 * (disposable-email-domains-js, CC0; free-email-domains, MIT;
 * @zootools/email-spell-checker's popular domains, MIT) plus our own role list;
 * every list can be replaced through {@link createLists} for tests.
 */

import disposableData from 'disposable-email-domains-js/dist/dict/disposable_email_blocklist.json' with { type: 'json' };
import freeData from 'free-email-domains/domains.json' with { type: 'json' };
import { POPULAR_DOMAINS as SPELL_POPULAR } from '@zootools/email-spell-checker';
import { damerauLevenshtein } from './typo.ts';

/**
 * Local parts that name a function, not a person (RFC 2142 mailboxes plus the
 * ones list-cleaning tools commonly flag). Compared lower-cased, `+tag` removed.
 */
export const ROLE_LOCAL_PARTS: readonly string[] = Object.freeze([
  'abuse',
  'accounting',
  'accounts',
  'admin',
  'administrator',
  'alerts',
  'all',
  'billing',
  'bounce',
  'bounces',
  'careers',
  'ceo',
  'community',
  'compliance',
  'contact',
  'contactus',
  'customerservice',
  'devnull',
  'devops',
  'dns',
  'do-not-reply',
  'donotreply',
  'enquiries',
  'enquiry',
  'everyone',
  'feedback',
  'finance',
  'ftp',
  'hello',
  'help',
  'helpdesk',
  'hostmaster',
  'hr',
  'info',
  'inquiries',
  'inquiry',
  'investor',
  'investors',
  'ir',
  'it',
  'jobs',
  'legal',
  'list',
  'listserv',
  'mail',
  'mailer-daemon',
  'majordomo',
  'marketing',
  'media',
  'news',
  'newsletter',
  'no-reply',
  'noc',
  'nobody',
  'noreply',
  'notifications',
  'office',
  'ops',
  'orders',
  'partners',
  'postmaster',
  'pr',
  'press',
  'privacy',
  'recruiting',
  'recruitment',
  'registrar',
  'reply',
  'root',
  'sales',
  'security',
  'service',
  'services',
  'shop',
  'staff',
  'subscribe',
  'support',
  'sysadmin',
  'team',
  'tech',
  'unsubscribe',
  'usenet',
  'uucp',
  'webmaster',
  'www',
]);

/** Domains typos are compared against (besides the spell-checker package's list). */
export const POPULAR_DOMAINS: readonly string[] = Object.freeze([
  '126.com',
  '163.com',
  'aol.com',
  'att.net',
  'bellsouth.net',
  'bigpond.com',
  'bk.ru',
  'btinternet.com',
  'charter.net',
  'comcast.net',
  'cox.net',
  'daum.net',
  'earthlink.net',
  'fastmail.com',
  'free.fr',
  'freenet.de',
  'gmail.com',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'googlemail.com',
  'hey.com',
  'hotmail.co.uk',
  'hotmail.com',
  'hotmail.de',
  'hotmail.fr',
  'hotmail.it',
  'icloud.com',
  'inbox.ru',
  'interia.pl',
  'laposte.net',
  'libero.it',
  'list.ru',
  'live.co.uk',
  'live.com',
  'mac.com',
  'mail.com',
  'mail.ru',
  'me.com',
  'msn.com',
  'naver.com',
  'o2.pl',
  'optusnet.com.au',
  'orange.fr',
  'outlook.com',
  'outlook.de',
  'outlook.fr',
  'pm.me',
  'proton.me',
  'protonmail.com',
  'qq.com',
  'rambler.ru',
  'rediffmail.com',
  'rocketmail.com',
  'rogers.com',
  'sbcglobal.net',
  'seznam.cz',
  'sfr.fr',
  'shaw.ca',
  'sky.com',
  'sympatico.ca',
  't-online.de',
  'telus.net',
  'tutanota.com',
  'verizon.net',
  'virginmedia.com',
  'wanadoo.fr',
  'web.de',
  'wp.pl',
  'xtra.co.nz',
  'yahoo.co.in',
  'yahoo.co.jp',
  'yahoo.co.uk',
  'yahoo.com',
  'yahoo.fr',
  'yandex.com',
  'yandex.ru',
  'ymail.com',
  'zoho.com',
]);

/** Domains shorter than this get no typo suggestion: too many real short domains are one edit from a popular one. */
export const MIN_TYPO_DOMAIN_LENGTH = 6;
/** Edits allowed for a suggestion: 1 up to this length, 2 above it. */
export const TYPO_TWO_EDITS_FROM_LENGTH = 10;
/** Parent labels walked when matching sub-domains of a disposable domain (a.b.mailinator.com). */
export const MAX_PARENT_LABELS = 8;

export interface DomainListFlags {
  disposable: boolean;
  free: boolean;
  /** A popular domain one or two edits away, when the domain looks like its typo. */
  suggestion: string | null;
}

export interface Lists {
  /** Flags for a lower-case ASCII domain. Pure; callers cache per domain. */
  domain(domain: string): DomainListFlags;
  /** True when the local part names a role (admin@, support@, …). */
  isRole(local: string): boolean;
  readonly sizes: { disposable: number; free: number; role: number; popular: number };
}

export interface ListData {
  disposable?: Iterable<string>;
  free?: Iterable<string>;
  role?: Iterable<string>;
  popular?: Iterable<string>;
}

/** Builds the list checker; the default data comes from the packages above. */
export function createLists(data: ListData = {}): Lists {
  const disposable = new Set<string>(data.disposable ?? disposableData);
  const free = new Set<string>(data.free ?? freeData);
  const role = new Set<string>(data.role ?? ROLE_LOCAL_PARTS);
  const popular = [
    ...new Set<string>(data.popular ?? [...POPULAR_DOMAINS, ...SPELL_POPULAR]),
  ].sort();
  const popularSet = new Set(popular);
  let maxRole = 0;
  let roleHasDotOrDigit = false;
  for (const r of role) {
    if (r.length > maxRole) maxRole = r.length;
    if (/[.0-9]/.test(r)) roleHasDotOrDigit = true;
  }

  function isDisposable(domain: string): boolean {
    if (disposable.has(domain)) return true;
    let i = domain.indexOf('.');
    for (let k = 0; i !== -1 && k < MAX_PARENT_LABELS; k++) {
      const parent = domain.slice(i + 1);
      if (parent.indexOf('.') === -1) return false; // never match a bare TLD
      if (disposable.has(parent)) return true;
      i = domain.indexOf('.', i + 1);
    }
    return false;
  }

  function suggest(domain: string): string | null {
    if (domain.length < MIN_TYPO_DOMAIN_LENGTH || popularSet.has(domain)) return null;
    // A domain on the free-provider or disposable list is a real mail service
    // (foxmail.com, yopmail.com are one edit from hotmail.com, and their users
    // are real): never "corrected". A typo-squatting domain on those lists
    // (gmial.com) is flagged by the list itself. A domain with MX records is
    // never corrected either; that is known only after DNS (pipeline.ts).
    if (free.has(domain) || isDisposable(domain)) return null;
    return closestPopular(domain);
  }

  function closestPopular(domain: string): string | null {
    const max = domain.length >= TYPO_TWO_EDITS_FROM_LENGTH ? 2 : 1;
    let best: string | null = null;
    let bestD = max + 1;
    for (const p of popular) {
      if (Math.abs(p.length - domain.length) > max) continue;
      const d = damerauLevenshtein(domain, p, max);
      if (d < bestD) {
        bestD = d;
        best = p;
        if (d === 1 && max === 1) break;
      }
    }
    return bestD <= max ? best : null;
  }

  return {
    domain(domain: string): DomainListFlags {
      return {
        disposable: isDisposable(domain),
        free: free.has(domain),
        suggestion: suggest(domain),
      };
    },
    isRole(local: string): boolean {
      // Cheap rejection before hashing: no role name is longer than
      // maxRole or contains a dot or a digit (most personal addresses do).
      const plusAt = local.indexOf('+');
      const n = plusAt > 0 ? plusAt : local.length;
      if (n > maxRole) return false;
      for (let i = 0; i < n; i++) {
        const c = local.charCodeAt(i);
        if (c === 46 || (c >= 48 && c <= 57)) {
          if (!roleHasDotOrDigit) return false;
          break;
        }
      }
      let l = local;
      const plus = l.indexOf('+');
      if (plus > 0) l = l.slice(0, plus);
      if (role.has(l)) return true;
      const lower = l.toLowerCase();
      return lower !== l && role.has(lower);
    },
    sizes: {
      disposable: disposable.size,
      free: free.size,
      role: role.size,
      popular: popular.length,
    },
  };
}
