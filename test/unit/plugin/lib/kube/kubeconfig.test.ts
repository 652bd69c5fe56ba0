import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  resolveKubeconfig,
  type KubeconfigEnvironment,
} from '../../../../../plugin/lib/kube/kubeconfig.ts';
import { isEmailValidateError } from '../../../../../src/errors.ts';

function kubeconfig(opts: {
  current?: string;
  contexts: Array<{ name: string; cluster: string; user?: string; namespace?: string }>;
  clusters: Array<{ name: string; server: string }>;
  users?: string[];
}): string {
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    `current-context: "${opts.current ?? ''}"`,
    'clusters:',
  ];
  for (const c of opts.clusters)
    lines.push(
      `- name: ${c.name}`,
      '  cluster:',
      `    server: ${c.server}`,
      '    insecure-skip-tls-verify: true',
    );
  lines.push('contexts:');
  for (const c of opts.contexts) {
    lines.push(
      `- name: ${c.name}`,
      '  context:',
      `    cluster: ${c.cluster}`,
      `    user: ${c.user ?? 'u'}`,
    );
    if (c.namespace) lines.push(`    namespace: ${c.namespace}`);
  }
  lines.push('users:');
  for (const u of opts.users ?? ['u']) lines.push(`- name: ${u}`, '  user:', `    token: tok-${u}`);
  return `${lines.join('\n')}\n`;
}

describe('kubeconfig resolution (kubectl precedence)', () => {
  let dir: string;
  let a: string;
  let b: string;
  const env = (over: Partial<KubeconfigEnvironment> = {}): KubeconfigEnvironment => ({
    home: join(dir, 'home'),
    inCluster: false,
    exists: existsSync,
    read: (p) => readFileSync(p, 'utf8'),
    ...over,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ev-kc-'));
    a = join(dir, 'a.yaml');
    b = join(dir, 'b.yaml');
    writeFileSync(
      a,
      kubeconfig({
        current: 'ctx-a',
        clusters: [
          { name: 'shared', server: 'https://a.example:6443' },
          { name: 'ca', server: 'https://ca.example' },
        ],
        contexts: [
          { name: 'ctx-a', cluster: 'ca', namespace: 'team-a' },
          { name: 'dup', cluster: 'shared' },
        ],
      }),
    );
    writeFileSync(
      b,
      kubeconfig({
        current: 'ctx-b',
        clusters: [
          { name: 'shared', server: 'https://b.example:6443' },
          { name: 'cb', server: 'https://cb.example' },
        ],
        contexts: [
          { name: 'ctx-b', cluster: 'cb' },
          { name: 'dup', cluster: 'cb' },
        ],
        users: ['u', 'other'],
      }),
    );
  });

  it("KUBECONFIG=a:b takes the FIRST file's current-context and the first definition of a duplicated name", () => {
    const r = resolveKubeconfig({}, env({ KUBECONFIG: [a, b].join(delimiter) }));
    assert.equal(r.context, 'ctx-a');
    assert.equal(r.server, 'https://ca.example');
    assert.equal(r.namespace, 'team-a');
    const dup = resolveKubeconfig({ context: 'dup' }, env({ KUBECONFIG: [a, b].join(delimiter) }));
    assert.equal(dup.server, 'https://a.example:6443');
    assert.equal(dup.namespace, 'default');
    // Contexts only in the second file are still reachable.
    assert.equal(
      resolveKubeconfig({ context: 'ctx-b' }, env({ KUBECONFIG: [a, b].join(delimiter) })).server,
      'https://cb.example',
    );
  });

  it('skips missing KUBECONFIG entries and does not fall back to ~/.kube/config when KUBECONFIG is set', () => {
    const r = resolveKubeconfig({}, env({ KUBECONFIG: [join(dir, 'nope'), b].join(delimiter) }));
    assert.equal(r.context, 'ctx-b');
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    writeFileSync(join(dir, 'home', '.kube', 'config'), readFileSync(a));
    assert.throws(
      () => resolveKubeconfig({}, env({ KUBECONFIG: join(dir, 'nope') })),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_KUBECONFIG_MISSING',
    );
  });

  it('--kubeconfig beats KUBECONFIG; ~/.kube/config is the last resort', () => {
    assert.equal(resolveKubeconfig({ kubeconfig: b }, env({ KUBECONFIG: a })).context, 'ctx-b');
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    writeFileSync(join(dir, 'home', '.kube', 'config'), readFileSync(b));
    assert.equal(resolveKubeconfig({}, env()).context, 'ctx-b');
    assert.throws(
      () => resolveKubeconfig({ kubeconfig: join(dir, 'missing') }, env()),
      /does not exist/,
    );
  });

  it('--context, then -n, then the context namespace; --cluster/--user override', () => {
    const e = env({ KUBECONFIG: [a, b].join(delimiter) });
    const r = resolveKubeconfig({ context: 'ctx-a', namespace: 'mine' }, e);
    assert.equal(r.namespace, 'mine');
    assert.equal(r.namespaceFromFlag, true);
    const o = resolveKubeconfig({ cluster: 'cb', user: 'other' }, e);
    assert.equal(o.server, 'https://cb.example');
    assert.equal(o.namespace, 'team-a');
    assert.equal(o.kc.getCurrentUser()?.name, 'other');
  });

  it('no kubeconfig at all is EV_ERR_KUBECONFIG_MISSING, never a silent localhost:8080', () => {
    assert.throws(
      () => resolveKubeconfig({}, env()),
      (e: unknown) =>
        isEmailValidateError(e) && e.code === 'EV_ERR_KUBECONFIG_MISSING' && Boolean(e.hint),
    );
  });

  it('unknown context, cluster or user, and unparsable files are one-line EV_ERR_KUBECONFIG_INVALID errors', () => {
    const e = env({ KUBECONFIG: a });
    const invalid = (re: RegExp) => (err: unknown) =>
      isEmailValidateError(err) &&
      err.code === 'EV_ERR_KUBECONFIG_INVALID' &&
      re.test(err.message) &&
      !err.message.includes('\n');
    assert.throws(
      () => resolveKubeconfig({ context: 'nope' }, e),
      invalid(/context "nope" not found/),
    );
    assert.throws(() => resolveKubeconfig({ cluster: 'nope' }, e), invalid(/cluster "nope"/));
    assert.throws(() => resolveKubeconfig({ user: 'nope' }, e), invalid(/user "nope"/));
    writeFileSync(a, 'clusters: [oops\n');
    assert.throws(() => resolveKubeconfig({}, e), invalid(/not valid/));
  });

  it('no current-context asks for --context', () => {
    writeFileSync(
      a,
      kubeconfig({
        clusters: [{ name: 'c', server: 'https://c' }],
        contexts: [{ name: 'x', cluster: 'c' }],
      }),
    );
    assert.throws(
      () => resolveKubeconfig({}, env({ KUBECONFIG: a })),
      (err: unknown) => isEmailValidateError(err) && /--context/.test(err.hint ?? ''),
    );
  });

  it('parses --request-timeout', () => {
    assert.equal(
      resolveKubeconfig({ 'request-timeout': '5s' }, env({ KUBECONFIG: a })).requestTimeoutMs,
      5000,
    );
    assert.equal(
      resolveKubeconfig({ 'request-timeout': '0' }, env({ KUBECONFIG: a })).requestTimeoutMs,
      0,
    );
    assert.throws(
      () => resolveKubeconfig({ 'request-timeout': 'soon' }, env({ KUBECONFIG: a })),
      /--request-timeout/,
    );
  });
});
