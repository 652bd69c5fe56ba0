import assert from 'node:assert/strict';
import YAML from 'yaml';
import { compressIndexes, rollingBounds } from '../../../../support/fake-kube/controllers.ts';
import { safeHash } from '../../../../support/fake-kube/defaults.ts';
import { kubeconfigYaml } from '../../../../support/fake-kube/kubeconfig.ts';
import { containerArgv, isNodeImage } from '../../../../support/fake-kube/container-command.ts';
import { sliceLog } from '../../../../support/fake-kube/logs.ts';
import {
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
  requirementsFromObject,
} from '../../../../support/fake-kube/selectors.ts';
import { KubeStatusError } from '../../../../support/fake-kube/status.ts';
import { expandRefs, fieldRefValue, rewritePaths } from '../../../../support/fake-kube/volumes.ts';

describe('fake-kube selectors', () => {
  const labels = { app: 'sink', tier: 'web', canary: '' };

  const cases: Array<[string, boolean]> = [
    ['app=sink', true],
    ['app==sink', true],
    ['app=other', false],
    ['app!=other', true],
    ['missing!=x', true],
    ['app=sink,tier!=web', false],
    ['canary', true],
    ['!canary', false],
    ['!missing,app', true],
    ['tier in (web,db)', true],
    ['tier in (db)', false],
    ['tier notin (db), app in (sink)', true],
    ['missing notin (x)', true],
    ['', true],
  ];
  for (const [sel, want] of cases) {
    it(`label selector ${JSON.stringify(sel)} -> ${want}`, () => {
      assert.equal(matchesRequirements(parseLabelSelector(sel), labels), want);
    });
  }

  it('rejects malformed label selectors with 400', () => {
    assert.throws(
      () => parseLabelSelector('a=b=c=(d'),
      (e: unknown) => e instanceof KubeStatusError && e.code === 400,
    );
  });

  it('LabelSelector objects (matchLabels + matchExpressions)', () => {
    const reqs = requirementsFromObject({
      matchLabels: { app: 'sink' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['web'] },
        { key: 'gone', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(matchesRequirements(reqs, labels), true);
    assert.equal(matchesRequirements(reqs, { app: 'sink', tier: 'db' }), false);
  });

  it('field selectors', () => {
    const pod = { metadata: { name: 'p', namespace: 'n' }, status: { phase: 'Running' } };
    assert.equal(
      matchesFields(parseFieldSelector('metadata.name=p,status.phase!=Pending'), pod),
      true,
    );
    assert.equal(matchesFields(parseFieldSelector('metadata.namespace==m'), pod), false);
  });
});

describe('fake-kube kubelet helpers', () => {
  it('recognises Node.js images from any registry', () => {
    for (const image of [
      'node',
      'node:24-alpine',
      'docker.io/library/node:22',
      'mirror.example.com:5000/library/node:24-alpine',
      'node@sha256:' + 'a'.repeat(64),
    ])
      assert.equal(isNodeImage(image), true, image);
    for (const image of ['nginx', 'nodejs-app:1', 'ghcr.io/acme/node-sink:1', 'busybox'])
      assert.equal(isNodeImage(image), false, image);
  });

  it('turns command/args into argv the way the node image would', () => {
    const node = process.execPath;
    const mounts: Array<[string, string]> = [['/app', '/tmp/p/app']];
    assert.deepEqual(
      containerArgv(
        { command: ['node', '/app/main.mjs'], args: ['--port', '$(PORT)'] },
        { PORT: '25' },
        mounts,
      ),
      [node, '/tmp/p/app/main.mjs', '--port', '25'],
    );
    assert.deepEqual(
      containerArgv({ args: ['/app/main.mjs'] }, {}, mounts),
      [node, '/tmp/p/app/main.mjs'],
      'args only: the image runs node ARGS',
    );
    assert.deepEqual(containerArgv({ args: ['--version'] }, {}, mounts), [node, '--version']);
    assert.deepEqual(containerArgv({}, {}, mounts), [node]);
    assert.deepEqual(
      containerArgv({ command: ['docker-entrypoint.sh', 'node', '-e', '1'] }, {}, mounts),
      [node, '-e', '1'],
    );
    assert.deepEqual(containerArgv({ command: ['sh', '-c', 'node /app/x.js'] }, {}, mounts), [
      'sh',
      '-c',
      'node /tmp/p/app/x.js',
    ]);
  });

  it('rewrites mountPaths in args, flags and env values, longest first, once', () => {
    const mounts: Array<[string, string]> = [
      ['/app', '/tmp/pod/app'],
      ['/app/config', '/tmp/pod/cfg'],
      ['/tmp', '/tmp/pod/tmp'],
    ];
    assert.equal(rewritePaths('/app/sink.mjs', mounts), '/tmp/pod/app/sink.mjs');
    assert.equal(rewritePaths('/app/config/rules.yaml', mounts), '/tmp/pod/cfg/rules.yaml');
    assert.equal(
      rewritePaths('--rules=/app/config/rules.yaml', mounts),
      '--rules=/tmp/pod/cfg/rules.yaml',
    );
    assert.equal(rewritePaths('/tmp', mounts), '/tmp/pod/tmp');
    assert.equal(
      rewritePaths('/application/x', mounts),
      '/application/x',
      'only whole path segments',
    );
    assert.equal(
      rewritePaths('node /app/a.js && cat /tmp/x', mounts),
      'node /tmp/pod/app/a.js && cat /tmp/pod/tmp/x',
    );
  });

  it('expands $(VAR) like the kubelet and resolves fieldRefs', () => {
    assert.equal(expandRefs('$(A)-$(B)-$$(A)', { A: '1' }), '1-$(B)-$(A)');
    const pod = {
      metadata: {
        name: 'p',
        namespace: 'n',
        labels: { app: 'x' },
        annotations: { 'batch.kubernetes.io/job-completion-index': '3' },
      },
      status: { podIP: '127.1.2.3' },
    };
    assert.equal(fieldRefValue(pod, 'metadata.name'), 'p');
    assert.equal(fieldRefValue(pod, "metadata.labels['app']"), 'x');
    assert.equal(
      fieldRefValue(pod, "metadata.annotations['batch.kubernetes.io/job-completion-index']"),
      '3',
    );
    assert.equal(fieldRefValue(pod, 'status.podIP'), '127.1.2.3');
  });

  it('slices logs by tailLines and limitBytes', () => {
    const text = Buffer.from('a\nb\nc\n');
    assert.equal(sliceLog(text, 2, undefined).toString(), 'b\nc\n');
    assert.equal(sliceLog(text, 0, undefined).toString(), '');
    assert.equal(sliceLog(text, undefined, 3).toString(), 'a\nb');
  });
});

describe('fake-kube controllers and config', () => {
  it('compresses completed indexes like the Job controller', () => {
    assert.equal(compressIndexes([0, 1, 2, 4, 6, 7]), '0-2,4,6-7');
    assert.equal(compressIndexes([]), '');
    assert.equal(compressIndexes([5, 3, 4, 3]), '3-5');
  });

  it('resolves maxSurge/maxUnavailable like the Deployment controller', () => {
    assert.deepEqual(rollingBounds(undefined, 1), { surge: 1, unavailable: 0 });
    assert.deepEqual(rollingBounds(undefined, 10), { surge: 3, unavailable: 2 });
    assert.deepEqual(rollingBounds({ maxSurge: 0, maxUnavailable: '0%' }, 4), {
      surge: 0,
      unavailable: 1,
    });
    assert.deepEqual(rollingBounds({ maxSurge: 2, maxUnavailable: 1 }, 4), {
      surge: 2,
      unavailable: 1,
    });
  });

  it('template hashes are stable and use the safe alphabet', () => {
    assert.equal(safeHash({ a: 1 }), safeHash({ a: 1 }));
    assert.notEqual(safeHash({ a: 1 }), safeHash({ a: 2 }));
    assert.match(safeHash({ a: 1 }), /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });

  it('writes kubeconfigs with CA data or insecure-skip-tls-verify, extra contexts and namespaces', () => {
    const doc = YAML.parse(
      kubeconfigYaml({
        server: 'https://127.0.0.1:1',
        token: 't',
        caData: 'Q0E=',
        namespace: 'ns1',
        extraContexts: [{ name: 'other', namespace: 'ns2' }],
      }),
    );
    assert.equal(doc['current-context'], 'fake');
    assert.equal(doc.clusters[0].cluster['certificate-authority-data'], 'Q0E=');
    assert.deepEqual(
      doc.contexts.map((c: any) => [c.name, c.context.namespace]),
      [
        ['fake', 'ns1'],
        ['other', 'ns2'],
      ],
    );
    const insecure = YAML.parse(
      kubeconfigYaml({ server: 'http://x', token: 't', currentContext: null }),
    );
    assert.equal(insecure.clusters[0].cluster['insecure-skip-tls-verify'], true);
    assert.equal(insecure['current-context'], undefined);
  });
});
