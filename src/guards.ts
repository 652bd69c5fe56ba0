/**
 * Narrowing values whose type nobody promised: what a `catch` caught, what
 * JSON or YAML parsed, what a worker posted. Checked here once, instead of
 * asserted with `as` at every use (an assertion proves nothing at run time).
 */

/** A JSON-style object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for anything with a string `message`: an Error of any realm, or one rebuilt from a worker. */
export function hasMessage(err: unknown): err is { message: string } {
  return typeof err === 'object' && err !== null && typeof Reflect.get(err, 'message') === 'string';
}

/**
 * The string `code` of a thrown value — Node's `ENOENT`, undici's
 * `UND_ERR_SOCKET`, our `EV_ERR_*` — or undefined when it has none (a numeric
 * code, such as an HTTP status on a Kubernetes client error, is not one).
 */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code: unknown = Reflect.get(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** The message of a thrown value; a value thrown that is not an error, as text. */
export function errorMessage(err: unknown): string {
  if (hasMessage(err)) return err.message;
  if (typeof err === 'string') return err;
  if (typeof err === 'number' || typeof err === 'boolean' || typeof err === 'bigint') {
    return String(err);
  }
  if (typeof err === 'symbol') return err.toString();
  if (err === null || err === undefined) return String(err);
  try {
    return JSON.stringify(err) ?? typeof err;
  } catch {
    return typeof err; // circular
  }
}

/** A file or socket error as a user reads it: the errno code says it all (`ENOENT`); else the message. */
export function codeOrMessage(err: unknown): string {
  return errorCode(err) ?? errorMessage(err);
}

/** The `cause` of a thrown value (undefined when it has none). */
export function causeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? Reflect.get(err, 'cause') : undefined;
}

/**
 * The first string code along the `cause` chain (the error itself first) that
 * `wanted` accepts: the network error under a fetch failure under our own wrapping.
 */
export function codeInCauses(
  err: unknown,
  wanted: (code: string) => boolean,
  depth = 8,
): string | undefined {
  let e = err;
  for (let i = 0; i < depth && typeof e === 'object' && e !== null; i++) {
    const code = errorCode(e);
    if (code !== undefined && wanted(code)) return code;
    e = causeOf(e);
  }
  return undefined;
}

/** The stack of a thrown value, if it has one. */
export function errorStack(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const stack: unknown = Reflect.get(err, 'stack');
  return typeof stack === 'string' ? stack : undefined;
}

/** The port of a listening TCP server, from `server.address()` (null or a path when it is not one). */
export function boundPort(address: string | { port: number } | null): number {
  if (address === null || typeof address === 'string') {
    throw new Error(`not a listening TCP server (address ${String(address)})`);
  }
  return address.port;
}

/** True when `v` is one of `allowed` (a list of string literals such as `RULE_STAGES`). */
export function isOneOf<T extends string>(allowed: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (allowed as readonly string[]).includes(v);
}
