/**
 * Small response helpers shared by the sink's routes: JSON bodies, catalog
 * errors as `{error: {code, message, hint}}`, and JSON arrays streamed item by
 * item so a large page never has to sit in memory as one string.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { EmailValidateError, isEmailValidateError, type ErrorCode } from '../../src/errors.ts';
import type { Logger } from '../types.ts';

/** Headers every API response carries: no MIME sniffing of message content, no caching of mail. */
const COMMON_HEADERS = Object.freeze({
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

export function setCommonHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  setCommonHeaders(res);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  setCommonHeaders(res);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendBuffer(
  res: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string>,
): void {
  setCommonHeaders(res);
  res.writeHead(status, { ...headers, 'content-length': body.length });
  res.end(body);
}

/** The JSON error body of the sink's own API. */
export function errorBody(err: EmailValidateError): {
  error: { code: ErrorCode; message: string; hint?: string };
} {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    },
  };
}

/**
 * Answers with a catalog error; anything that is not one of ours becomes
 * EV_ERR_INTERNAL with a generic message (the detail goes to the log only).
 */
export function sendError(
  res: ServerResponse,
  err: unknown,
  logger?: Logger,
  req?: IncomingMessage,
): void {
  let error: EmailValidateError;
  if (isEmailValidateError(err)) {
    error = err;
  } else {
    logger?.error('api request failed', {
      method: req?.method,
      path: req?.url?.split('?')[0],
      error: err instanceof Error ? err.message : String(err),
    });
    error = new EmailValidateError('EV_ERR_INTERNAL', 'the sink failed to answer this request', {
      hint: "see the sink's log for the cause",
    });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error.code === 'EV_ERR_UNAUTHORIZED')
    res.setHeader('www-authenticate', 'Bearer realm="email-sink"');
  sendJson(res, error.httpStatus, errorBody(error));
}

/**
 * Streams `[item, item, ...]` honouring back-pressure: each item is serialised
 * on its own and the next waits for 'drain', so memory holds one item at a time.
 */
export async function streamJsonArray<T>(
  res: ServerResponse,
  items: Iterable<T>,
  serialise: (item: T) => string | undefined,
  options: { prefix?: string; suffix?: string; contentType?: string } = {},
): Promise<void> {
  const { prefix = '', suffix = '', contentType = 'application/json; charset=utf-8' } = options;
  setCommonHeaders(res);
  res.writeHead(200, { 'content-type': contentType });
  let first = true;
  if (!res.write(`${prefix}[`)) await drained(res);
  for (const item of items) {
    const json = serialise(item);
    if (json === undefined) continue;
    const ok = res.write(first ? json : `,${json}`);
    first = false;
    if (!ok) await drained(res);
    if (res.destroyed) return;
  }
  res.end(`]${suffix}`);
}

async function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return;
  await Promise.race([once(res, 'drain'), once(res, 'close')]);
}
