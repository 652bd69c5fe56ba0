/**
 * Test keys, a local resolver and signing helpers. Keys are generated per run
 * with node:crypto; messages are signed with mailauth's signer (a well-kept,
 * independent implementation) so our verifier is checked against it.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import type { DkimResolver } from '../../../../sink/analysis/index.ts';

export const FIXTURES = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'fixtures',
  'analysis',
);

export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export interface TestKey {
  privatePem: string;
  /** The p= value of the key record. */
  p: string;
  keyType: 'rsa' | 'ed25519';
  publicKey: KeyObject;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    p: (publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
    keyType: 'rsa',
    publicKey,
  };
}

export function ed25519Key(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // RFC 8463: p= is the raw 32-byte key, i.e. the SPKI DER without its 12-byte prefix.
  const der = publicKey.export({ type: 'spki', format: 'der' }) as Buffer;
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    p: der.subarray(der.length - 32).toString('base64'),
    keyType: 'ed25519',
    publicKey,
  };
}

export function keyRecord(key: TestKey): string {
  return `v=DKIM1; k=${key.keyType}; p=${key.p}`;
}

/** A resolver over a map of `selector._domainkey.domain` -> TXT text; unknown names reject with ENOTFOUND like node:dns. */
export function mapResolver(
  records: Record<string, string | string[]>,
  calls?: string[],
): DkimResolver {
  return async (name) => {
    calls?.push(name);
    const rec = records[name.toLowerCase()];
    if (rec === undefined)
      throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    // Split long records into 255-character strings, as DNS does.
    const texts = Array.isArray(rec) ? rec : [rec];
    return texts.map((t) => t.match(/.{1,255}/g) ?? ['']);
  };
}

export interface SignOptions {
  domain?: string;
  selector?: string;
  canonicalization?: string;
  algorithm?: string;
  headerList?: string[];
  maxBodyLength?: number;
  expires?: Date;
  signTime?: Date;
}

/** Returns the message with a DKIM-Signature header prepended. */
export async function sign(message: Buffer, key: TestKey, opts: SignOptions = {}): Promise<Buffer> {
  const res = await dkimSign(message, {
    signatureData: [
      {
        signingDomain: opts.domain ?? 'example.com',
        selector: opts.selector ?? 'test',
        privateKey: key.privatePem,
        canonicalization: opts.canonicalization ?? 'relaxed/relaxed',
        ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
        ...(opts.maxBodyLength !== undefined ? { maxBodyLength: opts.maxBodyLength } : {}),
      },
    ],
    // mailauth reads these from the top level only.
    ...(opts.headerList ? { headerList: opts.headerList } : {}),
    ...(opts.expires ? { expires: opts.expires } : {}),
    ...(opts.signTime ? { signTime: opts.signTime } : {}),
  } as unknown as Parameters<typeof dkimSign>[1]);
  if (!res.signatures) throw new Error(`signing failed: ${JSON.stringify(res.errors)}`);
  return Buffer.concat([Buffer.from(res.signatures), message]);
}
