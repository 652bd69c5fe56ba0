/**
 * The provider's HTTP client: one undici Pool per provider origin with
 * keep-alive connections, bounded response bodies and a per-request timeout.
 */

import { Pool } from 'undici';
import type { HttpClient, HttpRequest, HttpResponse } from '../src/check/provider-stage.ts';
import { MAX_PROVIDER_BODY_BYTES } from '../src/check/provider-config.ts';

export interface PoolHttpClient extends HttpClient {
  close(): Promise<void>;
}

/** A client for one origin; `connections` should match the provider's concurrency. */
export function poolHttpClient(origin: string, connections: number): PoolHttpClient {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const url = new URL(req.url);
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (req.body !== undefined && headers['content-type'] === undefined)
        headers['content-type'] = 'application/json';
      const signal = req.signal
        ? AbortSignal.any([req.signal, AbortSignal.timeout(req.timeoutMs)])
        : AbortSignal.timeout(req.timeoutMs);
      const res = await pool.request({
        method: req.method,
        path: url.pathname + url.search,
        headers,
        body: req.body,
        signal,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body) {
        size += (c as Buffer).length;
        if (size > MAX_PROVIDER_BODY_BYTES) {
          res.body.destroy();
          throw new Error(`response body larger than ${MAX_PROVIDER_BODY_BYTES} bytes`);
        }
        chunks.push(c as Buffer);
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
    },
    close: () => pool.close(),
  };
}
