/**
 * DKIM verification (RFC 6376, RFC 8301, RFC 8463) with node:crypto.
 *
 * Why our own and not mailauth's verifier: the sink ships as ONE esbuild bundle
 * in a ConfigMap (1 MiB for the whole object, after gzip and base64). Measured
 * with esbuild 0.28 (minified ESM, gzip -9 default level):
 *   - mailparser alone:                                   1,138,787 B, 422,655 B gzipped
 *   - mailparser + mailauth/lib/dkim/verify.js (deep):    2,347,440 B, 846,562 B gzipped
 *   - sink/analysis/index.ts (this verifier):               19,392 B,   8,084 B gzipped
 *   - sink/analysis/index.ts + mailauth's verifier:                    434,563 B gzipped
 *   - whole sink (sink/main.ts) today:                  1,532,978 B, 549,030 B gzipped (732 KB base64)
 *   - whole sink + mailauth's verifier:                 2,743,005 B, 974,426 B gzipped (1,299 KB base64)
 * The deep import still costs +1.21 MB (+424 KB gzipped): mailauth's tools.js
 * loads joi, tldts and its own older libmime (with iconv-lite and
 * encoding-japanese tables) at module top level, so no deep path avoids them,
 * and with it the sink no longer fits one ConfigMap. mailauth remains a
 * dependency: the tests sign with it and check that both verifiers agree.
 *
 * Scope: rsa-sha256 and ed25519-sha256 (rsa-sha1 is refused per RFC 8301),
 * simple and relaxed canonicalization for headers and body, `l=`, `x=`,
 * `i=` alignment, key records (`k=`, `h=`, `t=s`, revoked `p=`).
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import type { DkimResult, DkimSignatureResult } from '../../src/protocol.ts';
export type { DkimSignatureResult } from '../../src/protocol.ts';
import type { RawHeader } from './headers.ts';
import { errorCode } from '../../src/guards.ts';

/** DKIM-Signature headers verified per message; each costs a DNS lookup and a body hash, real mail carries 1-3. */
export const MAX_DKIM_SIGNATURES = 5;
/** Milliseconds one key lookup may take before the signature is temperror; in a cluster DNS may be unreachable. */
export const DKIM_DNS_TIMEOUT_MS = 2000;
/** Body bytes hashed per canonicalization; above this the signature is not checked (neutral) instead of burning CPU. */
export const MAX_DKIM_BODY_BYTES = 32 * 1024 * 1024;
/** Characters of one DKIM-Signature header parsed; real ones are under 1 KiB with a 4096-bit key. */
export const MAX_DKIM_SIGNATURE_CHARS = 16 * 1024;
/** Entries of `h=` honoured; signers list 10-40 headers. */
export const MAX_DKIM_SIGNED_HEADERS = 200;
/** Characters of a key record accepted (a 4096-bit RSA key is about 800). */
export const MAX_DKIM_KEY_RECORD_CHARS = 8 * 1024;
/** Parsed public keys kept across messages (keyed by the record text, so a rotated key is a new entry). */
export const MAX_CACHED_KEYS = 256;
/** RFC 8301 section 3.2: verifiers must not accept RSA keys under 1024 bits. */
export const MIN_RSA_KEY_BITS = 1024;

/**
 * Looks up TXT records, the shape of `dns.promises.resolveTxt` (each record as
 * its character-strings). The rrtype argument keeps mailauth-style resolvers
 * compatible. Reject with `code` ENOTFOUND/ENODATA for "no such record".
 */
export type DkimResolver = (name: string, rrtype: 'TXT') => Promise<string[][]>;

export interface DkimVerdict {
  result: DkimResult;
  signatures: DkimSignatureResult[];
  /** DKIM-Signature headers beyond {@link MAX_DKIM_SIGNATURES} that were not checked. */
  skipped: number;
}

export interface DkimOptions {
  resolver?: DkimResolver;
  now?: () => Date;
  timeoutMs?: number;
}

/** How long a key record looked up by the default resolver is reused; the same few senders sign most test mail. */
export const DKIM_KEY_CACHE_TTL_MS = 60_000;
/** How long a failed lookup is remembered: without DNS (a locked-down cluster), messages then fail fast instead of each waiting out the timeout. */
export const DKIM_KEY_FAILURE_TTL_MS = 10_000;
/** Key lookups remembered at once. */
export const MAX_DKIM_KEY_CACHE = 256;

/**
 * Wraps a resolver with a small TTL cache of answers and failures (keyed by
 * name). Used for the default DNS resolver only: injected resolvers (tests,
 * key rotation) are asked every time.
 */
export function cachingResolver(
  base: DkimResolver,
  clock: () => number = Date.now,
  timeoutMs = DKIM_DNS_TIMEOUT_MS,
): DkimResolver {
  const cache = new Map<string, { expires: number; answer: Promise<string[][]> }>();
  return (name, rrtype) => {
    const key = name.toLowerCase();
    const now = clock();
    const hit = cache.get(key);
    if (hit && hit.expires > now) return hit.answer;
    cache.delete(key);
    const oldest = cache.keys().next();
    if (cache.size >= MAX_DKIM_KEY_CACHE && !oldest.done) cache.delete(oldest.value);
    // The answer settles within the time box even if the base never does, so a hung DNS is remembered as a failure.
    const answer = new Promise<string[][]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(Object.assign(new Error(`DNS lookup of ${name} timed out`), { code: 'ETIMEOUT' })),
        timeoutMs,
      );
      timer.unref?.();
      Promise.resolve()
        .then(() => base(name, rrtype))
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
    const entry = { expires: now + DKIM_KEY_CACHE_TTL_MS, answer };
    entry.answer.catch(() => {
      entry.expires = Math.min(entry.expires, clock() + DKIM_KEY_FAILURE_TTL_MS);
    });
    cache.set(key, entry);
    return entry.answer;
  };
}

let defaultDnsResolver: InstanceType<typeof dnsPromises.Resolver> | null = null;

/** Production resolver: node:dns with one try and a short per-query timeout (the caller time-boxes too), cached briefly. */
export const defaultDkimResolver: DkimResolver = cachingResolver(async (name) => {
  defaultDnsResolver ??= new dnsPromises.Resolver({ timeout: DKIM_DNS_TIMEOUT_MS, tries: 1 });
  return defaultDnsResolver.resolveTxt(name);
});

/** Order used to summarise several signatures into one verdict: the best outcome wins. */
const RESULT_RANK: Record<DkimResult, number> = {
  pass: 6,
  fail: 5,
  temperror: 4,
  permerror: 3,
  neutral: 2,
  none: 1,
};

export function summarizeDkim(results: readonly DkimResult[]): DkimResult {
  let best: DkimResult = 'none';
  for (const r of results) if (RESULT_RANK[r] > RESULT_RANK[best]) best = r;
  return best;
}

/** DER prefix of a SubjectPublicKeyInfo for a raw 32-byte Ed25519 key (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

class DkimError extends Error {
  readonly result: DkimResult;
  constructor(result: DkimResult, message: string) {
    super(message);
    this.result = result;
  }
}

interface ParsedSignature {
  tags: Map<string, string>;
  algorithm: string;
  keyType: 'rsa' | 'ed25519';
  headerCanon: 'simple' | 'relaxed';
  bodyCanon: 'simple' | 'relaxed';
  domain: string;
  selector: string;
  signedHeaders: string[];
  bodyHash: Buffer;
  signature: Buffer;
  bodyLength: number | null;
  identityDomain: string;
}

/** Parses `tag=value; tag=value` lists (RFC 6376 section 3.2). Throws DkimError on duplicates or bad names. */
export function parseTagList(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of value.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) throw new DkimError('permerror', `malformed tag "${trimmed.slice(0, 20)}"`);
    const name = trimmed.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
      throw new DkimError('permerror', `malformed tag name "${name.slice(0, 20)}"`);
    if (tags.has(name)) throw new DkimError('permerror', `duplicate tag ${name}=`);
    tags.set(name, trimmed.slice(eq + 1).trim());
  }
  return tags;
}

function decodeBase64Tag(value: string, tag: string): Buffer {
  const compact = value.replace(/[ \t\r\n]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact))
    throw new DkimError('permerror', `${tag}= is not base64`);
  return Buffer.from(compact, 'base64');
}

function parseSignature(header: RawHeader): ParsedSignature {
  if (header.raw.length > MAX_DKIM_SIGNATURE_CHARS)
    throw new DkimError('permerror', 'signature header too long');
  const tags = parseTagList(header.value);
  for (const t of ['v', 'a', 'b', 'bh', 'd', 'h', 's']) {
    if (!tags.has(t)) throw new DkimError('permerror', `missing required tag ${t}=`);
  }
  if (tags.get('v') !== '1')
    throw new DkimError('permerror', `unsupported version v=${tags.get('v')?.slice(0, 10)}`);
  const algorithm = (tags.get('a') ?? '').toLowerCase();
  let keyType: 'rsa' | 'ed25519';
  if (algorithm === 'rsa-sha256') keyType = 'rsa';
  else if (algorithm === 'ed25519-sha256') keyType = 'ed25519';
  else if (algorithm === 'rsa-sha1')
    throw new DkimError('permerror', 'rsa-sha1 is not accepted (RFC 8301)');
  else throw new DkimError('permerror', `unsupported algorithm a=${algorithm.slice(0, 30)}`);
  const canon = (tags.get('c') ?? 'simple/simple').toLowerCase().split('/');
  const headerCanon = canon[0];
  const bodyCanon = canon[1] ?? 'simple';
  if (
    canon.length > 2 ||
    (headerCanon !== 'simple' && headerCanon !== 'relaxed') ||
    (bodyCanon !== 'simple' && bodyCanon !== 'relaxed')
  ) {
    throw new DkimError(
      'permerror',
      `unsupported canonicalization c=${(tags.get('c') ?? '').slice(0, 30)}`,
    );
  }
  const domain = (tags.get('d') ?? '').toLowerCase();
  const selector = (tags.get('s') ?? '').toLowerCase();
  const label =
    /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
  if (domain.length > 253 || !label.test(domain))
    throw new DkimError('permerror', 'invalid d= domain');
  if (selector.length > 253 || !label.test(selector))
    throw new DkimError('permerror', 'invalid s= selector');
  const signedHeaders = (tags.get('h') ?? '')
    .split(':')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (signedHeaders.length > MAX_DKIM_SIGNED_HEADERS)
    throw new DkimError('permerror', `h= lists more than ${MAX_DKIM_SIGNED_HEADERS} headers`);
  if (!signedHeaders.includes('from'))
    throw new DkimError('permerror', 'h= does not include From (RFC 6376 section 5.4)');
  let bodyLength: number | null = null;
  if (tags.has('l')) {
    const l = tags.get('l') ?? '';
    if (!/^\d{1,76}$/.test(l)) throw new DkimError('permerror', 'invalid l= value');
    bodyLength = Number(l);
  }
  // i= defaults to @d; its domain must be d or a subdomain of d.
  const identity = tags.get('i') ?? `@${domain}`;
  const at = identity.lastIndexOf('@');
  const identityDomain = (at < 0 ? '' : identity.slice(at + 1)).toLowerCase();
  if (identityDomain !== domain && !identityDomain.endsWith(`.${domain}`)) {
    throw new DkimError('permerror', 'i= is not within d= (RFC 6376 section 3.5)');
  }
  return {
    tags,
    algorithm,
    keyType,
    headerCanon,
    bodyCanon,
    domain,
    selector,
    signedHeaders,
    bodyHash: decodeBase64Tag(tags.get('bh') ?? '', 'bh'),
    signature: decodeBase64Tag(tags.get('b') ?? '', 'b'),
    bodyLength,
    identityDomain,
  };
}

/** Body canonicalization (RFC 6376 section 3.4.3 / 3.4.4), latin1 in and out so bytes round-trip. */
export function canonicalizeBody(body: string, mode: 'simple' | 'relaxed'): string {
  // The signer saw CRLF line endings; messages stored with bare LF are converted first.
  let s = body.replace(/\r?\n/g, '\r\n');
  if (mode === 'relaxed') {
    // Collapse first, then strip before CRLF: both passes are linear (a single
    // `[ \t]+\r\n` pattern backtracks quadratically on long runs of blanks).
    s = s.replace(/[ \t]+/g, ' ').replace(/ \r\n/g, '\r\n');
    if (s.endsWith(' ')) s = s.slice(0, -1);
  }
  let end = s.length;
  while (end >= 2 && s.charCodeAt(end - 2) === 13 && s.charCodeAt(end - 1) === 10) end -= 2;
  s = s.slice(0, end);
  if (s.length === 0) return mode === 'simple' ? '\r\n' : '';
  return `${s}\r\n`;
}

/** Header canonicalization of one field, without the trailing CRLF. */
export function canonicalizeHeader(header: RawHeader, mode: 'simple' | 'relaxed'): string {
  if (mode === 'simple') return header.raw;
  const colon = header.raw.indexOf(':');
  const name = header.raw.slice(0, colon).trim().toLowerCase();
  const value = header.raw
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** The DKIM-Signature field with the value of its b= tag removed (RFC 6376 section 3.7). */
function withoutSignatureValue(raw: string): string {
  const colon = raw.indexOf(':');
  const value = raw.slice(colon + 1).replace(/(^|;)([ \t\r\n]*b[ \t\r\n]*=)[^;]*/, '$1$2');
  return raw.slice(0, colon + 1) + value;
}

function parseKeyRecord(record: string, sig: ParsedSignature): KeyObject {
  if (record.length > MAX_DKIM_KEY_RECORD_CHARS)
    throw new DkimError('permerror', 'key record too long');
  const tags = parseTagList(record);
  const v = tags.get('v');
  if (v !== undefined && v !== 'DKIM1')
    throw new DkimError('permerror', 'key record version is not DKIM1');
  const k = (tags.get('k') ?? 'rsa').toLowerCase();
  if (k !== sig.keyType)
    throw new DkimError(
      'permerror',
      `key type k=${k.slice(0, 20)} does not match a=${sig.algorithm}`,
    );
  const h = tags.get('h');
  if (
    h !== undefined &&
    !h
      .toLowerCase()
      .split(':')
      .map((x) => x.trim())
      .includes('sha256')
  ) {
    throw new DkimError('permerror', 'key record h= does not allow sha256');
  }
  const flags = (tags.get('t') ?? '').split(':').map((x) => x.trim());
  if (flags.includes('s') && sig.identityDomain !== sig.domain)
    throw new DkimError('permerror', 'key t=s forbids an i= subdomain');
  const p = tags.get('p');
  if (p === undefined) throw new DkimError('permerror', 'key record has no p=');
  const der = decodeBase64Tag(p, 'p');
  if (der.length === 0) throw new DkimError('permerror', 'key revoked (empty p=)');
  const cacheKey = `${sig.keyType}:${der.toString('base64')}`;
  const cached = parsedKeys.get(cacheKey);
  if (cached) return cached;
  const key = publicKeyFromDer(der, sig.keyType);
  const oldest = parsedKeys.keys().next();
  if (parsedKeys.size >= MAX_CACHED_KEYS && !oldest.done) parsedKeys.delete(oldest.value);
  parsedKeys.set(cacheKey, key);
  return key;
}

/** Parsing a DER key costs more than verifying with it; the same few keys sign most mail. */
const parsedKeys = new Map<string, KeyObject>();

function publicKeyFromDer(der: Buffer, keyType: 'rsa' | 'ed25519'): KeyObject {
  try {
    if (keyType === 'ed25519') {
      if (der.length !== 32) throw new DkimError('permerror', 'ed25519 key is not 32 bytes');
      return createPublicKey({
        key: Buffer.concat([ED25519_SPKI_PREFIX, der]),
        format: 'der',
        type: 'spki',
      });
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
    }
    if (key.asymmetricKeyType !== 'rsa') throw new DkimError('permerror', 'p= is not an RSA key');
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_KEY_BITS)
      throw new DkimError('permerror', `RSA key of ${bits} bits is too short (RFC 8301)`);
    return key;
  } catch (err) {
    if (err instanceof DkimError) throw err;
    throw new DkimError('permerror', 'p= is not a valid public key');
  }
}

async function lookupWithDeadline(
  resolver: DkimResolver,
  name: string,
  timeoutMs: number,
): Promise<string[][]> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new DkimError('temperror', `key lookup timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
  });
  try {
    return await Promise.race([resolver(name, 'TXT'), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function fetchKey(
  resolver: DkimResolver,
  sig: ParsedSignature,
  timeoutMs: number,
): Promise<KeyObject> {
  const name = `${sig.selector}._domainkey.${sig.domain}`;
  let records: string[][];
  try {
    records = await lookupWithDeadline(resolver, name, timeoutMs);
  } catch (err) {
    if (err instanceof DkimError) throw err;
    const code = errorCode(err);
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN')
      throw new DkimError('permerror', `no key record at ${name}`);
    throw new DkimError(
      'temperror',
      `key lookup failed for ${name}: ${typeof code === 'string' ? code : 'error'}`,
    );
  }
  const texts = (Array.isArray(records) ? records : []).map((r) =>
    Array.isArray(r) ? r.join('') : String(r),
  );
  const candidates = texts.filter((t) => /(^|;)\s*p\s*=/.test(t));
  if (candidates.length === 0) throw new DkimError('permerror', `no key record at ${name}`);
  // RFC 6376 section 3.6.2.2: several records is an error for a verifier's choice; use the first that parses.
  let lastError: unknown = null;
  for (const text of candidates.slice(0, 4)) {
    try {
      return parseKeyRecord(text, sig);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof DkimError
    ? lastError
    : new DkimError('permerror', 'invalid key record');
}

/**
 * Verifies every DKIM-Signature header of a message (up to
 * {@link MAX_DKIM_SIGNATURES}). Never throws: each signature gets a result and
 * an `info` saying why.
 */
export async function verifyDkim(
  raw: Buffer,
  headers: readonly RawHeader[],
  bodyOffset: number,
  options: DkimOptions = {},
): Promise<DkimVerdict> {
  const resolver = options.resolver ?? defaultDkimResolver;
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? DKIM_DNS_TIMEOUT_MS;
  const sigHeaders = headers.filter((h) => h.key === 'dkim-signature');
  if (sigHeaders.length === 0) return { result: 'none', signatures: [], skipped: 0 };

  const bodyBytes = Math.max(0, raw.length - bodyOffset);
  const bodyCache = new Map<string, string>();
  const canonicalBody = (mode: 'simple' | 'relaxed'): string => {
    let cached = bodyCache.get(mode);
    if (cached === undefined) {
      cached = canonicalizeBody(raw.toString('latin1', Math.min(bodyOffset, raw.length)), mode);
      bodyCache.set(mode, cached);
    }
    return cached;
  };
  // Index header positions by name, bottom-up, for h= selection (RFC 6376 section 5.4.2).
  const positions = new Map<string, number[]>();
  headers.forEach((h, i) => {
    const list = positions.get(h.key);
    if (list) list.push(i);
    else positions.set(h.key, [i]);
  });
  const keyCache = new Map<string, Promise<KeyObject>>();

  const verifyOne = async (header: RawHeader): Promise<DkimSignatureResult> => {
    let sig: ParsedSignature;
    try {
      sig = parseSignature(header);
    } catch (err) {
      const tags = (() => {
        try {
          return parseTagList(header.value.slice(0, MAX_DKIM_SIGNATURE_CHARS));
        } catch {
          return new Map<string, string>();
        }
      })();
      return {
        domain: (tags.get('d') ?? '').slice(0, 253),
        selector: (tags.get('s') ?? '').slice(0, 253),
        ...failure(err),
      };
    }
    const described = {
      domain: sig.domain,
      selector: sig.selector,
      algorithm: sig.algorithm,
      signedHeaders: sig.signedHeaders,
      ...(sig.bodyLength !== null ? { bodyLength: sig.bodyLength } : {}),
    };
    try {
      const x = sig.tags.get('x');
      if (x !== undefined) {
        if (!/^\d{1,12}$/.test(x)) throw new DkimError('permerror', 'invalid x= value');
        if (Number(x) * 1000 < now().getTime())
          throw new DkimError('fail', 'signature expired (x=)');
      }
      if (bodyBytes > MAX_DKIM_BODY_BYTES)
        throw new DkimError(
          'neutral',
          `body larger than ${MAX_DKIM_BODY_BYTES} bytes: not verified`,
        );
      let body = canonicalBody(sig.bodyCanon);
      if (sig.bodyLength !== null) {
        if (sig.bodyLength > body.length) throw new DkimError('fail', 'l= is longer than the body');
        body = body.slice(0, sig.bodyLength);
      }
      const bodyHash = createHash('sha256').update(body, 'latin1').digest();
      if (!bodyHash.equals(sig.bodyHash)) throw new DkimError('fail', 'body hash did not verify');

      const used = new Map<string, number>();
      const parts: string[] = [];
      for (const name of sig.signedHeaders) {
        const list = positions.get(name);
        const n = used.get(name) ?? 0;
        used.set(name, n + 1);
        if (!list || n >= list.length) continue; // a listed but absent header signs as the null string
        parts.push(
          `${canonicalizeHeader(headers[list[list.length - 1 - n]], sig.headerCanon)}\r\n`,
        );
      }
      parts.push(
        canonicalizeHeader({ ...header, raw: withoutSignatureValue(header.raw) }, sig.headerCanon),
      );
      const data = Buffer.from(parts.join(''), 'latin1');

      const keyName = `${sig.selector}._domainkey.${sig.domain}|${sig.keyType}`;
      let keyPromise = keyCache.get(keyName);
      if (!keyPromise) {
        keyPromise = fetchKey(resolver, sig, timeoutMs);
        keyCache.set(keyName, keyPromise);
      }
      const key = await keyPromise;
      const ok =
        sig.keyType === 'ed25519'
          ? cryptoVerify(null, createHash('sha256').update(data).digest(), key, sig.signature)
          : cryptoVerify('sha256', data, key, sig.signature);
      if (!ok) throw new DkimError('fail', 'signature did not verify');
      return { ...described, result: 'pass' };
    } catch (err) {
      return { ...described, ...failure(err) };
    }
  };

  const checked = sigHeaders.slice(0, MAX_DKIM_SIGNATURES);
  const signatures = await Promise.all(checked.map((h) => verifyOne(h)));
  return {
    result: summarizeDkim(signatures.map((s) => s.result)),
    signatures,
    skipped: sigHeaders.length - checked.length,
  };
}

function failure(err: unknown): { result: DkimResult; info: string } {
  if (err instanceof DkimError) return { result: err.result, info: err.message };
  return { result: 'permerror', info: 'signature could not be checked' };
}
