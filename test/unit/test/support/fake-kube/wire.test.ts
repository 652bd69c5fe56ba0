import assert from 'node:assert/strict';
import { apiGroupListDoc, resourceListDoc } from '../../../../support/fake-kube/discovery.ts';
import { protobufToJson } from '../../../../support/fake-kube/protobuf.ts';
import {
  alreadyExists,
  conflict,
  forbidden,
  invalid,
  KubeStatusError,
  notFound,
} from '../../../../support/fake-kube/status.ts';
import { humanAge, toTable, wantsTable } from '../../../../support/fake-kube/table.ts';
import { resolveResource } from '../../../../support/fake-kube/resources.ts';

/** Minimal protobuf writer for length-delimited fields and varints. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}
function field(num: number, value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([varint((num << 3) | 2), varint(b.length), b]);
}
function boolField(num: number, v: boolean): Buffer {
  return Buffer.concat([varint(num << 3), varint(v ? 1 : 0)]);
}
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])),
    field(2, raw),
  ]);
}

describe('fake-kube wire formats', () => {
  it('decodes kubectl protobuf bodies for ConfigMap (data, binaryData, labels) and SelfSubjectAccessReview', () => {
    const meta = Buffer.concat([
      field(1, 'cfg'),
      field(3, 'ns1'),
      field(11, Buffer.concat([field(1, 'app'), field(2, 'x')])),
    ]);
    const cm = Buffer.concat([
      field(1, meta),
      field(2, Buffer.concat([field(1, 'a'), field(2, 'b')])),
      field(3, Buffer.concat([field(1, 'bin'), field(2, Buffer.from([0, 255]))])),
      boolField(4, true),
    ]);
    assert.deepEqual(protobufToJson(envelope('v1', 'ConfigMap', cm)), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', namespace: 'ns1', labels: { app: 'x' } },
      data: { a: 'b' },
      binaryData: { bin: Buffer.from([0, 255]).toString('base64') },
      immutable: true,
    });
    const attrs = Buffer.concat([field(1, 'team'), field(2, 'create'), field(5, 'pods')]);
    const ssar = Buffer.concat([field(1, Buffer.alloc(0)), field(2, field(1, attrs))]);
    assert.deepEqual(
      protobufToJson(envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', ssar)).spec,
      { resourceAttributes: { namespace: 'team', verb: 'create', resource: 'pods' } },
    );
  });

  it('answers 415 for kinds it cannot read and for garbage', () => {
    const is415 = (e: unknown) => e instanceof KubeStatusError && e.code === 415;
    assert.throws(() => protobufToJson(envelope('apps/v1', 'Deployment', Buffer.alloc(0))), is415);
    assert.throws(() => protobufToJson(Buffer.from('not protobuf')), is415);
    assert.throws(
      () =>
        protobufToJson(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x7f])])),
      is415,
    );
  });

  it("Status errors carry the real server's reasons, codes and wording", () => {
    assert.deepEqual(notFound('apps', 'deployments', 'web').toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "web" not found',
      reason: 'NotFound',
      code: 404,
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
    assert.equal(alreadyExists('', 'namespaces', 'x').toStatus().code, 409);
    assert.match(
      conflict('', 'configmaps', 'c').message,
      /^Operation cannot be fulfilled on configmaps "c": the object has been modified/,
    );
    assert.equal(forbidden('', 'namespaces', 'x', 'no').toStatus().reason, 'Forbidden');
    const inv = invalid('', 'ConfigMap', 'c', [{ field: 'data', message: 'Too long' }]).toStatus();
    assert.equal(inv.code, 422);
    assert.deepEqual(inv.details?.causes, [
      { reason: 'FieldValueInvalid', message: 'Too long', field: 'data' },
    ]);
  });

  it('discovery lists subresources and groups', () => {
    const core = resourceListDoc('', 'v1') as {
      resources: Array<{ name: string; verbs: string[] }>;
    };
    assert.deepEqual(core.resources.find((r) => r.name === 'pods/portforward')?.verbs, [
      'create',
      'get',
    ]);
    const groups = (
      apiGroupListDoc() as {
        groups: Array<{ name: string; preferredVersion: { groupVersion: string } }>;
      }
    ).groups;
    assert.deepEqual(
      groups.map((g) => g.preferredVersion.groupVersion),
      [
        'apps/v1',
        'batch/v1',
        'networking.k8s.io/v1',
        'authorization.k8s.io/v1',
        'rbac.authorization.k8s.io/v1',
        'monitoring.coreos.com/v1',
      ],
    );
    assert.equal(resourceListDoc('nope', 'v1'), undefined);
  });

  it('renders Tables the way kubectl expects', () => {
    assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'), true);
    assert.equal(wantsTable('application/json'), false);
    const now = new Date('2026-01-02T00:00:00Z');
    assert.equal(humanAge('2026-01-01T23:59:15Z', now), '45s');
    assert.equal(humanAge('2026-01-01T23:55:48Z', now), '4m12s');
    assert.equal(humanAge('2026-01-01T19:00:00Z', now), '5h');
    assert.equal(humanAge('2025-12-30T21:00:00Z', now), '2d3h');
    const pod = {
      metadata: { name: 'p', creationTimestamp: '2026-01-01T23:59:50Z' },
      spec: { containers: [{ name: 'c' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    };
    const table = toTable(resolveResource('pods'), [pod], '7', null, now);
    assert.deepEqual(table.rows[0].cells.slice(0, 5), ['p', '0/1', 'CrashLoopBackOff', '4', '10s']);
    assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
  });
});
