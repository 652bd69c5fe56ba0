import { access, constants, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { interrupts } from '../lib/interrupts.ts';
import { pickKubeFlags } from '../lib/kube-flags.ts';
import { applySinkEnv, sinkFlags } from '../lib/sink-flags.ts';
import { renderStepLine } from '../../src/flow/report-text.ts';
import { renderJunit } from '../../src/flow/report-junit.ts';
import { renderTextReport } from '../../src/flow/report-text.ts';
import { exitCodeOf } from '../../src/flow/result.ts';
import { parseDuration } from '../../src/duration.ts';
import { ERROR_CODES, evError, isEmailValidateError, type ErrorCode } from '../../src/errors.ts';
import { runFlowFiles } from '../lib/flow/run-flows.ts';
import {
  acquireClusterSink,
  acquireExternalSink,
  acquireLocalSink,
} from '../lib/flow/acquire-sink.ts';
import { readTokenFile } from '../lib/token-file.ts';
import { inboxUrl } from '../lib/open-inbox.ts';

export default class Run extends BaseCommand {
  static override summary =
    'Run email smoke-test flows (YAML) against a sink: send, trigger, expect, report.';
  static override description = `Each FLOW file (kind: EmailFlow) lists steps run in order: send, http, job, expect, expectEvent, expectNone. Expectations are checked against the sink's event stream as mail arrives and fail at their deadline.

Where the sink comes from: --local starts one inside this process (no cluster); --sink URL uses a running one; otherwise a sink is created in the cluster for the run and deleted afterwards (unless --keep), or the one in -n NAMESPACE is used.

Exit codes: 0 all passed, 1 an expectation or step failed, 2 a flow file or flag is wrong, 3 the cluster or sink failed, 130 interrupted.`;
  static override examples = [
    {
      description: 'Run an example with an embedded sink (no cluster)',
      command: '<%= config.bin %> run --local examples/articles-flow.yaml',
    },
    {
      description: 'Run every flow in CI against a fresh sink in the cluster, with a JUnit report',
      command: '<%= config.bin %> run flows/*.yaml --junit report.xml',
    },
    {
      description: 'Look at what a failing flow received in the web inbox afterwards',
      command: '<%= config.bin %> run --local --keep-open flow.yaml',
    },
    {
      description: 'Use a sink that already runs',
      command: '<%= config.bin %> run --sink http://127.0.0.1:8025 --token "$EV_TOKEN" flow.yaml',
    },
  ];
  static override strict = false;
  static override args = {
    flows: Args.string({ description: 'Flow files (YAML, kind: EmailFlow).', required: true }),
  };
  static override flags = {
    local: Flags.boolean({
      description: 'Start an embedded sink in this process (no cluster needed).',
      exclusive: ['sink', 'namespace', 'kubeconfig', 'context', 'keep'],
    }),
    keep: Flags.boolean({
      description:
        'Keep the sink created in the cluster after the run (delete it later with `down`).',
    }),
    'keep-open': Flags.boolean({
      description:
        'With --local: after the report, keep the embedded sink and its web inbox up (the URL is printed) until Ctrl-C, to look at what the flows got.',
      dependsOn: ['local'],
    }),
    junit: Flags.string({
      helpValue: 'FILE',
      description: 'Also write a JUnit XML report to this file (for Jenkins, GitLab, GitHub).',
      helpGroup: 'OUTPUT',
    }),
    output: Flags.option({
      char: 'o',
      description: 'Report format on stdout.',
      options: ['text', 'json'] as const,
      default: 'text',
      helpGroup: 'OUTPUT',
    })(),
    timeout: Flags.string({
      description: 'Budget for the whole run, e.g. 10m; steps are cut short when it runs out.',
      default: '15m',
    }),
    ...sinkFlags,
  };

  async run(): Promise<void> {
    const parsed = await this.parse(Run);
    const argv = parsed.argv;
    const flags = applySinkEnv(parsed.flags);
    const files = argv as string[];
    if (flags.sink !== undefined) {
      const kube = (['namespace', 'kubeconfig', 'context', 'cluster', 'user'] as const).find(
        (k) => flags[k] !== undefined,
      );
      if (kube)
        throw evError('EV_ERR_CONFLICTING_OPTIONS', `--sink cannot be combined with --${kube}`, {
          hint: 'use --sink for a sink you reach directly, or the kube flags for a sink in the cluster',
        });
    }
    const timeoutMs = parseDuration(flags.timeout, '--timeout');
    if (flags.junit !== undefined) await checkWritableDir(flags.junit);
    // Ctrl-C, SIGTERM: the report and the JUnit file are still written (interrupted step, the rest skipped).
    const interrupt = interrupts.install().letCommandFinish();
    let kept: { url: string; token: string | null; release(): Promise<void> } | null = null;
    const stderrTty = Boolean(process.stderr.isTTY);
    const report = await runFlowFiles({
      files,
      cluster: !flags.local && flags.sink === undefined,
      env: process.env,
      timeoutMs,
      signal: interrupt.signal,
      registerCleanup: (label, fn) => interrupt.register(label, fn),
      onStatus: (line) => this.status(line),
      onStep: (_flow, step) => {
        if (stderrTty || flags.output === 'json') this.status(renderStepLine(step));
      },
      acquireSink: (signal, needs) => {
        if (flags.local) {
          this.status('starting an embedded sink (--local)');
          if (!flags['keep-open']) return acquireLocalSink();
          // The run lets go of the sink as usual; the real release waits for Ctrl-C after the report.
          return acquireLocalSink().then((sink) => {
            kept = sink;
            return { ...sink, release: async () => {} };
          });
        }
        if (flags.sink !== undefined) {
          const sink = flags.sink;
          const tokenFile = flags['token-file'];
          return (
            tokenFile === undefined ? Promise.resolve(flags.token) : readTokenFile(tokenFile)
          ).then((token) => acquireExternalSink(sink, token));
        }
        return acquireClusterSink(
          {
            kube: pickKubeFlags(flags),
            namespace: flags.namespace,
            keep: flags.keep,
            jobSteps: needs.jobSteps,
            onStatus: (l) => this.status(l),
          },
          signal,
        );
      },
    }).catch((err: unknown) => this.failEarly(err));
    const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
    // On one terminal the live step lines (stderr) were seen already: a passing flow is not repeated.
    const stepsShown = stderrTty && Boolean(process.stdout.isTTY);
    this.emit(flags.output, report, () => renderTextReport(report, { color, stepsShown }));
    if (flags.junit !== undefined) await writeJunit(flags.junit, renderJunit(report));
    if (interrupt.exitCode !== null) await interrupt.runCleanups();
    const code =
      interrupt.exitCode ??
      exitCodeOf(report, (c) => (ERROR_CODES as Record<string, { exit: number }>)[c]?.exit ?? 3);
    if (kept !== null) await this.keepOpen(kept, code);
    if (code !== 0) this.exit(code);
  }

  /** --keep-open: the sink stays up with its inbox until Ctrl-C, then the run exits with the flows' own code. */
  private async keepOpen(
    sink: { url: string; token: string | null; release(): Promise<void> },
    code: number,
  ): Promise<never> {
    this.status(`the embedded sink stays up; its inbox: ${inboxUrl(sink.url, sink.token)}`);
    this.status('press Ctrl-C to stop it');
    // The handler lets this command finish (letCommandFinish): Ctrl-C aborts its signal, and this stops the sink.
    await new Promise<void>((resolve) => {
      if (interrupts.signal.aborted) resolve();
      else interrupts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await sink.release();
    process.exit(code);
  }

  /** Flow-file problems are listed one per line (all of them), then the usual error handling. */
  private failEarly(err: unknown): never {
    if (
      isEmailValidateError(err) &&
      (err.code === 'EV_ERR_FLOW_INVALID' || err.code === 'EV_ERR_FLOW_TEMPLATE')
    ) {
      const problems = (err.details?.problems ?? []) as Array<{ text: string }>;
      for (const p of problems) process.stderr.write(`error: ${p.text} [${err.code}]\n`);
      const omitted = (err.details?.omitted ?? 0) as number;
      if (omitted > 0)
        process.stderr.write(
          `error: … and ${omitted} more problem${omitted > 1 ? 's' : ''} [${err.code}]\n`,
        );
      if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
      this.exit(ERROR_CODES[err.code as ErrorCode].exit);
    }
    throw err;
  }
}

/** Fails before any sink is started when the --junit file cannot be created. */
async function checkWritableDir(file: string): Promise<void> {
  const dir = dirname(resolve(file));
  await access(dir, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `--junit ${file}: cannot write in ${dir} (${err.code ?? String(err)})`,
      { hint: 'create the directory first, or choose a writable path' },
    );
  });
}

/** Written after the report is printed, so a write failure never hides the results. */
async function writeJunit(file: string, xml: string): Promise<void> {
  await writeFile(file, xml).catch((err: NodeJS.ErrnoException) => {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `--junit ${file}: cannot write the JUnit report (${err.code ?? String(err)})`,
      { hint: 'the report above is complete; choose a writable path for --junit' },
    );
  });
}
