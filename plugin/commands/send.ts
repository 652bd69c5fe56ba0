import { Flags } from '@oclif/core';
import { BaseCommand, outputFlag } from '../lib/base-command.ts';
import { painterFor } from '../lib/render/color.ts';
import { formatSendReport } from '../lib/render/send-report.ts';
import {
  MAX_SEND_CONCURRENCY,
  MAX_SEND_COUNT,
  sendBatch,
  validateSendOptions,
} from '../lib/send/send-batch.ts';
import { interrupts } from '../lib/interrupts.ts';
import { parseHostPort, withSinkTarget, smtpEndpoint } from '../lib/sink-target.ts';
import { SINK_CHOOSING_FLAGS, applySinkEnv, sinkFlags } from '../lib/sink-flags.ts';
import { EXIT, evError } from '../../src/errors.ts';

export default class Send extends BaseCommand {
  static override summary =
    'Send test mail to the sink over SMTP and count what it accepted, rejected and deferred.';
  static override description = `Sends --count messages through real SMTP to the sink: the forwarded SMTP port of the sink in the cluster, or with --sink the sink's host and its SMTP port (from /api/info, default 1025), or --smtp HOST:PORT. At most --concurrency SMTP sessions at once and at most --rate messages per second.

--to, --from, --subject and --body are templates: {{n}} is the message number (1..count), {{count}} the total and {{run}} an id shared by this run (also sent as the X-Email-Validate-Run header).

The sink's conventions make failures easy to produce: recipients starting with "bounce" are rejected (550 5.1.1), "defer" are deferred once (451 4.7.1), "asyncbounce" are accepted and then bounced. Rejections and deferrals are results, reported in the counts (exit 0); messages that got no SMTP answer at all are failures (exit 3).`;
  static override examples = [
    {
      description: 'One message, like the Python smtplib script it replaces',
      command: '<%= config.bin %> send --to user@domain.com',
    },
    {
      description: '100 numbered messages, 20 per second over 4 sessions',
      command:
        "<%= config.bin %> send --to 'user+{{n}}@example.com' --subject 'Order {{n}}' --count 100 --rate 20 --concurrency 4",
    },
    {
      description: 'Exercise the bounce conventions and report as JSON',
      command:
        '<%= config.bin %> send --to bounce@example.com --to defer@example.com --to ok@example.com -o json',
    },
    {
      description: 'A local sink',
      command: '<%= config.bin %> send --sink http://127.0.0.1:8025 --to user@example.com',
    },
    {
      description: 'Any SMTP server, no cluster and no kubeconfig (like swaks)',
      command: '<%= config.bin %> send --smtp 127.0.0.1:1025 --to user@example.com',
    },
  ];
  static override flags = {
    to: Flags.string({
      description: 'Recipient (repeatable; a template).',
      multiple: true,
      required: true,
    }),
    from: Flags.string({
      description: 'Envelope and header sender (a template).',
      default: 'test@domain.com',
    }),
    subject: Flags.string({ description: 'Subject (a template).', default: 'Validation Email' }),
    body: Flags.string({
      description: 'Plain-text body (a template).',
      default: 'Test email for validation',
    }),
    count: Flags.integer({ description: `Number of messages (1-${MAX_SEND_COUNT}).`, default: 1 }),
    rate: Flags.string({
      description: 'Most messages per second, e.g. 50, 50/s or 0.5 (0 = as fast as possible).',
      default: '0',
    }),
    concurrency: Flags.integer({
      char: 'c',
      description: `Parallel SMTP sessions (1-${MAX_SEND_CONCURRENCY}).`,
      default: 4,
    }),
    smtp: Flags.string({
      description:
        "Send to this SMTP HOST:PORT instead of the sink's own endpoint; alone (no --sink, $EV_SINK or kube flag) it needs no cluster, like swaks.",
      helpGroup: 'SINK',
    }),
    output: outputFlag,
    ...sinkFlags,
  };

  async run(): Promise<void> {
    const { flags: typed } = await this.parse(Send);
    const flags = applySinkEnv(typed);
    // `50/s` reads like check's --rate; both spellings mean messages per second.
    const rate = Number(flags.rate.replace(/\/s$/, ''));
    const spec = {
      to: flags.to,
      from: flags.from,
      subject: flags.subject,
      body: flags.body,
      count: flags.count,
      rate,
      concurrency: flags.concurrency,
    };
    validateSendOptions(spec);
    // The first Ctrl-C / SIGTERM stops sending; the report of what was done is still printed.
    const interrupt = interrupts.install().letCommandFinish();
    const direct =
      flags.smtp !== undefined &&
      flags.sink === undefined &&
      !SINK_CHOOSING_FLAGS.some((k) => k in typed && typed[k as keyof typeof typed] !== undefined);
    if (direct) {
      // Like swaks: --smtp HOST:PORT alone needs no sink API and no kubeconfig.
      await this.sendTo(
        { ...parseHostPort(flags.smtp!, '--smtp'), source: '--smtp' },
        spec,
        flags,
        interrupt,
      );
      return;
    }
    await withSinkTarget(flags, { onStatus: (l) => this.status(l), interrupt }, async (target) => {
      await this.sendTo(await smtpEndpoint(target, flags.smtp), spec, flags, interrupt);
    });
  }

  private async sendTo(
    smtp: { host: string; port: number; source: string },
    spec: Omit<Parameters<typeof sendBatch>[0], 'smtp' | 'signal' | 'onProgress'>,
    flags: { count: number; output: 'text' | 'json' | 'yaml' },
    interrupt: typeof interrupts,
  ): Promise<void> {
    this.status(`Sending ${flags.count} message(s) to ${smtp.host}:${smtp.port} (${smtp.source})…`);
    const showProgress = process.stderr.isTTY === true && flags.count >= 50;
    const report = await sendBatch({
      ...spec,
      smtp,
      signal: interrupt.signal,
      onProgress: showProgress
        ? (done, r) => {
            if (done % 50 === 0 || done === flags.count)
              process.stderr.write(
                `\r${progressLine(done, flags.count, r, process.stderr.columns || 80)}\u001b[K`,
              );
          }
        : undefined,
    });
    if (showProgress) process.stderr.write('\n');
    if (!report.interrupted && report.messages > 0 && report.failed === report.messages) {
      const first = report.samples.find((s) => s.kind === 'failed');
      throw evError(
        'EV_ERR_SINK_UNREACHABLE',
        `no message reached SMTP ${smtp.host}:${smtp.port}${first ? ` (${first.reply})` : ''}`,
        {
          hint:
            smtp.source === '--smtp'
              ? `check that an SMTP server listens on ${smtp.host}:${smtp.port}`
              : 'check that the sink is running and its SMTP port; pass --smtp HOST:PORT to choose it',
        },
      );
    }
    this.emit(flags.output, report, () =>
      formatSendReport(report, painterFor(process.stdout, process.env)),
    );
    if (report.interrupted || interrupt.signal.aborted) {
      await interrupt.runCleanups();
      this.exit(interrupt.exitCode ?? EXIT.INTERRUPTED);
    }
    if (report.failed > 0) this.exit(EXIT.ENVIRONMENT);
  }
}

/** Numbers one way: 185,588. */
const num = (n: number): string => n.toLocaleString('en-US');

/**
 * The progress line, fitted to the terminal (one column spare, so it never
 * wraps): the most useful counts first, dropped from the end when narrow.
 */
function progressLine(
  done: number,
  count: number,
  r: { accepted: number; rejected: number; deferred: number; failed: number },
  columns: number,
): string {
  const parts = [
    `${num(done)}/${num(count)} sent`,
    `${num(r.accepted)} accepted`,
    `${num(r.rejected)} rejected`,
    `${num(r.deferred)} deferred`,
    `${num(r.failed)} failed`,
  ];
  const width = Math.max(20, columns - 1);
  let line = parts[0];
  for (const part of parts.slice(1)) {
    const next = `${line}${line === parts[0] ? ': ' : ', '}${part}`;
    if (next.length > width) break;
    line = next;
  }
  return line.slice(0, width);
}
