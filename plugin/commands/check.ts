import { open } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { evError } from '../../src/errors.ts';
import type { Verdict } from '../../src/check/reasons.ts';
import type { CheckIo, CheckOptions, CheckSummary } from '../lib/check/run-check-command.ts';
import { systemClock } from '../../src/system-clock.ts';
import { runCheckInWorker } from '../lib/check/worker.ts';
import { rateFlag } from '../lib/check/parse.ts';
import { parseDuration } from '../../src/duration.ts';
import type { CheckFormat } from '../lib/check/output.ts';
import { tableWidth } from '../lib/render/table.ts';
import { wrapWords } from '../lib/render/fit.ts';
import { kubeFlags, pickKubeFlags } from '../lib/kube-flags.ts';

const VERDICTS: readonly Verdict[] = ['valid', 'invalid', 'risky', 'unknown'];

export default class Check extends BaseCommand {
  static override summary =
    'Check a list of email addresses: syntax, lists, DNS, optional SMTP probe or HTTP provider.';
  static override description =
    'Reads one address per line (or a CSV column) from files or standard input, streams one result per distinct address ' +
    '(JSON lines by default when stdout is not a terminal), and prints a summary. Limits apply globally, per domain and per mail provider. ' +
    'With --state the run can be killed at any moment and resumed. With --in-cluster the work runs in a Kubernetes Indexed Job with Redis ' +
    'as its queue and limiter; a killed CLI (or a SIGTERM) leaves the run going, and --attach NAME (or the same --state) continues it; Ctrl-C removes it.';
  static override examples = [
    '<%= config.bin %> check --offline list.txt > results.jsonl',
    'cat list.txt | <%= config.bin %> check -o table',
    '<%= config.bin %> check users.csv --column email --out results.csv -o csv',
    '<%= config.bin %> check big.txt --rate 50/s --out results.jsonl --state check.state',
    '<%= config.bin %> check list.txt --smtp-probe --helo probe.mail.example.net --mail-from verify@example.net',
    '<%= config.bin %> check list.txt --provider provider.yaml --fail-on invalid',
    '<%= config.bin %> check big.txt --in-cluster --shards 5 --rate 200/s --out results.jsonl --state big.state',
    '<%= config.bin %> check --in-cluster --attach email-validation-20260101-120000-ab12',
    'VERIFY_TOKEN=… <%= config.bin %> check list.txt --in-cluster --provider provider.yaml --out results.jsonl',
  ];
  static override strict = false;
  static override args = {
    file: Args.string({
      ignoreStdin: true,
      description:
        'Input files (one address per line, or CSV with --column); "-" or none for standard input.',
    }),
  };
  static override flags = {
    column: Flags.string({
      description: 'Read CSV and take addresses from this column (by header name).',
      helpGroup: 'INPUT',
    }),
    // --format is the old name, kept as a deprecated alias (oclif prints a warning when it is used).
    output: Flags.option({
      char: 'o',
      description:
        'Output format: jsonl (json is the same: one JSON object per line), csv, table (fitted to the terminal) or wide (a table with nothing cut) (default: jsonl when stdout is not a terminal, table otherwise).',
      options: ['jsonl', 'json', 'csv', 'table', 'wide'] as const,
      aliases: ['format'],
      deprecateAliases: true,
      helpGroup: 'OUTPUT',
    })(),
    out: Flags.string({
      helpValue: 'FILE',
      description: 'Write results to this file instead of standard output.',
      helpGroup: 'OUTPUT',
    }),
    state: Flags.string({
      helpValue: 'FILE',
      description: 'Checkpoint file: resume an interrupted run (needs input files and --out).',
      helpGroup: 'OUTPUT',
    }),
    'fail-on': Flags.string({
      description:
        'Exit 1 if any result has one of these verdicts (comma-separated: invalid,risky,unknown).',
      helpGroup: 'OUTPUT',
    }),
    progress: Flags.boolean({
      description: 'Progress bar on stderr (default: when stderr is a terminal).',
      allowNo: true,
      helpGroup: 'OUTPUT',
    }),
    offline: Flags.boolean({
      description: 'Syntax and list checks only: no DNS, no network at all.',
      helpGroup: 'CHECKS',
    }),
    'dns-server': Flags.string({
      description: 'DNS server to ask, IP[:PORT] (default: the system resolvers).',
      helpGroup: 'CHECKS',
    }),
    'dns-timeout': Flags.string({
      description: 'Timeout of one DNS try.',
      default: '5s',
      helpGroup: 'CHECKS',
    }),
    'dns-tries': Flags.integer({
      description: 'DNS tries per query.',
      default: 2,
      min: 1,
      max: 5,
      helpGroup: 'CHECKS',
    }),
    'smtp-probe': Flags.boolean({
      description: "Ask the domain's mail server whether it accepts each recipient (RCPT TO).",
      helpGroup: 'SMTP PROBE',
    }),
    helo: Flags.string({
      description:
        "HELO/EHLO name: this machine's fully-qualified name (required with --smtp-probe).",
      helpGroup: 'SMTP PROBE',
    }),
    'mail-from': Flags.string({
      description: 'MAIL FROM address ("" = null sender).',
      default: '',
      helpGroup: 'SMTP PROBE',
    }),
    'greylist-retries': Flags.integer({
      description: 'Retries after a 4xx (greylisting) before reporting unknown.',
      default: 3,
      min: 0,
      max: 8,
      helpGroup: 'SMTP PROBE',
    }),
    'greylist-delay': Flags.string({
      description: 'First wait after a 4xx (doubles, with jitter).',
      default: '60s',
      helpGroup: 'SMTP PROBE',
    }),
    'greylist-max-delay': Flags.string({
      description: 'Longest wait between greylisting retries.',
      default: '5m',
      helpGroup: 'SMTP PROBE',
    }),
    'smtp-timeout': Flags.string({
      description: 'Timeout of one SMTP connect or command.',
      default: '20s',
      helpGroup: 'SMTP PROBE',
    }),
    'port25-check': Flags.string({
      description:
        'HOST[:PORT] to test outbound SMTP against before probing (default: Gmail/Outlook/Yahoo MX).',
      helpGroup: 'SMTP PROBE',
    }),
    'smtp-port': Flags.integer({
      description: 'Port of the MX hosts (25; other values are for tests).',
      default: 25,
      min: 1,
      max: 65535,
      hidden: true,
    }),
    'allow-private-mx': Flags.boolean({
      description: 'Probe MX hosts on loopback/private addresses (for tests).',
      hidden: true,
    }),
    provider: Flags.string({
      helpValue: 'FILE',
      description:
        'HTTP verification provider config (YAML or JSON). With --in-cluster its concurrency and rate hold for all shards together, and the file with the ${env:…} values it uses goes to the shards in a Secret.',
      helpGroup: 'PROVIDER',
    }),
    concurrency: Flags.integer({
      char: 'c',
      description: 'Network checks in flight at once.',
      default: 20,
      min: 1,
      max: 1000,
      helpGroup: 'LIMITS',
    }),
    rate: Flags.string({
      description: 'Global rate of network checks, e.g. 50/s (default: no global rate).',
      helpGroup: 'LIMITS',
    }),
    burst: Flags.integer({
      description: 'Token-bucket burst for --rate (default: rate/10, at least 1).',
      min: 1,
      helpGroup: 'LIMITS',
    }),
    'domain-concurrency': Flags.integer({
      description: 'SMTP sessions in flight per domain.',
      default: 1,
      min: 1,
      max: 100,
      helpGroup: 'LIMITS',
    }),
    'domain-rate': Flags.string({
      description: 'SMTP sessions per second per domain.',
      default: '1/s',
      helpGroup: 'LIMITS',
    }),
    'mx-concurrency': Flags.integer({
      description:
        'SMTP sessions in flight per mail provider (Google, Microsoft, Yahoo …, or MX domain).',
      default: 5,
      min: 1,
      max: 200,
      helpGroup: 'LIMITS',
    }),
    'mx-rate': Flags.string({
      description: 'SMTP sessions per second per mail provider (Microsoft gets a third).',
      default: '3/s',
      helpGroup: 'LIMITS',
    }),
    'checkpoint-interval': Flags.string({
      description: 'Minimum time between checkpoints.',
      default: '1s',
      hidden: true,
    }),
    'in-cluster': Flags.boolean({
      description:
        'Run the checks in the cluster: Redis (queue and limits) and an Indexed Job of --shards pods (input and results stream through a tunnel).',
      helpGroup: 'CLUSTER',
    }),
    shards: Flags.integer({
      description: 'Shard pods with --in-cluster.',
      default: 3,
      min: 1,
      max: 100,
      helpGroup: 'CLUSTER',
    }),
    attach: Flags.string({
      description:
        "Reattach to the in-cluster run in this namespace: write the results that arrived meanwhile and finish (input and output are the run's).",
      helpGroup: 'CLUSTER',
      dependsOn: ['in-cluster'],
    }),
    ...kubeFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Check);
    const failOn = (flags['fail-on'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const v of failOn)
      if (!VERDICTS.includes(v as Verdict))
        throw evError('EV_ERR_INVALID_OPTION', `--fail-on "${v}" is not a verdict`, {
          hint: 'use invalid, risky, unknown (or valid), comma-separated',
        });
    const paths = argv as string[];
    if (flags.column === undefined) await refuseCsvWithoutColumn(paths);
    if ((paths.length === 0 || paths.includes('-')) && process.stdin.isTTY) {
      this.status(
        'reading addresses from standard input, one per line (end with Ctrl-D; or pass a file)',
      );
    }
    const format: CheckFormat =
      flags.output === 'json'
        ? 'jsonl'
        : flags.output === 'wide'
          ? 'table'
          : (flags.output ?? (process.stdout.isTTY && !flags.out ? 'table' : 'jsonl'));
    const width =
      format === 'table' && !flags.out && flags.output !== 'wide'
        ? tableWidth(process.stdout, process.env)
        : null;
    const ac = new AbortController();
    // Ctrl-C stops the run (an in-cluster one is removed); SIGTERM stops this CLI only (an in-cluster run goes on).
    const onSignal = (): void => ac.abort(new Error('interrupted'));
    const onTerm = (): void =>
      ac.abort(Object.assign(new Error('terminated'), { leaveRunning: true }));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onTerm);
    let summary: CheckSummary;
    try {
      const runner = flags['in-cluster']
        ? (await import('../lib/check-cluster/run.ts')).inClusterRunner({
            shards: flags.shards,
            attach: flags.attach,
            kube: pickKubeFlags(flags),
            onStatus: (l) => this.status(l),
          })
        : (o: CheckOptions, io: CheckIo) => runCheckInWorker(o, io.signal!);
      summary = await runner(
        {
          paths,
          column: flags.column ?? null,
          format,
          out: flags.out ?? null,
          state: flags.state ?? null,
          offline: flags.offline,
          dnsServer: flags['dns-server'],
          dnsTimeoutMs: parseDuration(flags['dns-timeout'], '--dns-timeout'),
          dnsTries: flags['dns-tries'],
          smtpProbe: flags['smtp-probe'],
          helo: flags.helo,
          mailFrom: flags['mail-from'],
          smtpPort: flags['smtp-port'],
          allowPrivateMx: flags['allow-private-mx'],
          port25Check: flags['port25-check'],
          greylistRetries: flags['greylist-retries'],
          greylistDelayMs: parseDuration(flags['greylist-delay'], '--greylist-delay'),
          greylistMaxMs: parseDuration(flags['greylist-max-delay'], '--greylist-max-delay'),
          smtpTimeoutMs: parseDuration(flags['smtp-timeout'], '--smtp-timeout'),
          provider: flags.provider,
          concurrency: flags.concurrency,
          rate: flags.rate === undefined ? null : rateFlag('rate', flags.rate),
          burst: flags.burst,
          domainConcurrency: flags['domain-concurrency'],
          domainRate: rateFlag('domain-rate', flags['domain-rate']),
          mxConcurrency: flags['mx-concurrency'],
          mxRate: rateFlag('mx-rate', flags['mx-rate']),
          failOn: failOn as Verdict[],
          progress: flags.progress ?? Boolean(process.stderr.isTTY),
          color:
            Boolean(process.stdout.isTTY) &&
            format === 'table' &&
            !flags.out &&
            !process.env.NO_COLOR,
          checkpointEveryMs: parseDuration(flags['checkpoint-interval'], '--checkpoint-interval'),
          tableWidth: width,
          wide: flags.output === 'wide',
        },
        {
          stdoutFd: 1,
          stderr: process.stderr,
          stdin: process.stdin,
          env: process.env,
          clock: systemClock,
          signal: ac.signal,
        },
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onTerm);
    }
    if (summary.quiet) return;
    const c = summary.counts;
    const secs = summary.elapsedMs / 1000;
    const rate = Math.round((summary.readThisRun ?? c.read) / Math.max(secs, 0.001));
    const line =
      `${summary.resumed ? 'resumed; ' : ''}${plural(c.written, 'address', 'addresses')} checked (${plural(c.duplicates, 'duplicate')} skipped) in ${secs.toFixed(1)}s, ` +
      `${num(rate)}/s: ${num(c.valid)} valid, ${num(c.invalid)} invalid, ${num(c.risky)} risky, ${num(c.unknown)} unknown`;
    // Under the table, on a narrow terminal, the summary breaks between words rather than wrap mid-word.
    if (format === 'table' && !flags.out)
      process.stdout.write(
        `\n${
          width === null || line.length <= width
            ? line
            : line
                .replace(': ', ':\n')
                .split('\n')
                .map((part) => wrapWords(part, width))
                .join('\n')
        }\n`,
      );
    else this.status(line);
    if (summary.exitCode === 1 && failOn.length > 0) {
      const hits = failOn
        .filter((v) => c[v as Verdict] > 0)
        .map((v) => `${num(c[v as Verdict])} ${v}`);
      this.status(`exit 1: --fail-on ${failOn.join(',')} matched ${hits.join(', ')}`);
    }
    if (summary.exitCode !== 0) this.exit(summary.exitCode);
  }
}

/** One way to print numbers: 185,588. */
function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** "1 address", "2 addresses". */
function plural(n: number, one: string, many = `${one}s`): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}

/** Bytes of a file read to see whether it is CSV: the header line is short. */
const CSV_SNIFF_BYTES = 4096;

/**
 * A .csv file read as one address per line would give one invalid result per
 * row: when its first line has commas, say so and name the likely column.
 */
async function refuseCsvWithoutColumn(paths: readonly string[]): Promise<void> {
  for (const path of paths.filter((p) => p.toLowerCase().endsWith('.csv'))) {
    let head: string;
    try {
      const fh = await open(path, 'r');
      try {
        const { buffer, bytesRead } = await fh.read(
          Buffer.alloc(CSV_SNIFF_BYTES),
          0,
          CSV_SNIFF_BYTES,
          0,
        );
        head = buffer.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      continue; // the reader reports unreadable files with its own error
    }
    const header = (head.split(/\r?\n/)[0] ?? '')
      .split(',')
      .map((h) => h.trim().replace(/^"|"$/g, ''));
    if (header.length < 2) continue;
    const guess =
      header.find((h) => /e-?mail/i.test(h)) ?? header.find((h) => /addr/i.test(h)) ?? header[0];
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `${path} looks like CSV (header: ${header.slice(0, 8).join(', ')}) but --column is not set`,
      {
        hint: `pass --column ${/^[\w.-]+$/.test(guess) ? guess : JSON.stringify(guess)} to read addresses from that column`,
      },
    );
  }
}
