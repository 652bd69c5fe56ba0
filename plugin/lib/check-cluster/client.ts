/**
 * A small JSON client for the coordinator's API, used by the shards (direct,
 * in-cluster) and by the CLI (through a port-forward tunnel). Every call is
 * idempotent on the coordinator's side (pushes repeat nothing, results are
 * keyed by index, leases expire), so network failures are retried with
 * bounded backoff; a coordinator that stays unreachable fails the caller.
 */
import { gzipSync } from 'node:zlib';
import { evError } from '../../../src/errors.ts';

/** How long calls keep retrying an unreachable coordinator before giving up. */
export const UNREACHABLE_DEADLINE_MS = 60_000;
/** Request bodies at least this large are gzipped (pushes of addresses, posted results). */
export const GZIP_REQUEST_BYTES = 8 * 1024;

export interface CoordinatorClientOptions {
  url: string;
  token: string;
  signal?: AbortSignal;
  deadlineMs?: number;
}

export class CoordinatorClient {
  private readonly o: CoordinatorClientOptions;

  constructor(o: CoordinatorClientOptions) { this.o = o; }

  /** `path` may depend on the attempt number (0 first), e.g. to ask for less after a dropped response. */
  get<T>(path: string | ((attempt: number) => string)): Promise<T> { return this.call<T>('GET', path); }

  post<T>(path: string, body: unknown): Promise<T> {
    const text = JSON.stringify(body);
    return this.call<T>('POST', path, text.length >= GZIP_REQUEST_BYTES ? gzipSync(text, { level: 1 }) : text);
  }

  private async call<T>(method: string, pathOf: string | ((attempt: number) => string), body?: string | Buffer): Promise<T> {
    const deadline = Date.now() + (this.o.deadlineMs ?? UNREACHABLE_DEADLINE_MS);
    let delay = 100;
    for (let attempt = 0; ; attempt++) {
      if (this.o.signal?.aborted) throw this.o.signal.reason;
      const path = typeof pathOf === 'string' ? pathOf : pathOf(attempt);
      let failure: string;
      try {
        const res = await fetch(`${this.o.url}${path}`, {
          method, body, signal: this.o.signal,
          headers: {
            authorization: `Bearer ${this.o.token}`, 'accept-encoding': 'gzip',
            ...(body ? { 'content-type': 'application/json' } : {}), ...(Buffer.isBuffer(body) ? { 'content-encoding': 'gzip' } : {}),
          },
        });
        const text = await res.text();
        if (res.ok) return JSON.parse(text) as T;
        if (res.status < 500 && res.status !== 429) {
          throw evError('EV_ERR_CHECK_COORDINATOR', `the check coordinator refused ${method} ${path}: ${res.status} ${text.slice(0, 200)}`, { hint: 'this is a bug or a version mismatch between the CLI and the bundle; rebuild with `npm run build`' });
        }
        failure = `${res.status} ${text.slice(0, 200)}`;
      } catch (err) {
        if ((err as { code?: string }).code === 'EV_ERR_CHECK_COORDINATOR') throw err;
        if (this.o.signal?.aborted) throw this.o.signal.reason;
        failure = (err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message;
      }
      if (Date.now() + delay > deadline) {
        throw evError('EV_ERR_CHECK_COORDINATOR', `the check coordinator at ${this.o.url} is unreachable (${method} ${path.split('?')[0]}): ${failure}`, { hint: 'see the coordinator pod\'s logs (kubectl logs -l app.kubernetes.io/component=coordinator -n NAMESPACE)' });
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
