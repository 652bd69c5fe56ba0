/**
 * REST semantics of the fake, free of HTTP: create/get/list/update/patch/
 * delete with resourceVersion preconditions, dryRun, status subresources,
 * finalizers, owner-reference garbage collection and RBAC faults.
 */
import { valueText } from './value-text.ts';
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import { initialManagedFields, recordUpdate, serverSideApply } from './apply.ts';
import type { UpdateOptions } from './apply.ts';
import {
  applyDefaults,
  decodeSecretData,
  defaultJobSelector,
  randomSuffix,
  validateObject,
  validateUpdate,
} from './defaults.ts';
import type { FaultControls } from './faults.ts';
import { applyJsonPatch, applyMergePatch, PATCH_TYPES, strategicMerge } from './patch.ts';
import { apiVersionOf, findResource, RESOURCE_TYPES } from './resources.ts';
import type { ResourceType } from './resources.ts';
import {
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
  validateFieldSelector,
} from './selectors.ts';
import { clone } from './store.ts';
import type { KubeObject, Store } from './store.ts';
import { enforcedPolicy, podSecurityViolation } from './pod-security.ts';
import { Authorizer, forbiddenReason, MASTERS_GROUP } from './rbac.ts';
import type { UserInfo } from './rbac.ts';
import {
  badRequest,
  conflict,
  forbidden,
  invalid,
  KubeStatusError,
  notFound,
  successStatus,
  unsupportedMediaType,
} from './status.ts';
import type { StatusObject } from './status.ts';

/** The identity the fake's own token authenticates as (an admin: group system:masters). */
export const FAKE_USER = 'system:serviceaccount:default:fake-kube-tester';
/** The admin user behind the fake's own token. */
export const ADMIN_USER: UserInfo = Object.freeze({
  name: FAKE_USER,
  groups: [MASTERS_GROUP, 'system:authenticated'],
});
/** Kinds whose DELETE answers with the deleted object rather than a Status (as on a real server). */
export const RETURNS_DELETED_OBJECT = new Set([
  'pods',
  'namespaces',
  'services',
  'serviceaccounts',
]);
/** Items per page when a client asks for more than this (`limit`). */
export const MAX_LIST_LIMIT = 10_000;

export interface Call {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
  contentType?: string;
  body?: Buffer;
  userAgent?: string;
  /** Who is asking; undefined for the fake's own controllers (never refused by RBAC). */
  user?: UserInfo;
}

export interface PodTerminator {
  /** Start a graceful stop; returns true when it will remove the pod itself. */
  terminate(pod: KubeObject, graceSeconds: number): boolean;
}

type Obj = Record<string, any>;

function parseJsonBody(body: Buffer | undefined): Obj {
  if (!body || body.length === 0) throw badRequest('the body of the request was empty');
  try {
    const v = JSON.parse(body.toString('utf8'));
    if (v === null || typeof v !== 'object') throw new Error('not an object');
    return v as Obj;
  } catch {
    throw badRequest(
      "the object provided is unrecognized (couldn't get version/kind; json parse error)",
    );
  }
}

function tryJson(text: string): Obj | undefined {
  try {
    return JSON.parse(text) as Obj;
  } catch {
    return undefined;
  }
}

function isDryRun(q: URLSearchParams): boolean {
  return q.getAll('dryRun').includes('All');
}

export class KubeApi {
  readonly store: Store;
  readonly faults: FaultControls;
  readonly authorizer: Authorizer;
  podTerminator: PodTerminator | undefined;

  constructor(store: Store, faults: FaultControls, authorizer: Authorizer = new Authorizer(store)) {
    this.store = store;
    this.faults = faults;
    this.authorizer = authorizer;
  }

  /**
   * Refuses with the real server's 403 when a fault denies the verb or, for
   * a `user` other than the fake's controllers, when RBAC does not grant it.
   */
  authorize(
    verb: string,
    rt: ResourceType,
    namespace: string | undefined,
    name?: string,
    user?: UserInfo,
    subresource?: string,
  ): void {
    // requestinfo.go: a request for one namespace is "in" that namespace, so a RoleBinding there can grant `get` on it.
    // A create is not (POST has no name; apply's create check in handlers/patch.go uses the cluster-scope namer).
    const ns = rt.namespaced
      ? namespace
      : rt.plural === 'namespaces' && name && verb !== 'create'
        ? name
        : undefined;
    const attrs = { verb, group: rt.group, resource: rt.plural, subresource, namespace: ns, name };
    const who = user ?? ADMIN_USER;
    if (
      this.faults.isDenied(verb, rt.group, rt.plural, rt.namespaced ? namespace : undefined) ||
      (user && !this.authorizer.authorize(user, attrs).allowed)
    ) {
      throw forbidden(rt.group, rt.plural, name, forbiddenReason(who, attrs));
    }
  }

  /**
   * PodSecurity admission (pod-security.ts) on a pod create, from its
   * namespace's labels; also for pods made by controllers, as on a real server.
   */
  private admitPod(obj: Obj): void {
    const ns = this.store.get(
      findResource('', 'v1', 'namespaces')!,
      undefined,
      String(obj.metadata.namespace ?? ''),
    );
    const violation = podSecurityViolation(enforcedPolicy(ns?.metadata.labels), obj);
    if (violation) throw forbidden('', 'pods', obj.metadata.name, violation);
    const refusal = this.podRefusals.find(
      (r) =>
        (r.namespace === undefined || r.namespace === obj.metadata.namespace) &&
        (r.labelSelector === undefined ||
          matchesRequirements(parseLabelSelector(r.labelSelector), obj.metadata.labels)),
    );
    if (refusal) throw forbidden('', 'pods', obj.metadata.name, refusal.message);
  }

  /**
   * Other admission that refuses pods on real clusters (a ResourceQuota, a
   * validating webhook): matching pod creates get 403 `pods "x" is forbidden: MESSAGE`.
   */
  readonly podRefusals: Array<{ namespace?: string; labelSelector?: string; message: string }> = [];

  private checkNamespaceForCreate(rt: ResourceType, ns: string | undefined, name: string): void {
    if (!rt.namespaced) return;
    if (!ns)
      throw badRequest('the server could not find the requested resource (namespace required)');
    const nsRt = findResource('', 'v1', 'namespaces')!;
    const nsObj = this.store.get(nsRt, undefined, ns);
    if (!nsObj) throw notFound('', 'namespaces', ns);
    if (nsObj.metadata.deletionTimestamp || (nsObj as Obj).status?.phase === 'Terminating') {
      throw forbidden(
        rt.group,
        rt.plural,
        name,
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  private checkKind(rt: ResourceType, obj: Obj): void {
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(rt)) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersionOf(rt)})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw badRequest(
        `the kind in the data (${obj.kind}) does not match the expected kind (${rt.kind})`,
      );
    }
  }

  private fixNamespace(rt: ResourceType, obj: Obj, ns: string | undefined): void {
    obj.metadata ??= {};
    if (!rt.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = ns ?? obj.metadata.namespace;
  }

  // ---- create -----------------------------------------------------------

  create(call: Call): KubeObject {
    const { rt } = call;
    const obj = parseJsonBody(call.body);
    this.checkKind(rt, obj);
    this.fixNamespace(rt, obj, call.namespace);
    if (rt.plural === 'selfsubjectaccessreviews')
      return this.accessReview(obj as KubeObject, call.user ?? ADMIN_USER);
    if (rt.plural === 'selfsubjectrulesreviews')
      return this.rulesReview(obj as KubeObject, call.user ?? ADMIN_USER);
    this.authorize('create', rt, call.namespace, obj.metadata.name);
    obj.metadata.managedFields = recordUpdate(
      undefined,
      obj as KubeObject,
      this.updateOptions(call),
    );
    return this.createObject(rt, obj as KubeObject, isDryRun(call.query));
  }

  /** Field manager of a non-apply write: `?fieldManager=`, else the client's name from its User-Agent. */
  private updateOptions(call: Call): UpdateOptions {
    const fromAgent = (call.userAgent ?? '').split('/')[0].trim();
    return {
      manager: call.query.get('fieldManager') ?? (fromAgent || 'unknown'),
      apiVersion: apiVersionOf(call.rt),
      time: this.store.timestamp(),
      subresource: call.subresource,
    };
  }

  /** Create path shared by POST, server-side apply of a new object, and controllers. */
  createObject(rt: ResourceType, input: KubeObject, dryRun = false): KubeObject {
    const obj = clone(input) as Obj;
    obj.metadata ??= {};
    if (!obj.metadata.name) {
      if (obj.metadata.generateName)
        obj.metadata.name = `${obj.metadata.generateName}${randomSuffix(5)}`;
      else
        throw invalid(rt.group, rt.kind, '', [
          {
            field: 'metadata.name',
            message: 'Required value: name or generateName is required',
            reason: 'FieldValueRequired',
          },
        ]);
    }
    this.checkNamespaceForCreate(rt, obj.metadata.namespace, obj.metadata.name);
    for (const k of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'deletionTimestamp',
      'generation',
    ])
      delete obj.metadata[k];
    obj.metadata.uid = randomUUID();
    if (rt.plural === 'jobs') defaultJobSelector(obj as KubeObject);
    decodeSecretData(rt, obj as KubeObject);
    applyDefaults(rt, obj as KubeObject);
    validateObject(rt, obj as KubeObject);
    if (rt.plural === 'pods') this.admitPod(obj);
    if (dryRun) {
      if (this.store.get(rt, obj.metadata.namespace, obj.metadata.name)) {
        throw new KubeStatusError(
          409,
          'AlreadyExists',
          `${rt.group ? `${rt.plural}.${rt.group}` : rt.plural} "${obj.metadata.name}" already exists`,
        );
      }
      obj.apiVersion = apiVersionOf(rt);
      obj.kind = rt.kind;
      obj.metadata.creationTimestamp = this.store.timestamp();
      obj.metadata.uid = '00000000-0000-0000-0000-000000000000';
      return obj as KubeObject;
    }
    return this.store.create(rt, obj as KubeObject);
  }

  /** SelfSubjectAccessReview, answered by the same faults and authorizer as real requests. */
  private accessReview(review: KubeObject, user: UserInfo): KubeObject {
    const r = clone(review) as Obj;
    r.apiVersion = 'authorization.k8s.io/v1';
    r.kind = 'SelfSubjectAccessReview';
    r.metadata = { creationTimestamp: null };
    const attrs = r.spec?.resourceAttributes as Obj | undefined;
    if (!attrs) {
      // Non-resource URLs are open to every authenticated user (see rbac.ts).
      if (!r.spec?.nonResourceAttributes)
        throw invalid('authorization.k8s.io', 'SelfSubjectAccessReview', '', [
          {
            field: 'spec.resourceAttributes',
            message:
              'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
          },
        ]);
      r.status = { allowed: true };
      return r as KubeObject;
    }
    const group = String(attrs.group ?? '');
    const resource = String(attrs.resource ?? '');
    const verb = String(attrs.verb ?? '');
    const namespace = attrs.namespace ? String(attrs.namespace) : undefined;
    if (this.faults.isDenied(verb, group, resource, namespace)) {
      r.status = { allowed: false, reason: 'denied by fake-kube fault injection' };
      return r as KubeObject;
    }
    const decision = this.authorizer.authorize(user, {
      verb,
      group,
      resource,
      namespace,
      ...(attrs.subresource ? { subresource: String(attrs.subresource) } : {}),
      ...(attrs.name ? { name: String(attrs.name) } : {}),
    });
    r.status = decision.reason
      ? { allowed: decision.allowed, reason: decision.reason }
      : { allowed: decision.allowed };
    return r as KubeObject;
  }

  /** SelfSubjectRulesReview (`kubectl auth can-i --list`). */
  private rulesReview(review: KubeObject, user: UserInfo): KubeObject {
    const r = clone(review) as Obj;
    r.apiVersion = 'authorization.k8s.io/v1';
    r.kind = 'SelfSubjectRulesReview';
    r.metadata = { creationTimestamp: null };
    r.status = {
      ...this.authorizer.rulesFor(user, r.spec?.namespace ? String(r.spec.namespace) : undefined),
      incomplete: false,
    };
    return r as KubeObject;
  }

  // ---- read ---------------------------------------------------------------

  get(call: Call): KubeObject {
    this.authorize('get', call.rt, call.namespace, call.name);
    return this.store.mustGet(call.rt, call.namespace, call.name ?? '');
  }

  /** Filtered objects for list and watch. */
  matcher(call: Call): (obj: KubeObject) => boolean {
    const labels = parseLabelSelector(call.query.get('labelSelector'));
    const fields = parseFieldSelector(call.query.get('fieldSelector'));
    validateFieldSelector(fields, call.rt.kind);
    return (obj) =>
      (call.namespace === undefined ||
        !call.rt.namespaced ||
        obj.metadata.namespace === call.namespace) &&
      matchesRequirements(labels, obj.metadata.labels) &&
      matchesFields(fields, obj);
  }

  list(call: Call): Obj {
    this.authorize('list', call.rt, call.namespace);
    const match = this.matcher(call);
    let items = this.store.list(call.rt, call.namespace).filter(match);
    const rv = String(this.store.currentRv);
    const metadata: Obj = { resourceVersion: rv };
    const cont = call.query.get('continue');
    if (cont) {
      let after: string;
      try {
        after = Buffer.from(cont, 'base64url').toString('utf8');
      } catch {
        throw badRequest('continue key is not valid');
      }
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > after);
    }
    const limitRaw = Number(call.query.get('limit') ?? '0');
    const limit =
      Number.isFinite(limitRaw) && limitRaw > 0 ? Math.min(limitRaw, MAX_LIST_LIMIT) : 0;
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      metadata.continue = Buffer.from(
        `${last.metadata.namespace ?? ''}/${last.metadata.name}`,
      ).toString('base64url');
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return { kind: `${call.rt.kind}List`, apiVersion: apiVersionOf(call.rt), metadata, items };
  }

  // ---- update -------------------------------------------------------------

  update(call: Call): KubeObject {
    const { rt } = call;
    const obj = parseJsonBody(call.body) as KubeObject;
    this.checkKind(rt, obj);
    this.fixNamespace(rt, obj, call.namespace);
    if (obj.metadata.name !== call.name)
      throw badRequest('the name of the object does not match the name on the URL');
    this.authorize('update', rt, call.namespace, call.name);
    const live = this.store.mustGet(rt, call.namespace, call.name ?? '');
    if (!obj.metadata.resourceVersion) {
      throw invalid(rt.group, rt.kind, call.name ?? '', [
        {
          field: 'metadata.resourceVersion',
          message: 'Invalid value: 0x0: must be specified for an update',
        },
      ]);
    }
    if (obj.metadata.resourceVersion !== live.metadata.resourceVersion)
      throw conflict(rt.group, rt.plural, call.name ?? '');
    if (rt.plural === 'namespaces' && call.subresource === 'finalize') {
      const next = clone(live) as Obj;
      next.spec = { ...(next.spec ?? {}), finalizers: (obj as Obj).spec?.finalizers ?? [] };
      return this.writeObject(rt, next as KubeObject, live, isDryRun(call.query));
    }
    const next = this.mergeSubresource(rt, call.subresource, live, obj);
    next.metadata.managedFields = recordUpdate(live, next, this.updateOptions(call));
    return this.writeObject(rt, next, live, isDryRun(call.query));
  }

  /** Main-resource writes keep status; status writes keep everything else. */
  private mergeSubresource(
    rt: ResourceType,
    subresource: string | undefined,
    live: KubeObject,
    next: KubeObject,
  ): KubeObject {
    const out = clone(next) as Obj;
    if (rt.hasStatus && subresource === undefined) {
      if ((live as Obj).status !== undefined) out.status = clone((live as Obj).status);
      else delete out.status;
    } else if (subresource === 'status') {
      const keep = clone(live) as Obj;
      keep.status = out.status;
      return keep as KubeObject;
    }
    // Server-owned metadata.
    out.metadata.managedFields = out.metadata.managedFields ?? live.metadata.managedFields;
    return out as KubeObject;
  }

  /** Write an updated object: defaults, validation, finalizer completion, dryRun. */
  writeObject(rt: ResourceType, next: KubeObject, live: KubeObject, dryRun = false): KubeObject {
    const obj = clone(next);
    obj.metadata.name = live.metadata.name;
    if (rt.namespaced) obj.metadata.namespace = live.metadata.namespace;
    obj.metadata.uid = live.metadata.uid;
    obj.metadata.creationTimestamp = live.metadata.creationTimestamp;
    obj.metadata.resourceVersion = live.metadata.resourceVersion;
    if (live.metadata.deletionTimestamp)
      obj.metadata.deletionTimestamp = live.metadata.deletionTimestamp;
    decodeSecretData(rt, obj);
    applyDefaults(rt, obj);
    validateObject(rt, obj);
    validateUpdate(rt, obj, live);
    if (dryRun) return obj;
    if (
      obj.metadata.deletionTimestamp &&
      (obj.metadata.finalizers ?? []).length === 0 &&
      rt.plural !== 'namespaces' &&
      rt.plural !== 'pods'
    ) {
      return this.store.remove(rt, obj.metadata.namespace, obj.metadata.name ?? '');
    }
    return this.store.update(rt, obj);
  }

  // ---- patch --------------------------------------------------------------

  patch(call: Call): KubeObject {
    const { rt } = call;
    const type = (call.contentType ?? '').split(';')[0].trim().toLowerCase();
    const body = call.body ?? Buffer.alloc(0);
    if (type === PATCH_TYPES.apply) return this.apply(call);
    if (type !== PATCH_TYPES.json && type !== PATCH_TYPES.merge && type !== PATCH_TYPES.strategic)
      throw unsupportedMediaType(type);
    this.authorize('patch', rt, call.namespace, call.name);
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString('utf8'));
    } catch {
      throw badRequest('error decoding patch: invalid JSON');
    }
    const live = this.store.mustGet(rt, call.namespace, call.name ?? '');
    if (rt.plural === 'deployments' && call.subresource === 'scale')
      return this.patchScale(call, live, type, patch);
    let patched: Obj;
    if (type === PATCH_TYPES.json) patched = applyJsonPatch(live, patch) as Obj;
    else if (type === PATCH_TYPES.merge) patched = applyMergePatch(live, patch) as Obj;
    else patched = strategicMerge(live, patch) as Obj;
    if (patched === null || typeof patched !== 'object' || Array.isArray(patched))
      throw badRequest('patch produced a non-object');
    patched.metadata ??= {};
    const want = patched.metadata.resourceVersion;
    if (want !== undefined && want !== live.metadata.resourceVersion)
      throw conflict(rt.group, rt.plural, call.name ?? '');
    patched.metadata.resourceVersion = live.metadata.resourceVersion;
    const next = this.mergeSubresource(rt, call.subresource, live, patched as KubeObject);
    next.metadata.managedFields = recordUpdate(live, next, this.updateOptions(call));
    return this.writeObject(rt, next, live, isDryRun(call.query));
  }

  private apply(call: Call): KubeObject {
    const { rt } = call;
    const manager = call.query.get('fieldManager');
    if (!manager)
      throw badRequest('PATCH, application/apply-patch+yaml requests must have fieldManager set');
    const force = call.query.get('force') === 'true';
    let config: Obj;
    const text = (call.body ?? Buffer.alloc(0)).toString('utf8');
    try {
      // Clients send JSON (valid YAML); parse it as such first: the YAML parser is slow on a 700 KB bundle.
      config = (/^\s*\{/.test(text) ? tryJson(text) : undefined) ?? (YAML.parse(text) as Obj);
    } catch (err) {
      throw badRequest(`error decoding YAML: ${(err as Error).message}`);
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config))
      throw badRequest('apply patch must be an object');
    if (config.apiVersion !== apiVersionOf(rt) || config.kind !== rt.kind) {
      throw badRequest(
        `apply patch must set apiVersion ${apiVersionOf(rt)} and kind ${rt.kind} (got ${config.apiVersion}, ${config.kind})`,
      );
    }
    config.metadata ??= {};
    if (config.metadata.name !== undefined && config.metadata.name !== call.name)
      throw badRequest('the name of the object does not match the name on the URL');
    config.metadata.name = call.name;
    this.fixNamespace(rt, config, call.namespace);
    if (config.metadata.managedFields !== undefined)
      throw badRequest('metadata.managedFields must be nil');
    if (rt.hasStatus && call.subresource === undefined) delete config.status;
    const live = this.store.get(rt, call.namespace, call.name ?? '');
    const opts = {
      manager,
      force,
      apiVersion: apiVersionOf(rt),
      time: this.store.timestamp(),
      subresource: call.subresource,
    };
    const dryRun = isDryRun(call.query);
    if (!live) {
      // The request itself was authorized as `patch`; creating needs `create` too (apiserver handlers/patch.go).
      this.authorize('create', rt, call.namespace, call.name, call.user);
      const fresh = clone(config) as KubeObject;
      fresh.metadata.managedFields = initialManagedFields(config as KubeObject, opts);
      return this.createObject(rt, fresh, dryRun);
    }
    this.authorize('patch', rt, call.namespace, call.name);
    if (
      config.metadata.resourceVersion !== undefined &&
      config.metadata.resourceVersion !== live.metadata.resourceVersion
    ) {
      throw conflict(rt.group, rt.plural, call.name ?? '');
    }
    const merged = serverSideApply(live, config as KubeObject, opts);
    merged.metadata.resourceVersion = live.metadata.resourceVersion;
    const next = this.mergeSubresource(rt, call.subresource, live, merged);
    next.metadata.managedFields = merged.metadata.managedFields;
    return this.writeObject(rt, next, live, dryRun);
  }

  // ---- scale --------------------------------------------------------------

  scaleOf(deploy: KubeObject): Obj {
    const d = deploy as Obj;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        uid: d.metadata.uid,
        resourceVersion: d.metadata.resourceVersion,
        creationTimestamp: d.metadata.creationTimestamp,
      },
      spec: { replicas: d.spec?.replicas ?? 0 },
      status: {
        replicas: d.status?.replicas ?? 0,
        selector: Object.entries(d.spec?.selector?.matchLabels ?? {})
          .map(([k, v]) => `${k}=${valueText(v)}`)
          .join(','),
      },
    };
  }

  updateScale(call: Call): Obj {
    const live = this.store.mustGet(call.rt, call.namespace, call.name ?? '');
    const scale = parseJsonBody(call.body);
    if (
      scale.metadata?.resourceVersion &&
      scale.metadata.resourceVersion !== live.metadata.resourceVersion
    )
      throw conflict(call.rt.group, call.rt.plural, call.name ?? '');
    const next = clone(live) as Obj;
    next.spec.replicas = scale.spec?.replicas ?? 0;
    return this.scaleOf(this.writeObject(call.rt, next as KubeObject, live, isDryRun(call.query)));
  }

  private patchScale(call: Call, live: KubeObject, type: string, patch: unknown): KubeObject {
    const scale = this.scaleOf(live);
    const patched = (
      type === PATCH_TYPES.json ? applyJsonPatch(scale, patch) : applyMergePatch(scale, patch)
    ) as Obj;
    const next = clone(live) as Obj;
    next.spec.replicas = patched.spec?.replicas ?? 0;
    return this.scaleOf(
      this.writeObject(call.rt, next as KubeObject, live, isDryRun(call.query)),
    ) as KubeObject;
  }

  // ---- delete -------------------------------------------------------------

  delete(call: Call): KubeObject | StatusObject {
    const { rt } = call;
    this.authorize('delete', rt, call.namespace, call.name);
    const live = this.store.mustGet(rt, call.namespace, call.name ?? '');
    let opts: Obj = {};
    if (call.body && call.body.length > 0) {
      try {
        opts = JSON.parse(call.body.toString('utf8')) as Obj;
      } catch {
        throw badRequest('invalid DeleteOptions');
      }
    }
    const pre = opts.preconditions as Obj | undefined;
    if (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion)
      throw conflict(rt.group, rt.plural, call.name ?? '');
    if (pre?.uid && pre.uid !== live.metadata.uid)
      throw conflict(
        rt.group,
        rt.plural,
        call.name ?? '',
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`,
      );
    if (isDryRun(call.query) || (Array.isArray(opts.dryRun) && opts.dryRun.includes('All')))
      return live;
    const graceQ = call.query.get('gracePeriodSeconds');
    const grace =
      graceQ !== null
        ? Number(graceQ)
        : typeof opts.gracePeriodSeconds === 'number'
          ? opts.gracePeriodSeconds
          : undefined;
    // batch/v1 Jobs still default to orphaning their pods, as on a real server.
    const propagation = String(
      call.query.get('propagationPolicy') ??
        opts.propagationPolicy ??
        (opts.orphanDependents === true ||
        (rt.plural === 'jobs' && opts.orphanDependents === undefined)
          ? 'Orphan'
          : 'Background'),
    );
    const result = this.deleteObject(rt, live, { grace, orphan: propagation === 'Orphan' });
    // Most kinds answer an immediate delete with a Status; a few return the object.
    if (
      RETURNS_DELETED_OBJECT.has(rt.plural) ||
      this.store.get(rt, live.metadata.namespace, live.metadata.name ?? '')
    )
      return result;
    return successStatus(rt.group, rt.plural, live.metadata.name ?? '', live.metadata.uid);
  }

  /** Delete with the real server's semantics per kind. Also used by controllers. */
  deleteObject(
    rt: ResourceType,
    live: KubeObject,
    opts: { grace?: number; orphan?: boolean } = {},
  ): KubeObject {
    const name = live.metadata.name ?? '';
    if (rt.plural === 'namespaces') {
      if (live.metadata.deletionTimestamp) return live;
      const next = clone(live) as Obj;
      next.metadata.deletionTimestamp = this.store.timestamp();
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      return this.store.update(rt, next as KubeObject);
    }
    if (rt.plural === 'pods') {
      const grace = opts.grace ?? (live as Obj).spec?.terminationGracePeriodSeconds ?? 30;
      if (live.metadata.deletionTimestamp && grace !== 0) return live;
      if (grace > 0 && this.podTerminator) {
        const next = clone(live);
        next.metadata.deletionTimestamp = this.store.timestamp();
        next.metadata.deletionGracePeriodSeconds = grace;
        const updated = this.store.update(rt, next);
        if (this.podTerminator.terminate(updated, grace)) return updated;
      } else if (this.podTerminator) {
        this.podTerminator.terminate(live, 0);
      }
      const removed = this.removeNow(rt, live.metadata.namespace, name);
      return removed ?? live;
    }
    if ((live.metadata.finalizers ?? []).length > 0) {
      if (live.metadata.deletionTimestamp) return live;
      const next = clone(live);
      next.metadata.deletionTimestamp = this.store.timestamp();
      return this.store.update(rt, next);
    }
    const removed = this.store.remove(rt, live.metadata.namespace, name);
    if (!opts.orphan) this.collectDependents(removed);
    return removed;
  }

  /** Remove unless already gone; returns undefined when it was. */
  removeNow(rt: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    if (!this.store.get(rt, ns, name)) return undefined;
    const removed = this.store.remove(rt, ns, name);
    this.collectDependents(removed);
    return removed;
  }

  /** Background garbage collection: delete objects owned by `owner`. */
  collectDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    if (!uid) return;
    for (const t of RESOURCE_TYPES) {
      if (!t.namespaced || !t.verbs.includes('delete')) continue;
      for (const o of this.store.list(t, owner.metadata.namespace)) {
        if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) {
          try {
            this.deleteObject(t, o);
          } catch (err) {
            if (!(err instanceof KubeStatusError && err.code === 404)) throw err;
          }
        }
      }
    }
  }

  deleteCollection(call: Call): Obj {
    this.authorize('deletecollection', call.rt, call.namespace);
    const match = this.matcher(call);
    const deleted: KubeObject[] = [];
    for (const o of this.store.list(call.rt, call.namespace).filter(match)) {
      if (!isDryRun(call.query)) deleted.push(this.deleteObject(call.rt, o));
      else deleted.push(o);
    }
    return {
      kind: `${call.rt.kind}List`,
      apiVersion: apiVersionOf(call.rt),
      metadata: { resourceVersion: String(this.store.currentRv) },
      items: deleted,
    };
  }
}
