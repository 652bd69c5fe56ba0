import assert from 'node:assert/strict';
import { ApiException, parseStatus, toKubeError } from '../../../../../plugin/lib/kube/errors.ts';

const target = { server: 'https://k8s.example:6443', context: 'prod', requestTimeoutMs: 5000 };
const status = (code: number, reason: string, message: string) =>
  new ApiException(
    code,
    'HTTP-Code',
    JSON.stringify({ kind: 'Status', reason, message, code }),
    {},
  );

describe('kube error mapping', () => {
  it('parses the JSON string body of ApiException', () => {
    assert.deepEqual(parseStatus(status(409, 'AlreadyExists', 'namespaces "x" already exists')), {
      code: 409,
      reason: 'AlreadyExists',
      message: 'namespaces "x" already exists',
    });
    assert.equal(parseStatus(new ApiException(500, 'x', 'not json', {}))?.message, 'not json');
  });

  const cases: Array<[string, unknown, string, RegExp]> = [
    [
      '401',
      status(401, 'Unauthorized', 'Unauthorized'),
      'EV_ERR_KUBE_UNAUTHORIZED',
      /rejected the credentials \(401\) while trying to list pods/,
    ],
    [
      '403',
      status(403, 'Forbidden', 'namespaces is forbidden: User "u" cannot create'),
      'EV_ERR_KUBE_FORBIDDEN',
      /forbidden to list pods: namespaces is forbidden/,
    ],
    ['404', status(404, 'NotFound', 'pods "x" not found'), 'EV_ERR_KUBE_NOT_FOUND', /not found/],
    [
      '422',
      status(422, 'Invalid', 'spec.replicas: Invalid value'),
      'EV_ERR_KUBE_API',
      /\(422 Invalid\): spec\.replicas/,
    ],
    [
      'ECONNREFUSED',
      new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
      'EV_ERR_KUBE_UNREACHABLE',
      /cannot reach the API server at https:\/\/k8s\.example:6443 \(context "prod"\): ECONNREFUSED/,
    ],
    [
      'fetch failed without a code',
      new TypeError('fetch failed', { cause: new Error('bad port') }),
      'EV_ERR_KUBE_UNREACHABLE',
      /: fetch failed \(bad port\)$/,
    ],
    [
      'timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'EV_ERR_KUBE_UNREACHABLE',
      /did not answer within 5s/,
    ],
  ];
  for (const [name, err, code, re] of cases) {
    it(`maps ${name} to ${code} with a one-line message and a hint`, () => {
      const e = toKubeError(err, target, 'list pods');
      assert.equal(e.code, code);
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'));
      if (code !== 'EV_ERR_KUBE_NOT_FOUND') assert.ok(e.hint);
    });
  }

  it('a caller-provided 403 hint wins', () => {
    assert.match(
      toKubeError(status(403, 'Forbidden', 'no'), target, 'create namespace x', 'use -n EXISTING')
        .hint ?? '',
      /-n EXISTING/,
    );
  });
});
