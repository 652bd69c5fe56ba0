/**
 * Turns what client-node throws (ApiException with a JSON Status string in
 * `body`, fetch's TypeError with a network `cause`, abort/timeouts) into one
 * EmailValidateError with a one-line message and a hint.
 */
import { ApiException } from '@kubernetes/client-node';

/** Re-exported for tests: nothing outside plugin/lib/kube imports client-node. */
export { ApiException };
import { evError, isEmailValidateError, type EmailValidateError } from '../../../src/errors.ts';

/** Where a request went, for messages. */
export interface KubeTarget {
  server: string;
  context: string;
  requestTimeoutMs?: number;
}

export interface KubeStatus {
  code: number;
  reason: string;
  message: string;
}

/** The HTTP status of a client-node failure, or undefined for network errors. */
export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

/** Parses ApiException.body (a JSON string in client-node >= 1, sometimes already an object). */
export function parseStatus(err: unknown): KubeStatus | undefined {
  const code = statusCode(err);
  if (code === undefined) return undefined;
  let body: unknown = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body };
    }
  }
  const b = (body ?? {}) as { reason?: unknown; message?: unknown };
  return {
    code,
    reason: typeof b.reason === 'string' ? b.reason : '',
    message: typeof b.message === 'string' && b.message ? b.message : `HTTP ${code}`,
  };
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusCode(err) === 409;
}

/** The innermost network error code (ECONNREFUSED, ENOTFOUND, …) in a cause chain. */
function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 6 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR_/.test(code)) return code;
    const errors = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length) {
      const inner = networkCode(errors[0]);
      if (inner) return inner;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when our --request-timeout signal fired (a connect timeout is a network error instead). */
function isTimeout(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 6 && e; i++) {
    if ((e as { name?: unknown }).name === 'TimeoutError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Maps any failure of an API call to our catalog. `action` says what was being
 * done ("create namespace x"); `forbiddenHint` replaces the generic 403 hint.
 */
export function toKubeError(
  err: unknown,
  target: KubeTarget,
  action: string,
  forbiddenHint?: string,
): EmailValidateError {
  if (isEmailValidateError(err)) return err;
  const status = parseStatus(err);
  const ctx = target.context ? ` (context "${target.context}")` : '';
  if (status) {
    if (status.code === 401) {
      return evError(
        'EV_ERR_KUBE_UNAUTHORIZED',
        `the API server at ${target.server}${ctx} rejected the credentials (401) while trying to ${action}`,
        {
          hint: 'refresh your credentials (log in to the cluster again) or choose another --context / --user.',
          cause: err,
        },
      );
    }
    if (status.code === 403) {
      return evError('EV_ERR_KUBE_FORBIDDEN', `forbidden to ${action}: ${status.message}`, {
        hint:
          forbiddenHint ??
          'ask a cluster admin for the RBAC rights listed in docs/cluster.md, or use -n with a namespace you can write to.',
        details: { reason: status.reason },
        cause: err,
      });
    }
    if (status.code === 404) {
      return evError(
        'EV_ERR_KUBE_NOT_FOUND',
        `not found while trying to ${action}: ${status.message}`,
        { cause: err },
      );
    }
    return evError(
      'EV_ERR_KUBE_API',
      `the API server refused to ${action} (${status.code}${status.reason ? ` ${status.reason}` : ''}): ${status.message}`,
      {
        hint: 'run again with DEBUG=1 for details.',
        details: { status: status.code, reason: status.reason },
        cause: err,
      },
    );
  }
  if (isTimeout(err)) {
    const secs = target.requestTimeoutMs ? `${target.requestTimeoutMs / 1000}s` : 'the timeout';
    return evError(
      'EV_ERR_KUBE_UNREACHABLE',
      `the API server at ${target.server}${ctx} did not answer within ${secs} while trying to ${action}`,
      {
        hint: 'check that the cluster is up (`kubectl cluster-info`), or raise --request-timeout.',
        cause: err,
      },
    );
  }
  const net = networkCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (
    net ||
    /fetch failed|socket|ECONN|ENOTFOUND|certificate|TLS|HTTP protocol is not allowed/i.test(
      message,
    )
  ) {
    const cause = (err as { cause?: unknown }).cause;
    // fetch says only "fetch failed"; its cause says why (e.g. "bad port", a TLS problem).
    const why =
      net ??
      (message === 'fetch failed' && cause instanceof Error && cause.message
        ? `${message} (${cause.message.split('\n')[0]})`
        : message);
    return evError(
      'EV_ERR_KUBE_UNREACHABLE',
      `cannot reach the API server at ${target.server}${ctx}: ${why}`,
      {
        hint: 'check that the cluster is running and the context is the right one (`kubectl cluster-info`), or pass --context.',
        cause: err,
      },
    );
  }
  return evError('EV_ERR_KUBE_API', `failed to ${action}: ${message}`, {
    hint: 'run again with DEBUG=1 for details.',
    cause: err,
  });
}
