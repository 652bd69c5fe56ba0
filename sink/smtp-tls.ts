/**
 * A self-signed certificate generated at start for `--tls-self-signed`.
 *
 * node:crypto makes keys and signatures but not X.509 certificates, and the
 * certificate smtp-server ships has a published private key. So this builds
 * the few DER structures of a minimal certificate (RFC 5280) by hand: an EC
 * P-256 key, CN and subjectAltName for the sink's names, signed with
 * ecdsa-with-SHA256. Clients that verify certificates must be told to trust
 * it (or not to verify); it only stops passive eavesdropping, like any
 * self-signed certificate.
 */
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import { isIP } from 'node:net';

/** A sink lives for a test run; a year is plenty and keeps clocks skew-proof. */
export const SELF_SIGNED_VALIDITY_DAYS = 365;

export interface PemPair {
  key: string;
  cert: string;
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...p: Buffer[]) => der(0x30, ...p);
const set = (...p: Buffer[]) => der(0x31, ...p);

function oid(dotted: string): Buffer {
  const nums = dotted.split('.').map(Number);
  const bytes = [nums[0] * 40 + nums[1]];
  for (const n of nums.slice(2)) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
    : h;
  return Buffer.from(
    groups.flatMap((g) => {
      const v = parseInt(g, 16);
      return [v >> 8, v & 0xff];
    }),
  );
}

/** Generates a fresh key and a self-signed certificate for `names` (DNS names or IPs). */
export function generateSelfSigned(names: readonly string[], now: Date = new Date()): PemPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cn = names[0] ?? 'localhost';
  const name = seq(set(seq(oid('2.5.4.3'), der(0x0c, Buffer.from(cn, 'utf8')))));
  const sigAlg = seq(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  // A positive INTEGER whose first byte is not 0: a leading 0x00 before a byte < 0x80 is
  // non-minimal DER ("illegal padding"), which failed about one certificate in 512.
  serial[0] = (serial[0] & 0x7f) | 0x40;
  const notAfter = new Date(now.getTime() + SELF_SIGNED_VALIDITY_DAYS * 86_400_000);
  const altNames = names.map((n) =>
    isIP(n) ? der(0x87, ipBytes(n)) : der(0x82, Buffer.from(n, 'ascii')),
  );
  const extensions = der(
    0xa3,
    seq(
      seq(oid('2.5.29.17'), der(0x04, seq(...altNames))),
      seq(oid('2.5.29.19'), der(0x04, seq())), // basicConstraints: not a CA
    ),
  );
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    der(0x02, serial),
    sigAlg,
    name,
    seq(utcTime(new Date(now.getTime() - 3_600_000)), utcTime(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const cert = seq(tbs, sigAlg, der(0x03, Buffer.from([0]), signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  new X509Certificate(pem); // self-check: throws if the encoding is wrong
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: pem };
}

/** Validates a PEM key/cert pair, throwing the crypto error if they are unusable. */
export function checkPemPair(pair: PemPair): void {
  const cert = new X509Certificate(pair.cert);
  if (!cert.checkPrivateKey(createPrivateKey(pair.key)))
    throw new Error('the key does not match the certificate');
}
