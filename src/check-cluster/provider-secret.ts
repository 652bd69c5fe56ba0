/**
 * `--provider FILE` with `check --in-cluster`: what travels to the shards.
 * The CLI sends the parsed file and the values of the `${env:NAME}`
 * variables it refers to (its credentials) in a Secret of the run, mounted
 * into the shard pods as a file: never in a ConfigMap, an environment
 * literal or argv. Each shard validates it with the same parser as a local
 * run, so a config is read the same way on both sides.
 *
 * Pure: the caller reads files and the environment.
 */
import { evError, isEmailValidateError } from '../errors.ts';
import { errorMessage } from '../guards.ts';
import {
  parseProviderConfig,
  providerEnvNames,
  type ProviderConfig,
} from '../check/provider-config.ts';

/** The run's Secret holding the provider config and its credentials (only when --provider is given). */
export const PROVIDER_SECRET = 'email-check-provider';
/** Its one key, mounted as a file into the shard pods. */
export const PROVIDER_SECRET_KEY = 'provider.json';
/** Where the shard pods see it (read-only). */
export const PROVIDER_DIR = '/etc/email-check-provider';
/** The environment variable naming the mounted file (a path, never the content). */
export const PROVIDER_FILE_ENV = 'EV_PROVIDER_FILE';
/** A provider config is a few hundred bytes; this bounds the Secret far below the API server's 1 MiB. */
export const MAX_PROVIDER_PAYLOAD_BYTES = 64 * 1024;

export interface ProviderPayload {
  /** The file name the user gave (for error messages on the shard). */
  source: string;
  /** The file as parsed (YAML or JSON), before `${env:…}` substitution. */
  config: unknown;
  /** The variables it refers to, with their values (the credentials). */
  env: Record<string, string>;
}

/**
 * The Secret's content for a config the CLI has read and parsed. Validates it
 * (the same errors as a local run, before anything is created in the cluster).
 */
export function encodeProviderPayload(
  raw: unknown,
  source: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  parseProviderConfig(raw, source, env);
  const refs: Record<string, string> = {};
  for (const name of providerEnvNames(raw)) {
    const v = env[name];
    if (v !== undefined) refs[name] = v;
  }
  const payload: ProviderPayload = { source, config: raw, env: refs };
  const text = JSON.stringify(payload);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PROVIDER_PAYLOAD_BYTES)
    throw evError(
      'EV_ERR_PROVIDER_CONFIG',
      `${source} with its credentials is ${bytes} bytes; at most ${MAX_PROVIDER_PAYLOAD_BYTES} go to the cluster`,
      { hint: 'a provider config needs a URL, a few headers and a verdict path: remove the rest' },
    );
  return text;
}

/** The shard side: the mounted file back into a validated config. */
export function decodeProviderPayload(text: string): ProviderConfig {
  if (Buffer.byteLength(text, 'utf8') > MAX_PROVIDER_PAYLOAD_BYTES)
    throw evError(
      'EV_ERR_PROVIDER_CONFIG',
      `the provider file is larger than ${MAX_PROVIDER_PAYLOAD_BYTES} bytes`,
      { hint: 'the shard runs from the Job that check --in-cluster creates' },
    );
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    p = null;
  }
  if (!isPayload(p))
    throw evError('EV_ERR_PROVIDER_CONFIG', 'the provider file is not what the CLI writes', {
      hint: 'the shard runs from the Job that check --in-cluster creates',
    });
  try {
    return parseProviderConfig(p.config, p.source, p.env);
  } catch (err) {
    if (isEmailValidateError(err)) throw err;
    throw evError('EV_ERR_PROVIDER_CONFIG', `${p.source}: ${errorMessage(err)}`);
  }
}

function isPayload(p: unknown): p is ProviderPayload {
  return (
    typeof p === 'object' &&
    p !== null &&
    'source' in p &&
    typeof p.source === 'string' &&
    'config' in p &&
    'env' in p &&
    typeof p.env === 'object' &&
    p.env !== null &&
    !Array.isArray(p.env) &&
    Object.values(p.env).every((v) => typeof v === 'string')
  );
}
