/**
 * HTTP routing: authentication, URL -> (group, version, namespace, resource,
 * name, subresource), verb dispatch to KubeApi, watch, pods/log and the
 * pods/portforward WebSocket upgrade. Every answer is JSON (`Status` on error)
 * except logs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import YAML from 'yaml';
import { ADMIN_USER } from './api.ts';
import type { Call, KubeApi } from './api.ts';
import {
  apiGroupDoc,
  apiGroupListDoc,
  apiVersionsDoc,
  resourceListDoc,
  versionDoc,
} from './discovery.ts';
import type { FaultControls } from './faults.ts';
import type { Kubelet } from './kubelet.ts';
import { sliceLog } from './logs.ts';
import type { PortForwarder } from './port-forward.ts';
import type { UserInfo } from './rbac.ts';
import { parsePorts, PORT_FORWARD_PROTOCOLS } from './port-forward.ts';
import { findResource, resolveResource } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { PATCH_TYPES } from './patch.ts';
import { protobufToJson } from './protobuf.ts';
import { fieldValidationOf, modelFor, pruneUnknownFields } from './schema.ts';
import {
  badRequest,
  internal,
  KubeStatusError,
  methodNotAllowed,
  notFound,
  tooLarge,
  unauthorized,
  unsupportedMediaType,
} from './status.ts';
import { toTable, wantsTable } from './table.ts';
import type { WatchHub } from './watch.ts';

/** Largest request body accepted (the real server's limit is 3 MiB). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;
/** Requests remembered for assertions (`fake.requests`). */
export const MAX_REQUEST_LOG = 5000;

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  userAgent: string | undefined;
  status: number;
  /** Time from the request's arrival to the end of the response (a watch: its whole life). */
  ms: number;
}

interface Parsed {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  watch: boolean;
}

export interface RouterDeps {
  api: KubeApi;
  watches: WatchHub;
  kubelet: Kubelet;
  forwarder: PortForwarder;
  faults: FaultControls;
  token: () => string;
  serverAddress: () => string;
  /**
   * Kubernetes 1.35's AuthorizePodWebsocketUpgradeCreatePermission: the
   * WebSocket port-forward upgrade (a GET, so `get pods/portforward`) also
   * needs `create pods/portforward`. Off: 1.32 behaviour.
   */
  websocketUpgradeNeedsCreate?: () => boolean;
}

/**
 * The verb a request is authorized as (apiserver endpoints/request/requestinfo.go):
 * GET on a collection is list (watch with `watch=true` or `/watch/`), DELETE on a
 * collection deletecollection; server-side apply is a PATCH, so `patch`.
 */
export function requestVerb(method: string, named: boolean, watching: boolean): string {
  if (watching) return 'watch';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/**
 * A transient failure worded as the real server words it: 429 from API
 * Priority and Fairness ("Too many requests, please try again later.", with
 * Retry-After), 500 InternalError, 503 ServiceUnavailable.
 */
function transientStatus(status: number, retryAfterSeconds?: number): KubeStatusError {
  const details = retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
  if (status === 429)
    return new KubeStatusError(
      429,
      'TooManyRequests',
      'Too many requests, please try again later.',
      details,
    );
  if (status === 503)
    return new KubeStatusError(
      503,
      'ServiceUnavailable',
      'the server is currently unable to handle the request',
      details,
    );
  if (status === 504)
    return new KubeStatusError(
      504,
      'Timeout',
      'the server was unable to return a response in the time allotted, but may still be processing the request',
      details,
    );
  return new KubeStatusError(
    status,
    'InternalError',
    'an error on the server ("fake-kube fault injection") has prevented the request from succeeding',
    details,
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: KubeStatusError): void {
  if (err.details?.retryAfterSeconds !== undefined)
    res.setHeader('Retry-After', String(err.details.retryAfterSeconds));
  sendJson(res, err.code, err.toStatus());
}

function parsePath(pathname: string): Parsed | { discovery: unknown } | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return undefined;
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 2) {
      const doc = apiGroupDoc(parts[1]);
      return doc ? { discovery: doc } : undefined;
    }
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) {
    const doc = resourceListDoc(group, version);
    return doc ? { discovery: doc } : undefined;
  }
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version, rest[2])) {
    const rt = findResource(group, version, rest[2]);
    if (!rt || !rt.namespaced) return undefined;
    return { rt, namespace: rest[1], name: rest[3], subresource: rest[4], watch };
  }
  const rt = findResource(group, version, rest[0]);
  if (!rt) return undefined;
  if (rest.length > 3) return undefined;
  return { rt, name: rest[1], subresource: rest[2], watch };
}

function parseYamlBody(body: Buffer): unknown {
  try {
    return YAML.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(tooLarge('Request entity too large: limit is 3145728'));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class Router {
  private readonly deps: RouterDeps;
  readonly requests: RequestRecord[] = [];

  constructor(deps: RouterDeps) {
    this.deps = deps;
  }

  private record(
    req: IncomingMessage,
    url: URL,
    status: number,
    started = performance.now(),
  ): void {
    this.requests.push({
      ms: Math.round((performance.now() - started) * 10) / 10,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      contentType: req.headers['content-type'],
      userAgent: req.headers['user-agent'],
      status,
    });
    if (this.requests.length > MAX_REQUEST_LOG)
      this.requests.splice(0, this.requests.length - MAX_REQUEST_LOG);
  }

  /** The user behind the bearer token (the fake's own token is the admin), or undefined: 401. */
  private authenticated(req: IncomingMessage): UserInfo | undefined {
    if (this.deps.faults.rejectAllTokens) return undefined;
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return undefined;
    const token = header.slice('Bearer '.length);
    if (token === this.deps.token()) return ADMIN_USER;
    return this.deps.api.authorizer.authenticate(token);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const started = performance.now();
    res.on('finish', () => this.record(req, url, res.statusCode, started));
    try {
      const user = this.authenticated(req);
      if (!user) throw unauthorized();
      const watching =
        url.pathname.includes('/watch/') ||
        ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      const fault = this.deps.faults.takeTransient(req.method ?? 'GET', url.pathname, watching);
      if (fault?.kind === 'reset') {
        // No answer at all: the client sees ECONNRESET / "socket hang up".
        this.record(req, url, 0, started);
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') throw transientStatus(fault.status, fault.retryAfterSeconds);
      await this.route(
        req,
        res,
        url,
        user,
        fault?.kind === 'watch-close' ? (fault.afterEvents ?? 0) : undefined,
      );
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof KubeStatusError) sendStatus(res, err);
      else sendStatus(res, internal((err as Error).message ?? String(err)));
    }
  }

  /** `closeWatchAfter`: a `watch-close` fault hit this request; end the watch after that many events. */
  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: UserInfo,
    closeWatchAfter?: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const p = url.pathname.replace(/\/+$/, '') || '/';
    if (p === '/version')
      return sendJson(
        res,
        200,
        versionDoc(this.deps.websocketUpgradeNeedsCreate?.() ? '35' : undefined),
      );
    if (p === '/api') return sendJson(res, 200, apiVersionsDoc(this.deps.serverAddress()));
    if (p === '/apis') return sendJson(res, 200, apiGroupListDoc());
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    const parsed = parsePath(p);
    if (!parsed)
      throw new KubeStatusError(
        404,
        'NotFound',
        'the server could not find the requested resource',
        {},
      );
    if ('discovery' in parsed) return sendJson(res, 200, parsed.discovery);
    const faults = this.deps.faults;
    if (faults.responseDelayMs > 0) {
      faults.delayedInFlight++;
      try {
        await new Promise((r) => setTimeout(r, faults.responseDelayMs));
      } finally {
        faults.delayedInFlight--;
      }
    }
    if (faults.failRequests.count > 0) {
      faults.failRequests.count--;
      throw transientStatus(
        faults.failRequests.status,
        faults.failRequests.status === 429 || faults.failRequests.status === 503 ? 1 : undefined,
      );
    }
    const { rt, namespace, name, subresource } = parsed;
    const known =
      subresource === undefined || (rt.subresources ?? []).some((s) => s.name === subresource);
    if (!known)
      throw new KubeStatusError(
        404,
        'NotFound',
        'the server could not find the requested resource',
      );
    // Authorization comes before the body is read, as in the real filter chain; a create names no object yet.
    const watchingRequest =
      parsed.watch ||
      (name === undefined && ['true', '1'].includes(url.searchParams.get('watch') ?? ''));
    this.deps.api.authorize(
      requestVerb(method, name !== undefined, watchingRequest),
      rt,
      namespace,
      method === 'POST' && subresource === undefined ? undefined : name,
      user,
      subresource,
    );
    const hasBody =
      method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
    let body = hasBody ? await readBody(req) : undefined;
    const bodyType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (body && body.length > 0 && (method === 'POST' || method === 'PUT')) {
      // kubectl's typed clients send protobuf; manifests may come as YAML.
      if (bodyType === 'application/vnd.kubernetes.protobuf')
        body = Buffer.from(JSON.stringify(protobufToJson(body)));
      else if (bodyType === 'application/yaml')
        body = Buffer.from(JSON.stringify(parseYamlBody(body)));
      else if (bodyType !== '' && bodyType !== 'application/json')
        throw unsupportedMediaType(bodyType);
    }
    if (
      body &&
      body.length > 0 &&
      subresource === undefined &&
      (method === 'POST' || method === 'PUT' || method === 'PATCH')
    ) {
      body = this.dropUnknownFields(rt, method, bodyType, body, url.searchParams, res);
    }
    const call: Call = {
      rt,
      namespace,
      name,
      subresource,
      query: url.searchParams,
      contentType: req.headers['content-type'],
      body,
      userAgent: req.headers['user-agent'],
      user,
    };
    const api = this.deps.api;
    const allow = (verb: string): void => {
      if (!rt.verbs.includes(verb))
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    };
    if (name === undefined) {
      switch (method) {
        case 'GET': {
          const watching =
            parsed.watch || ['true', '1'].includes(url.searchParams.get('watch') ?? '');
          if (watching) {
            allow('watch');
            this.deps.watches.serve(call, req, res, closeWatchAfter);
            return;
          }
          allow('list');
          const list = api.list(call);
          if (wantsTable(req.headers.accept)) {
            const { resourceVersion, ...listMeta } = list.metadata;
            return sendJson(
              res,
              200,
              toTable(
                rt,
                list.items,
                resourceVersion,
                url.searchParams.get('includeObject'),
                new Date(),
                listMeta,
              ),
            );
          }
          return sendJson(res, 200, list);
        }
        case 'POST':
          allow('create');
          return sendJson(res, 201, api.create(call));
        case 'DELETE':
          allow('deletecollection');
          return sendJson(res, 200, api.deleteCollection(call));
        default:
          throw methodNotAllowed(`the server does not allow this method on the requested resource`);
      }
    }
    if (subresource === 'log') return this.logs(req, res, call);
    if (subresource === 'portforward')
      throw badRequest(
        `Upgrade request required: fake-kube speaks port-forward only over WebSocket with ${PORT_FORWARD_PROTOCOLS.join(' or ')}; kubectl's SPDY port-forward is not supported`,
      );
    if (subresource === 'scale') {
      if (method === 'GET') return sendJson(res, 200, api.scaleOf(api.get(call)));
      if (method === 'PUT') return sendJson(res, 200, api.updateScale(call));
      if (method === 'PATCH') return sendJson(res, 200, api.patch(call));
      throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
    switch (method) {
      case 'GET':
        if (parsed.watch) {
          allow('watch');
          call.query.set('fieldSelector', `metadata.name=${name}`);
          call.name = undefined;
          this.deps.watches.serve(call, req, res, closeWatchAfter);
          return;
        }
        allow('get');
        if (wantsTable(req.headers.accept) && subresource === undefined) {
          const obj = api.get(call);
          return sendJson(
            res,
            200,
            toTable(
              rt,
              [obj],
              obj.metadata.resourceVersion ?? '',
              url.searchParams.get('includeObject'),
              new Date(),
            ),
          );
        }
        return sendJson(res, 200, api.get(call));
      case 'PUT':
        allow('update');
        return sendJson(res, 200, api.update(call));
      case 'PATCH': {
        allow('patch');
        const existed = api.store.get(rt, namespace, name) !== undefined;
        const out = api.patch(call);
        return sendJson(res, existed ? 200 : 201, out);
      }
      case 'DELETE':
        allow('delete');
        return sendJson(res, 200, api.delete(call));
      default:
        throw methodNotAllowed('the server does not allow this method on the requested resource');
    }
  }

  /**
   * Decodes the body against the kind's schema as a real server does: unknown
   * fields are not stored; fieldValidation=Warn (the default) says so in a
   * Warning header per field, Strict refuses, Ignore is silent (schema.ts).
   */
  private dropUnknownFields(
    rt: ResourceType,
    method: string,
    bodyType: string,
    body: Buffer,
    query: URLSearchParams,
    res: ServerResponse,
  ): Buffer {
    if (bodyType === PATCH_TYPES.json) return body;
    const model = modelFor(rt);
    if (!model) return body;
    const validation = fieldValidationOf(query);
    if (!validation)
      throw badRequest(
        `fieldValidation parameter unsupported: ${query.get('fieldValidation')}; must be one of Ignore, Warn, Strict`,
      );
    const apply = bodyType === PATCH_TYPES.apply;
    let parsed: unknown;
    try {
      // Clients send JSON (valid YAML): parse it as such first, the YAML parser is slow on a 700 KB bundle.
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      if (!apply) return body;
      try {
        parsed = parseYamlBody(body);
      } catch {
        return body;
      }
    }
    const removed = pruneUnknownFields(parsed, model, method === 'PATCH' && !apply);
    if (removed.length === 0) return body;
    if (validation === 'Strict') {
      if (apply)
        throw badRequest(
          `failed to create typed patch object: ${removed.map((p) => `.${p}: field not declared in schema`).join(', ')}`,
        );
      throw badRequest(
        `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${removed.map((p) => `unknown field "${p}"`).join(', ')}`,
      );
    }
    if (validation === 'Warn')
      res.setHeader(
        'Warning',
        removed.map((p) => `299 - "unknown field \\"${p}\\""`),
      );
    return Buffer.from(JSON.stringify(parsed));
  }

  private logs(req: IncomingMessage, res: ServerResponse, call: Call): void {
    const pod = this.deps.api.get(call) as Record<string, any>;
    const q = call.query;
    const names: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const initNames: string[] = (pod.spec?.initContainers ?? []).map(
      (c: { name: string }) => c.name,
    );
    let container = q.get('container') ?? undefined;
    if (!container) {
      if (names.length !== 1)
        throw badRequest(
          `a container name must be specified for pod ${call.name}, choose one of: [${names.join(' ')}]`,
        );
      container = names[0];
    }
    if (!names.includes(container) && !initNames.includes(container))
      throw badRequest(`container ${container} is not valid for pod ${call.name}`);
    const previous = q.get('previous') === 'true';
    const buffer = this.deps.kubelet.logs(pod.metadata.uid, container, previous);
    if (!buffer) {
      if (previous)
        throw badRequest(
          `previous terminated container "${container}" in pod "${call.name}" not found`,
        );
      const st = (pod.status?.containerStatuses ?? []).find(
        (s: { name: string }) => s.name === container,
      );
      const waiting = st?.state?.waiting?.reason ?? 'ContainerCreating';
      throw badRequest(
        `container "${container}" in pod "${call.name}" is waiting to start: ${waiting}`,
      );
    }
    const tail = q.get('tailLines');
    const limit = q.get('limitBytes');
    const text = sliceLog(
      buffer.contents(),
      tail !== null ? Number(tail) : undefined,
      limit !== null ? Number(limit) : undefined,
    );
    if (q.get('follow') !== 'true') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
      res.end(text);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.write(text);
    const stop = buffer.follow((chunk) => {
      if (chunk === null) res.end();
      else res.write(chunk);
    });
    req.on('close', stop);
  }

  /** WebSocket upgrades: only pods/portforward. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake-kube');
    const fail = (err: KubeStatusError): void => {
      this.record(req, url, err.code);
      const text = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\n${err.details?.retryAfterSeconds !== undefined ? `Retry-After: ${err.details.retryAfterSeconds}\r\n` : ''}Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    try {
      const user = this.authenticated(req);
      if (!user) throw unauthorized();
      const parsed = parsePath(url.pathname);
      if (
        !parsed ||
        'discovery' in parsed ||
        parsed.rt !== resolveResource('pods') ||
        parsed.subresource !== 'portforward' ||
        !parsed.name
      ) {
        throw new KubeStatusError(
          404,
          'NotFound',
          'the server could not find the requested resource',
        );
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (
        String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
        !offered.some((p) => PORT_FORWARD_PROTOCOLS.includes(p))
      ) {
        throw badRequest(
          `fake-kube speaks port-forward only over WebSocket with ${PORT_FORWARD_PROTOCOLS.join(' or ')} (as @kubernetes/client-node does); kubectl's SPDY port-forward is not supported`,
        );
      }
      const fault = this.deps.faults.takeTransient('GET', url.pathname, false);
      if (fault?.kind === 'reset') {
        this.record(req, url, 0);
        socket.destroy();
        return;
      }
      if (fault?.kind === 'status') throw transientStatus(fault.status, fault.retryAfterSeconds);
      const rejectWith = this.deps.faults.portForwardRejectStatus;
      if (rejectWith !== undefined)
        throw new KubeStatusError(
          rejectWith,
          'InternalError',
          'port-forward rejected by fake-kube fault injection',
        );
      // The upgrade is a GET: `get pods/portforward`; 1.35 also checks `create` (AuthorizePodWebsocketUpgradeCreatePermission).
      this.deps.api.authorize('get', parsed.rt, parsed.namespace, parsed.name, user, 'portforward');
      if (this.deps.websocketUpgradeNeedsCreate?.())
        this.deps.api.authorize(
          'create',
          parsed.rt,
          parsed.namespace,
          parsed.name,
          user,
          'portforward',
        );
      const pod = this.deps.api.store.get(parsed.rt, parsed.namespace, parsed.name) as
        Record<string, any> | undefined;
      if (!pod) throw notFound('', 'pods', parsed.name);
      const ports = parsePorts(url.searchParams.getAll('ports'));
      if (!ports)
        throw badRequest(
          'invalid or missing port(s): query parameter "ports" must list 1 to 16 ports',
        );
      const ip = this.deps.kubelet.podIp(pod.metadata.uid);
      if (!ip || pod.status?.phase !== 'Running')
        throw badRequest(
          `unable to upgrade connection: pod ${parsed.name} is not running (phase ${pod.status?.phase ?? 'Unknown'})`,
        );
      this.record(req, url, 101);
      this.deps.forwarder.handle(req, socket, head, ip, ports, (port) =>
        this.deps.kubelet.hostPort(pod.metadata.uid, port),
      );
    } catch (err) {
      if (err instanceof KubeStatusError) fail(err);
      else fail(internal((err as Error).message));
    }
  }
}
