/**
 * The sink's API token, generated the same way wherever one is made (`sink`,
 * `up`, `manifests`): 32 base64url characters from 24 random bytes (192 bits),
 * never starting with `-`, because the token is pasted after `--token` and a
 * leading dash made the CLI's parser take it for a flag ("--token expects a
 * value"): one token in 64.
 */

/** Random bytes an API token is made of. */
export const API_TOKEN_BYTES = 24;

/** The token for `bytes` (API_TOKEN_BYTES random bytes, supplied by the caller: src/ holds no ambient randomness). */
export function apiTokenFrom(bytes: Uint8Array): string {
  const token = Buffer.from(bytes).toString('base64url');
  return token.startsWith('-') ? `_${token.slice(1)}` : token;
}
