import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { interrupts } from '../lib/interrupts.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';
import { DEFAULT_TTL } from '../../src/cluster-meta.ts';
import { evError } from '../../src/errors.ts';
import { MAX_RULES_BYTES } from '../../src/manifests.ts';
import { parseRules } from '../../src/rules-schema.ts';
import { codeOrMessage } from '../../src/guards.ts';

export default class Up extends BaseCommand {
  static override summary =
    'Deploy an ephemeral SMTP sink into the cluster and wait until it is ready.';
  static override description = `Checks your permissions first (SelfSubjectAccessReview), creates a namespace email-validation-<time>-<random> (or uses -n), applies the sink's objects with server-side apply, waits until the sink is ready, then prints the in-cluster SMTP address to point your application at.

Everything is labelled app.kubernetes.io/managed-by=kubectl-email-validate and annotated with its creation time and --ttl; \`gc\` removes sinks whose TTL has passed. Ctrl-C while it runs removes what was created (unless --keep); a second Ctrl-C exits at once.`;
  static override examples = [
    { description: 'Create a sink in a fresh namespace', command: '<%= config.bin %> up' },
    {
      description: 'Use a namespace you already have (no namespace-create rights needed)',
      command: '<%= config.bin %> up -n my-team',
    },
    {
      description: 'Two replicas, custom rules, JSON for scripts',
      command: '<%= config.bin %> up --replicas 2 --rules rules.yaml -o json',
    },
    {
      description: 'Let MailHog/Mailpit "release" relay captured mail to a test mail server',
      command:
        '<%= config.bin %> up --release-to mailpit.test.svc:1025 --cors-origin http://localhost:3000',
    },
    {
      description: 'A mirrored Node.js image',
      command: '<%= config.bin %> up --node-image registry.internal/library/node:24-alpine',
    },
  ];
  static override flags = {
    ttl: Flags.string({
      description: 'Lifetime recorded on the objects; `gc` deletes the sink after it.',
      default: DEFAULT_TTL,
    }),
    wait: Flags.string({
      description: 'How long to wait for the sink to become ready.',
      default: '2m',
    }),
    replicas: Flags.integer({ description: 'Number of sink pods.', default: 1, min: 1, max: 10 }),
    rules: Flags.string({
      helpValue: 'FILE',
      description: 'YAML rules file loaded into the sink (bounces, deferrals…).',
    }),
    image: Flags.string({
      description:
        'Run this sink image (built from sink/Dockerfile) instead of the Node.js image + bundle.',
    }),
    'node-image': Flags.string({
      description: 'Node.js image for the default runtime (e.g. a mirror).',
      default: 'node:24-alpine',
    }),
    'service-monitor': Flags.boolean({
      description: 'Also create a Prometheus Operator ServiceMonitor.',
    }),
    keep: Flags.boolean({
      description: 'Leave what was created in place on failure or Ctrl-C (for debugging).',
    }),
    // The sink's own options (sink/options.ts, `kubectl email-validate sink --help`), set on
    // the in-cluster sink through its environment; sink/ is not imported at start-up (it is heavy).
    'release-to': Flags.string({
      helpValue: 'HOST[:PORT],…',
      helpGroup: 'COMPATIBILITY',
      description:
        'SMTP servers that MailHog/Mailpit "release" may relay captured messages to (the sink\'s --release-to, EV_RELEASE_TO); without it releases are refused (403). The hosts must be reachable from the sink\'s pod.',
    }),
    'cors-origin': Flags.string({
      helpValue: 'ORIGIN',
      helpGroup: 'COMPATIBILITY',
      description:
        "Access-Control-Allow-Origin for the MailHog/Mailpit-compatible routes (the sink's --cors-origin, EV_CORS_ORIGIN).",
    }),
    output: outputFlag,
    ...kubeFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const rules = flags.rules === undefined ? undefined : await readRules(flags.rules);
    const compat = await checkCompatOptions(flags['release-to'], flags['cors-origin']);
    const handler = interrupts.install();
    const { createSink } = await import('../lib/kube/cluster-sink.ts');
    const started = Date.now();
    const sink = await createSink(pickKubeFlags(flags), {
      ttl: flags.ttl,
      wait: flags.wait,
      replicas: flags.replicas,
      rules,
      image: flags.image,
      nodeImage: flags['node-image'],
      serviceMonitor: flags['service-monitor'],
      keep: flags.keep,
      ...compat,
      onStatus: (line) => this.status(line),
      signal: handler.signal,
      cleanups: handler,
    }).catch(async (err: unknown) => {
      await handler.holdIfInterrupted();
      throw err;
    });
    const ns = sink.namespace;
    const result = {
      namespace: ns,
      createdNamespace: sink.createdNamespace,
      replicas: sink.replicas,
      pods: sink.pods,
      expiresAt: sink.expiresAt,
      smtp: sink.smtp,
      apiUrl: sink.apiUrl,
      tokenSecret: { name: 'email-sink-token', key: 'token' },
      seconds: (Date.now() - started) / 1000,
    };
    this.emit(flags.output, result, () =>
      [
        `Sink ready in namespace ${ns} (${sink.pods.length} pod${sink.pods.length === 1 ? '' : 's'}, expires ${sink.expiresAt}).`,
        '',
        `SMTP (in-cluster, no TLS, no auth):  ${sink.smtp.addresses.join('   ')}`,
        'Point your application at it, e.g.:',
        `  kubectl set env deployment/YOUR-APP -n YOUR-NAMESPACE SMTP_HOST=${sink.smtp.host} SMTP_PORT=25`,
        '',
        `Watch mail:   kubectl email-validate tail -n ${ns}`,
        `Send a test:  kubectl email-validate send -n ${ns} --to someone@example.com`,
        `Remove it:    kubectl email-validate down ${ns}`,
      ].join('\n'),
    );
  }
}

/**
 * `--release-to` and `--cors-origin` checked by the sink's own option
 * validation (sink/config.ts) before anything is applied, so that a typo is a
 * usage error here rather than a sink that crash-loops in the cluster. The
 * in-cluster sink always has its API token, which releases require.
 */
async function checkCompatOptions(
  releaseTo: string | undefined,
  corsOrigin: string | undefined,
): Promise<{ releaseTo?: string; corsOrigin?: string }> {
  if (releaseTo === undefined && corsOrigin === undefined) return {};
  const { resolveSinkConfig } = await import('../../sink/index.ts');
  resolveSinkConfig({
    token: 'x'.repeat(32), // stands for the cluster's token: only its presence matters here
    ...(releaseTo !== undefined ? { releaseTo } : {}),
    ...(corsOrigin !== undefined ? { corsOrigin } : {}),
  });
  return {
    ...(releaseTo !== undefined ? { releaseTo } : {}),
    ...(corsOrigin !== undefined ? { corsOrigin } : {}),
  };
}

async function readRules(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw evError('EV_ERR_FILE_READ', `cannot read --rules ${path}: ${codeOrMessage(err)}`, {
      hint: 'check the path.',
    });
  }
  if (Buffer.byteLength(text) > MAX_RULES_BYTES)
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `--rules ${path} is larger than ${MAX_RULES_BYTES} bytes`,
      { hint: 'rules are a short YAML list.' },
    );
  parseRules(text, path); // a bad rules file is a usage error here, not a crash loop in the cluster
  return text;
}
