/**
 * Kubernetes `Status` failures as the API server sends them (kind Status,
 * apiVersion v1, status Failure, reason, code, details). Messages follow the
 * real server's wording because clients (and users) read them.
 */

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that the router turns into a Status response. */
export class KubeStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'KubeStatusError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** `pods` or `deployments.apps`: how the server names a resource in messages. */
export function qualifiedResource(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

function details(group: string, kindPlural: string, name?: string): StatusDetails {
  const d: StatusDetails = { kind: kindPlural };
  if (name !== undefined) d.name = name;
  if (group !== '') d.group = group;
  return d;
}

export function notFound(group: string, plural: string, name: string): KubeStatusError {
  return new KubeStatusError(
    404,
    'NotFound',
    `${qualifiedResource(group, plural)} "${name}" not found`,
    details(group, plural, name),
  );
}

export function alreadyExists(group: string, plural: string, name: string): KubeStatusError {
  return new KubeStatusError(
    409,
    'AlreadyExists',
    `${qualifiedResource(group, plural)} "${name}" already exists`,
    details(group, plural, name),
  );
}

export function conflict(
  group: string,
  plural: string,
  name: string,
  why?: string,
): KubeStatusError {
  const reason =
    why ??
    'the object has been modified; please apply your changes to the latest version and try again';
  return new KubeStatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, plural)} "${name}": ${reason}`,
    details(group, plural, name),
  );
}

export function forbidden(
  group: string,
  plural: string,
  name: string | undefined,
  why: string,
): KubeStatusError {
  const what =
    name === undefined || name === ''
      ? qualifiedResource(group, plural)
      : `${qualifiedResource(group, plural)} "${name}"`;
  return new KubeStatusError(
    403,
    'Forbidden',
    `${what} is forbidden: ${why}`,
    details(group, plural, name),
  );
}

export interface FieldCause {
  field: string;
  message: string;
  reason?: string;
}

export function invalid(
  group: string,
  kind: string,
  name: string,
  causes: FieldCause[],
): KubeStatusError {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  const d: StatusDetails = {
    name,
    kind,
    causes: causes.map((c) => ({
      reason: c.reason ?? 'FieldValueInvalid',
      message: `${c.message}`,
      field: c.field,
    })),
  };
  if (group !== '') d.group = group;
  const shown = causes.length > 1 ? `[${text}]` : text;
  return new KubeStatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${shown}`, d);
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, 'BadRequest', message);
}

export function expired(message: string): KubeStatusError {
  return new KubeStatusError(410, 'Expired', message);
}

export function unauthorized(): KubeStatusError {
  return new KubeStatusError(401, 'Unauthorized', 'Unauthorized');
}

export function unsupportedMediaType(contentType: string): KubeStatusError {
  return new KubeStatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${JSON.stringify(contentType)})`,
  );
}

export function methodNotAllowed(message: string): KubeStatusError {
  return new KubeStatusError(405, 'MethodNotAllowed', message);
}

export function tooLarge(message: string): KubeStatusError {
  return new KubeStatusError(413, 'RequestEntityTooLarge', message);
}

export function internal(message: string): KubeStatusError {
  return new KubeStatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** The Status a successful delete of some resources returns. */
export function successStatus(
  group: string,
  plural: string,
  name: string,
  uid?: string,
): StatusObject {
  const d: StatusDetails & { uid?: string } = details(group, plural, name);
  if (uid) d.uid = uid;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: d,
    code: 200,
  };
}
