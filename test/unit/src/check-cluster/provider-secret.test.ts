/**
 * The provider payload at its edges: the size bound on both sides (exactly at
 * MAX_PROVIDER_PAYLOAD_BYTES and one byte over), the exact refusals, and what a
 * shard refuses as "not what the CLI writes".
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  MAX_PROVIDER_PAYLOAD_BYTES,
  decodeProviderPayload,
  encodeProviderPayload,
} from '../../../../src/check-cluster/provider-secret.ts';

const raw = { url: 'https://verify.example/v?email={address}', verdictPath: 'result.status' };
const SHARD_HINT = 'the shard runs from the Job that check --in-cluster creates';

/** A valid config whose encoded payload is exactly `bytes` long (padding in a header value). */
function configOfSize(bytes: number): Record<string, unknown> {
  const withPad = (n: number) => ({ ...raw, headers: { 'X-Pad': 'p'.repeat(n) } });
  const empty = Buffer.byteLength(encodeProviderPayload(withPad(0), 'p.yaml', {}), 'utf8');
  return withPad(bytes - empty);
}

/** The error thrown by `fn`, as the fields a user sees. */
function errorOf(fn: () => unknown): { code: unknown; message: string; hint: unknown } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error);
    return {
      code: (err as { code?: unknown }).code,
      message: err.message,
      hint: (err as { hint?: unknown }).hint,
    };
  }
  assert.fail('no error');
}

describe('check-cluster/provider-secret: edges', () => {
  it('sends a payload of exactly MAX_PROVIDER_PAYLOAD_BYTES, refuses one byte more with its size', () => {
    const at = encodeProviderPayload(configOfSize(MAX_PROVIDER_PAYLOAD_BYTES), 'p.yaml', {});
    assert.equal(Buffer.byteLength(at, 'utf8'), MAX_PROVIDER_PAYLOAD_BYTES);
    assert.equal(decodeProviderPayload(at).headers['x-pad'].length > 0, true);
    assert.deepEqual(
      errorOf(() =>
        encodeProviderPayload(configOfSize(MAX_PROVIDER_PAYLOAD_BYTES + 1), 'p.yaml', {}),
      ),
      {
        code: 'EV_ERR_PROVIDER_CONFIG',
        message: `p.yaml with its credentials is ${MAX_PROVIDER_PAYLOAD_BYTES + 1} bytes; at most ${MAX_PROVIDER_PAYLOAD_BYTES} go to the cluster`,
        hint: 'a provider config needs a URL, a few headers and a verdict path: remove the rest',
      },
    );
  });

  it('a shard reads a file of exactly MAX_PROVIDER_PAYLOAD_BYTES, and refuses a larger one before parsing it', () => {
    const at = encodeProviderPayload(configOfSize(MAX_PROVIDER_PAYLOAD_BYTES), 'p.yaml', {});
    assert.equal(decodeProviderPayload(at).url, raw.url);
    // One byte more (a trailing blank, still valid JSON) is refused by size.
    assert.deepEqual(
      errorOf(() => decodeProviderPayload(`${at} `)),
      {
        code: 'EV_ERR_PROVIDER_CONFIG',
        message: `the provider file is larger than ${MAX_PROVIDER_PAYLOAD_BYTES} bytes`,
        hint: SHARD_HINT,
      },
    );
  });

  it('refuses files that are not what the CLI writes', () => {
    const good = { source: 'p.yaml', config: raw, env: { TOKEN: 't' } };
    assert.equal(decodeProviderPayload(JSON.stringify(good)).url, raw.url);
    for (const p of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...good, source: 5 }),
      JSON.stringify({ config: raw, env: {} }),
      JSON.stringify({ source: 'p.yaml', env: {} }),
      JSON.stringify({ source: 'p.yaml', config: raw }),
      JSON.stringify({ ...good, env: null }),
      JSON.stringify({ ...good, env: ['t'] }),
      JSON.stringify({ ...good, env: { TOKEN: 5 } }),
      JSON.stringify({ ...good, env: { TOKEN: 't', OTHER: 5 } }),
    ])
      assert.deepEqual(
        errorOf(() => decodeProviderPayload(p)),
        {
          code: 'EV_ERR_PROVIDER_CONFIG',
          message: 'the provider file is not what the CLI writes',
          hint: SHARD_HINT,
        },
        p,
      );
  });

  it("a config the shard's parser refuses keeps the parser's own error (message and hint)", () => {
    const text = JSON.stringify({ source: 'p.yaml', config: { ...raw, bogus: 1 }, env: {} });
    assert.deepEqual(
      errorOf(() => decodeProviderPayload(text)),
      {
        code: 'EV_ERR_PROVIDER_CONFIG',
        message: 'p.yaml: unknown key "bogus"',
        hint: 'see "Provider" in docs/checks.md for the expected keys',
      },
    );
  });

  it('a variable the config names but the payload lacks is "not set", even one named like an Object method', () => {
    for (const name of ['TOKEN', 'constructor', 'toString', '__proto__']) {
      const config = { ...raw, headers: { Authorization: `Bearer \${env:${name}}` } };
      const text = JSON.stringify({ source: 'p.yaml', config, env: {} });
      assert.deepEqual(
        errorOf(() => decodeProviderPayload(text)).message,
        `p.yaml: header "Authorization" uses \${env:${name}} but ${name} is not set`,
        name,
      );
      assert.deepEqual(
        errorOf(() => encodeProviderPayload(config, 'p.yaml', {})).message,
        `p.yaml: header "Authorization" uses \${env:${name}} but ${name} is not set`,
        name,
      );
    }
  });
});
