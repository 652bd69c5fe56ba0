import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  BUNDLE_PART_BYTES,
  MAX_CONFIGMAP_BYTES,
  bundlePartName,
} from '../../../src/bundle-shipping.ts';
import {
  BOOTSTRAP,
  buildSinkManifests,
  CONFIG_CHECKSUM_ANNOTATION,
  configChecksum,
  manifestsToYaml,
  MAX_REPLICAS,
  MAX_RULES_BYTES,
  RULES_DIR,
  sinkSmtpAddresses,
  type KubeObject,
} from '../../../src/manifests.ts';
import { isEmailValidateError } from '../../../src/errors.ts';
import { MANAGED_BY_LABEL, EXPIRES_AT_ANNOTATION } from '../../../src/cluster-meta.ts';
import { SINK_OPTIONS } from '../../../sink/options.ts';

const base = {
  namespace: 'email-validation-x',
  createNamespace: true,
  now: new Date('2026-01-01T00:00:00Z'),
  ttlMs: 7_200_000,
  token: 't0k3n',
};
const kinds = (objs: KubeObject[]) => objs.map((o) => o.kind);
const find = (objs: KubeObject[], kind: string) => objs.find((o) => o.kind === kind) as any;

describe('manifest builder', () => {
  it('builds the namespace, secret, config maps, deployment, service and network policy, all managed and annotated', () => {
    const objs = buildSinkManifests({ ...base, bundle: Buffer.from('console.log(1)') });
    assert.deepEqual(kinds(objs), [
      'Namespace',
      'Secret',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Service',
      'NetworkPolicy',
    ]);
    for (const o of objs) {
      assert.equal(o.metadata.labels?.[MANAGED_BY_LABEL], 'kubectl-email-validate', o.kind);
      assert.equal(
        o.metadata.annotations?.[EXPIRES_AT_ANNOTATION],
        '2026-01-01T02:00:00.000Z',
        o.kind,
      );
      if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'email-validation-x', o.kind);
    }
    assert.equal(Buffer.from(find(objs, 'Secret').data.token, 'base64').toString(), 't0k3n');
    assert.deepEqual(sinkSmtpAddresses('ns1'), [
      'email-sink.ns1.svc.cluster.local:25',
      'email-sink.ns1.svc.cluster.local:1025',
    ]);
  });

  it('omits the namespace with -n and the bundle with --image; adds a ServiceMonitor on request', () => {
    const objs = buildSinkManifests({
      ...base,
      createNamespace: false,
      image: 'registry.example/sink:1',
      serviceMonitor: true,
    });
    assert.deepEqual(kinds(objs), [
      'Secret',
      'ConfigMap',
      'Deployment',
      'Service',
      'NetworkPolicy',
      'ServiceMonitor',
    ]);
    const c = find(objs, 'Deployment').spec.template.spec.containers[0];
    assert.equal(c.image, 'registry.example/sink:1');
    assert.equal(c.command, undefined);
    const np = find(objs, 'NetworkPolicy');
    assert.equal(np.spec.ingress.length, 3, 'Prometheus may scrape /metrics');
    assert.deepEqual(np.spec.ingress[2].from[0].podSelector.matchLabels, {
      'app.kubernetes.io/name': 'prometheus',
    });
    assert.equal(
      find(objs, 'ServiceMonitor').spec.endpoints[0].bearerTokenSecret.name,
      'email-sink-token',
    );
  });

  it('passes the restricted Pod Security Standard, with probes, requests and limits', () => {
    const d = find(
      buildSinkManifests({ ...base, bundle: Buffer.from('x'), replicas: 3 }),
      'Deployment',
    );
    assert.equal(d.spec.replicas, 3);
    const pod = d.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false);
    for (const v of pod.volumes)
      assert.ok(v.emptyDir || v.configMap || v.projected, `volume ${v.name} type is allowed`);
    const c = pod.containers[0];
    assert.equal(c.image, 'node:24-alpine');
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.ok(c.securityContext.runAsUser > 0);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/livez');
    assert.ok(
      c.resources.requests.cpu &&
        c.resources.requests.memory &&
        c.resources.limits.cpu &&
        c.resources.limits.memory,
    );
    assert.deepEqual(
      c.env.find((e: any) => e.name === 'EV_HOST'),
      { name: 'EV_HOST', value: '::' },
      'dual-stack: IPv6-only clusters probe the pod IPv6 address',
    );
    assert.equal(
      c.env.find((e: any) => e.name === 'EV_TOKEN').valueFrom.secretKeyRef.name,
      'email-sink-token',
    );
  });

  it('every container of every variant (bundle, --image, ServiceMonitor) passes the restricted profile', () => {
    const variants = [
      buildSinkManifests({ ...base, bundle: Buffer.from('x') }),
      buildSinkManifests({
        ...base,
        createNamespace: false,
        image: 'registry.example/sink:1',
        serviceMonitor: true,
        replicas: 2,
      }),
      buildSinkManifests({
        ...base,
        bundle: Buffer.from('x'),
        releaseTo: 'mailpit.test.svc:1025',
        corsOrigin: 'https://app.example',
      }),
    ];
    for (const objs of variants) {
      const pod = find(objs, 'Deployment').spec.template.spec;
      for (const hostField of ['hostNetwork', 'hostPID', 'hostIPC'])
        assert.ok(!pod[hostField], hostField);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = c.securityContext;
        assert.equal(sc.allowPrivilegeEscalation, false, c.name);
        assert.ok(!sc.privileged, c.name);
        assert.deepEqual(sc.capabilities.drop, ['ALL'], c.name);
        assert.deepEqual(sc.capabilities.add ?? [], [], c.name);
        assert.ok(sc.runAsUser === undefined || sc.runAsUser > 0, c.name);
        for (const port of c.ports ?? [])
          assert.equal(port.hostPort, undefined, `${c.name} hostPort`);
        assert.ok(
          c.resources.requests.cpu &&
            c.resources.requests.memory &&
            c.resources.limits.cpu &&
            c.resources.limits.memory,
          c.name,
        );
        assert.ok(c.readinessProbe && c.livenessProbe, c.name);
      }
    }
  });

  it("--release-to and --cors-origin become the sink's EV_RELEASE_TO and EV_CORS_ORIGIN, the names of its options table", () => {
    const envOf = (objs: KubeObject[]) =>
      (
        find(objs, 'Deployment').spec.template.spec.containers[0].env as Array<{
          name: string;
          value?: string;
        }>
      ).filter(
        (e) => e.name === SINK_OPTIONS.releaseTo.env || e.name === SINK_OPTIONS.corsOrigin.env,
      );
    assert.deepEqual(envOf(buildSinkManifests({ ...base, bundle: Buffer.from('x') })), []);
    assert.deepEqual(
      envOf(
        buildSinkManifests({
          ...base,
          bundle: Buffer.from('x'),
          releaseTo: 'mailpit.test.svc:1025',
          corsOrigin: '*',
        }),
      ),
      [
        { name: 'EV_RELEASE_TO', value: 'mailpit.test.svc:1025' },
        { name: 'EV_CORS_ORIGIN', value: '*' },
      ],
    );
  });

  it("up's --release-to and --cors-origin name the sink options they set (flag and variable)", async () => {
    const { default: Up } = await import('../../../plugin/commands/up.ts');
    for (const key of ['releaseTo', 'corsOrigin'] as const) {
      const spec = SINK_OPTIONS[key];
      const flag = Up.flags[spec.flag];
      assert.ok(flag, spec.flag);
      assert.match(flag.description ?? '', new RegExp(`--${spec.flag}, ${spec.env}`));
      assert.equal(flag.helpGroup, spec.group);
    }
  });

  it('routes SMTP 25 and 1025 to the sink and 8025 to HTTP; HTTP only from the namespace', () => {
    const objs = buildSinkManifests({ ...base, bundle: Buffer.from('x') });
    const svc = find(objs, 'Service');
    assert.deepEqual(
      svc.spec.ports.map((p: any) => [p.port, p.targetPort]),
      [
        [25, 'smtp'],
        [1025, 'smtp'],
        [8025, 'http'],
      ],
    );
    const np = find(objs, 'NetworkPolicy');
    const [smtp, http] = np.spec.ingress;
    assert.equal(smtp.from, undefined);
    assert.deepEqual(smtp.ports, [{ protocol: 'TCP', port: 1025 }]);
    assert.deepEqual(http.from, [{ podSelector: {} }]);
    assert.deepEqual(http.ports, [{ protocol: 'TCP', port: 8025 }]);
    assert.equal(np.spec.ingress.length, 2, 'nothing else is let in');
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    assert.deepEqual(
      np.spec.podSelector.matchLabels,
      find(objs, 'Deployment').spec.selector.matchLabels,
      'the policy selects the sink pods',
    );
  });

  it('splits an incompressible 1.5 MB bundle over ConfigMaps that each stay well under 1 MiB, merged by a projected volume', () => {
    const bundle = randomBytes(1_500_000);
    const objs = buildSinkManifests({ ...base, bundle });
    const parts = objs.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('email-sink-bundle-'),
    );
    assert.equal(parts.length, Math.ceil(1_500_000 / BUNDLE_PART_BYTES) || 3);
    for (const cm of parts)
      assert.ok(
        Buffer.byteLength(JSON.stringify(cm)) < 0.75 * MAX_CONFIGMAP_BYTES,
        `${cm.metadata.name} size`,
      );
    const joined = Buffer.concat(
      parts.map((cm, i) => Buffer.from((cm as any).binaryData[bundlePartName(i)], 'base64')),
    );
    assert.deepEqual(gunzipSync(joined), bundle);
    const vol = find(objs, 'Deployment').spec.template.spec.volumes.find(
      (v: any) => v.name === 'bundle',
    );
    assert.deepEqual(
      vol.projected.sources.map((s: any) => s.configMap.name),
      parts.map((p) => p.metadata.name),
    );
  });

  it('the real sink bundle (npm run build) fits', () => {
    const bundle = readFileSync(new URL('../../../dist/sink/sink.bundle.mjs', import.meta.url));
    for (const o of buildSinkManifests({ ...base, bundle })) {
      assert.ok(
        Buffer.byteLength(JSON.stringify(o)) < 0.75 * MAX_CONFIGMAP_BYTES,
        `${o.kind} ${o.metadata.name}`,
      );
    }
  });

  it('the bootstrap joins, gunzips and runs the bundle as the main module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-boot-'));
    const bundleDir = join(dir, 'bundle');
    mkdirSync(bundleDir);
    const program = Buffer.from(
      `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(join(dir, 'ran'))}, process.argv[1] + ' ' + process.env.EV_HOST);\n// ${'x'.repeat(3000)}`,
    );
    const objs = buildSinkManifests({ ...base, bundle: program });
    const parts = objs.filter((o) => o.metadata.name.startsWith('email-sink-bundle-'));
    parts.forEach((cm, i) =>
      writeFileSync(
        join(bundleDir, bundlePartName(i)),
        Buffer.from((cm as any).binaryData[bundlePartName(i)], 'base64'),
      ),
    );
    const c = find(objs, 'Deployment').spec.template.spec.containers[0];
    assert.deepEqual(c.command, ['node', '-e', BOOTSTRAP]);
    execFileSync(process.execPath, ['-e', BOOTSTRAP], {
      env: { ...process.env, EV_BUNDLE_DIR: bundleDir, EV_WORK_DIR: dir, EV_HOST: '0.0.0.0' },
    });
    assert.equal(readFileSync(join(dir, 'ran'), 'utf8'), `${join(dir, 'sink.bundle.mjs')} 0.0.0.0`);
  });

  it('rejects out-of-range replicas and a missing bundle', () => {
    assert.throws(
      () => buildSinkManifests({ ...base, bundle: Buffer.from('x'), replicas: 0 }),
      /--replicas/,
    );
    assert.throws(
      () => buildSinkManifests({ ...base, bundle: Buffer.from('x'), replicas: 11 }),
      /--replicas/,
    );
    assert.throws(() => buildSinkManifests({ ...base }), /bundle/);
  });

  it(`takes 1 to ${MAX_REPLICAS} replicas; out of range, the error says the range`, () => {
    const d = find(
      buildSinkManifests({ ...base, bundle: Buffer.from('x'), replicas: MAX_REPLICAS }),
      'Deployment',
    );
    assert.equal(d.spec.replicas, MAX_REPLICAS);
    assert.throws(
      () => buildSinkManifests({ ...base, bundle: Buffer.from('x'), replicas: 1.5 }),
      (e: unknown) =>
        isEmailValidateError(e) &&
        e.code === 'EV_ERR_INVALID_OPTION' &&
        e.message === '--replicas 1.5 is out of range' &&
        e.hint === `use 1 to ${MAX_REPLICAS}.`,
    );
    assert.throws(
      () => buildSinkManifests({ ...base }),
      (e: unknown) =>
        isEmailValidateError(e) &&
        e.code === 'EV_ERR_INTERNAL' &&
        e.message === 'the sink bundle is missing' &&
        e.hint === 'run `npm run build` (dist/sink/sink.bundle.mjs), or pass --image.',
    );
  });

  it(`takes a rules file of up to ${MAX_RULES_BYTES} bytes, mounted and named to the sink`, () => {
    const rules = `#${'é'.repeat((MAX_RULES_BYTES - 2) / 2)}\n`;
    assert.equal(Buffer.byteLength(rules), MAX_RULES_BYTES);
    const objs = buildSinkManifests({ ...base, bundle: Buffer.from('x'), rules });
    const d = find(objs, 'Deployment');
    const env = d.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    assert.deepEqual(
      env.find((e) => e.name === 'EV_RULES_FILE'),
      { name: 'EV_RULES_FILE', value: `${RULES_DIR}/rules.yaml` },
    );
    assert.equal(
      d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION],
      configChecksum('t0k3n', rules),
    );
    assert.throws(
      () => buildSinkManifests({ ...base, bundle: Buffer.from('x'), rules: `${rules}x` }),
      (e: unknown) =>
        isEmailValidateError(e) &&
        e.code === 'EV_ERR_INVALID_OPTION' &&
        e.message === `--rules file is larger than ${MAX_RULES_BYTES} bytes` &&
        e.hint === 'rules are a short YAML list; trim the file.',
    );
  });

  it('without rules, --release-to or --cors-origin the sink gets none of their variables', () => {
    const d = find(buildSinkManifests({ ...base, bundle: Buffer.from('x') }), 'Deployment');
    const names = (d.spec.template.spec.containers[0].env as Array<{ name: string }>).map(
      (e) => e.name,
    );
    for (const absent of ['EV_RULES_FILE', 'EV_RELEASE_TO', 'EV_CORS_ORIGIN'])
      assert.ok(!names.includes(absent), absent);
    assert.equal(
      d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION],
      configChecksum('t0k3n', ''),
    );
  });

  it('with an existing token (null) the checksum covers an empty token; with --image no bundle variables', () => {
    const d = find(buildSinkManifests({ ...base, token: null, image: 'r/sink:1' }), 'Deployment');
    assert.equal(
      d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION],
      configChecksum('', ''),
    );
    const names = (d.spec.template.spec.containers[0].env as Array<{ name: string }>).map(
      (e) => e.name,
    );
    assert.ok(!names.includes('EV_BUNDLE_DIR') && !names.includes('EV_WORK_DIR'), names.join());
  });

  it('the ServiceMonitor scrapes /metrics on the http port with the token, and Prometheus may reach that port', () => {
    const objs = buildSinkManifests({ ...base, image: 'r/sink:1', serviceMonitor: true });
    const sm = find(objs, 'ServiceMonitor');
    assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(sm.metadata.name, 'email-sink');
    assert.equal(sm.metadata.labels['app.kubernetes.io/component'], 'sink');
    assert.deepEqual(find(objs, 'ServiceMonitor').spec, {
      selector: {
        matchLabels: find(objs, 'Deployment').spec.selector.matchLabels,
      },
      namespaceSelector: { matchNames: ['email-validation-x'] },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: '30s',
          bearerTokenSecret: { name: 'email-sink-token', key: 'token' },
        },
      ],
    });
    const np = find(objs, 'NetworkPolicy');
    assert.deepEqual(np.spec.ingress[2].ports, [{ protocol: 'TCP', port: 8025 }]);
  });

  it('manifestsToYaml: documents in order, a header as comment lines (an empty line a bare #)', () => {
    const objs: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
    ];
    const docs =
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n' +
      '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n';
    assert.equal(manifestsToYaml(objs), docs);
    assert.equal(
      manifestsToYaml(objs, 'made by x\n\n  indented'),
      `# made by x\n#\n#   indented\n${docs}`,
    );
  });
});
