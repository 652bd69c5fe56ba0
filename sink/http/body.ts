/** Reading request bodies with a hard size bound (EV_ERR_PAYLOAD_TOO_LARGE). */
import type { IncomingMessage } from 'node:http';
import { evError } from '../../src/errors.ts';

/** Rules YAML is a few KB in practice; 1 MiB leaves room for thousands of rules and bounds a hostile PUT. */
export const MAX_RULES_BODY_BYTES = 1024 * 1024;

/**
 * Reads the whole body, refusing (before reading) a Content-Length above
 * `limit` and stopping as soon as a chunked body passes it. What was not read
 * is drained and discarded so the error response can still be sent; the
 * caller answers with `Connection: close`.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    evError('EV_ERR_PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, {
      hint: 'send a smaller body',
      details: { limit },
    });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const onData = (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!failed) resolve(Buffer.concat(chunks, size));
    });
    req.once('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

/**
 * Whether the request declares a JSON body. Routes with side effects outside
 * the sink (release, send) require it: a web page can send text/plain or form
 * bodies cross-origin without a CORS preflight, but not application/json.
 */
export function declaresJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && /^application\/json\s*(;|$)/i.test(type);
}
