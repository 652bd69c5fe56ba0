import assert from 'node:assert/strict';
import {
  fieldPaths,
  fromFieldsV1,
  serverSideApply,
  toFieldsV1,
} from '../../../../support/fake-kube/apply.ts';
import {
  applyJsonPatch,
  applyMergePatch,
  strategicMerge,
} from '../../../../support/fake-kube/patch.ts';
import type { KubeObject } from '../../../../support/fake-kube/store.ts';
import { KubeStatusError } from '../../../../support/fake-kube/status.ts';

describe('fake-kube patches', () => {
  describe('JSON Patch (RFC 6902)', () => {
    const doc = { a: { b: [1, 2, 3] }, 'x/y': { '~z': 1 } };

    it('add, remove, replace, move, copy, test', () => {
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/a/b/1', value: 9 }]), {
        a: { b: [1, 9, 2, 3] },
        'x/y': { '~z': 1 },
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/a/b/-', value: 4 }]), {
        a: { b: [1, 2, 3, 4] },
        'x/y': { '~z': 1 },
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'remove', path: '/x~1y/~0z' }]), {
        a: { b: [1, 2, 3] },
        'x/y': {},
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'replace', path: '/a/b', value: [] }]), {
        a: { b: [] },
        'x/y': { '~z': 1 },
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'move', from: '/a/b', path: '/c' }]), {
        a: {},
        'x/y': { '~z': 1 },
        c: [1, 2, 3],
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'copy', from: '/a/b/0', path: '/d' }]), {
        a: { b: [1, 2, 3] },
        'x/y': { '~z': 1 },
        d: 1,
      });
      assert.deepEqual(applyJsonPatch(doc, [{ op: 'test', path: '/a/b/2', value: 3 }]), doc);
    });

    it('never mutates its input and fails with 422 on a missing path or failed test', () => {
      const before = JSON.stringify(doc);
      applyJsonPatch(doc, [{ op: 'add', path: '/q', value: 1 }]);
      assert.equal(JSON.stringify(doc), before);
      assert.throws(
        () => applyJsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }]),
        (e: unknown) => e instanceof KubeStatusError && e.code === 422,
      );
      assert.throws(
        () => applyJsonPatch(doc, [{ op: 'test', path: '/a/b/0', value: 2 }]),
        (e: unknown) => e instanceof KubeStatusError && e.code === 422,
      );
      assert.throws(
        () => applyJsonPatch(doc, { op: 'add' }),
        (e: unknown) => e instanceof KubeStatusError && e.code === 400,
      );
    });
  });

  it('merge patch (RFC 7386): null deletes, objects merge, arrays replace', () => {
    assert.deepEqual(
      applyMergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] }),
      { b: { c: 9, d: 3 }, l: [3] },
    );
  });

  it('strategic merge patch merges containers/env/ports/volumes by key and honours $patch', () => {
    const live = {
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x',
            env: [{ name: 'A', value: '1' }],
            ports: [{ containerPort: 80 }],
          },
          { name: 'b', image: 'y' },
        ],
        volumes: [{ name: 'v1', emptyDir: {} }],
        finalizers: ['one'],
        args: ['--a'],
      },
    };
    const out = strategicMerge(live, {
      spec: {
        containers: [
          {
            name: 'a',
            env: [
              { name: 'B', value: '2' },
              { name: 'A', value: '3' },
            ],
            ports: [{ containerPort: 81 }],
          },
          { name: 'b', $patch: 'delete' },
          { name: 'c', image: 'z' },
        ],
        volumes: [{ name: 'v2', configMap: { name: 'cm' } }],
        finalizers: ['two'],
        args: ['--b'],
        $setElementOrder: 'ignored',
        '$setElementOrder/containers': [{ name: 'a' }],
      },
    }) as any;
    assert.deepEqual(
      out.spec.containers.map((c: any) => c.name),
      ['a', 'c'],
    );
    assert.deepEqual(out.spec.containers[0].env, [
      { name: 'A', value: '3' },
      { name: 'B', value: '2' },
    ]);
    assert.deepEqual(
      out.spec.containers[0].ports.map((p: any) => p.containerPort),
      [80, 81],
    );
    assert.equal(out.spec.containers[0].image, 'x');
    assert.deepEqual(
      out.spec.volumes.map((v: any) => v.name),
      ['v1', 'v2'],
    );
    assert.deepEqual(out.spec.finalizers, ['one', 'two']);
    assert.deepEqual(out.spec.args, ['--b'], 'scalar lists are replaced');
    const replaced = strategicMerge(live, {
      spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'i' }] },
    }) as any;
    assert.deepEqual(replaced.spec.containers, [{ name: 'only', image: 'i' }]);
    const service = strategicMerge(
      { spec: { ports: [{ port: 80, name: 'http' }] } },
      { spec: { ports: [{ port: 25, name: 'smtp' }] } },
    ) as any;
    assert.deepEqual(
      service.spec.ports.map((p: any) => p.port),
      [80, 25],
      'Service ports merge by port',
    );
  });
});

describe('fake-kube server-side apply', () => {
  const opts = (manager: string, force = false) => ({
    manager,
    force,
    apiVersion: 'v1',
    time: '2026-01-01T00:00:00Z',
  });
  const cm = (data: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'n' },
    data,
  });

  it('FieldsV1 round-trips, with keyed list items', () => {
    const paths = fieldPaths({ spec: { containers: [{ name: 'a', image: 'x' }], replicas: 1 } });
    const v1 = toFieldsV1(paths.values());
    assert.deepEqual(v1, {
      'f:spec': {
        'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:name': {}, 'f:image': {} } },
        'f:replicas': {},
      },
    });
    assert.deepEqual([...fromFieldsV1(v1).keys()].sort(), [...paths.keys()].sort());
  });

  it('a second manager conflicts on a differing value, not on an equal one; force takes ownership', () => {
    const live = serverSideApply(
      { ...cm({}), metadata: { name: 'c', namespace: 'n', managedFields: [] } },
      cm({ a: '1', b: '2' }),
      opts('one'),
    );
    assert.throws(
      () => serverSideApply(live, cm({ a: '2' }), opts('two')),
      (e: unknown) =>
        e instanceof KubeStatusError &&
        e.code === 409 &&
        /conflict with "one": \.data\.a/.test(e.message),
    );
    const shared = serverSideApply(live, cm({ a: '1' }), opts('two'));
    assert.deepEqual(shared.data, { a: '1', b: '2' });
    const forced = serverSideApply(live, cm({ a: '2' }), opts('two', true));
    assert.deepEqual(forced.data, { a: '2', b: '2' });
    // "one" no longer owns a: dropping it later does not remove a.
    const dropped = serverSideApply(forced, cm({ b: '2' }), opts('one'));
    assert.deepEqual(dropped.data, { a: '2', b: '2' });
  });

  it('dropping a field owned by nobody else removes it', () => {
    const first = serverSideApply({ ...cm({ keep: 'me' }) }, cm({ a: '1', b: '2' }), opts('one'));
    const second = serverSideApply(first, cm({ a: '1' }), opts('one'));
    assert.deepEqual(second.data, { keep: 'me', a: '1' });
  });
});
