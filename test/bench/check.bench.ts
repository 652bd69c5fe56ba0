/**
 * Benchmarks of `check` (printed, never asserted). Run: npm run bench:check
 *
 * 1. Offline, end to end through the CLI: a 1,000,000-line file, addresses/s
 *    and peak resident memory (VmHWM of the process), next to the time a plain
 *    line-by-line read (node:readline) of the same file takes in the same run.
 * 2. DNS: 20,000 distinct domains against the fake DNS server on loopback,
 *    through node:dns and the DnsChecker (MX + the MX host's A/AAAA), in
 *    domains/s, next to bare resolveMx calls for the same names.
 * 3. Rate: --rate 200/s (burst 20) for 30 s through the engine with an
 *    instant resolver: achieved rate and the busiest one-second window.
 *
 * Set BENCH_QUICK=1 for a shorter run (100k lines, 5 s of rate).
 */
import { spawn } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DnsChecker, type DnsResolver } from '../../src/address/dns.ts';
import { createLists } from '../../src/address/lists.ts';
import { createOfflineContext } from '../../src/check/pipeline.ts';
import { runCheck, type InputBatch } from '../../src/check/engine.ts';
import { TokenBucket } from '../../src/limits/token-bucket.ts';
import { systemClock } from '../../src/system-clock.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const QUICK = process.env.BENCH_QUICK === '1';
const LINES = QUICK ? 100_000 : 1_000_000;
const RATE_SECONDS = QUICK ? 5 : 30;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function makeList(path: string, n: number): void {
  // 60% popular providers, 38% from 20,000 company domains, ~1% invalid, some duplicates and role accounts.
  const popular = [
    'gmail.com',
    'yahoo.com',
    'hotmail.com',
    'outlook.com',
    'aol.com',
    'icloud.com',
    'gmx.de',
    'web.de',
    'mailinator.com',
    'gmial.com',
  ];
  const chunks: string[] = [];
  let s = '';
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const domain = r < 0.6 ? popular[i % popular.length] : `c${(i * 7919) % 20_000}-corp.example`;
    const local = r < 0.02 ? 'admin' : r > 0.99 ? 'bad..x' : `first.last${i.toString(36)}`;
    s += `${local}@${domain}\n`;
    if (s.length > 1 << 20) {
      chunks.push(s);
      s = '';
    }
  }
  chunks.push(s);
  writeFileSync(path, chunks.join(''));
}

async function plainRead(path: string): Promise<{ ms: number; lines: number }> {
  const t = performance.now();
  let lines = 0;
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) if (line.length > 0) lines++;
  return { ms: performance.now() - t, lines };
}

/** Runs the CLI under /usr/bin/time (when present) for peak RSS and CPU seconds; else samples /proc VmHWM. */
function runCliMeasured(args: string[]): Promise<{
  ms: number;
  peakKb: number;
  cpuS: number | null;
  code: number | null;
  stderr: string;
}> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const node = join(ROOT, 'node_modules/.bin/node');
    const cli = [join(ROOT, 'plugin/bin/run.js'), ...args];
    const timed = existsSync('/usr/bin/time');
    const child = timed
      ? spawn('/usr/bin/time', ['-f', 'EVTIME %M %U %S', node, ...cli], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(node, cli, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let peakKb = 0;
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const timer = timed ? null : setInterval(sample, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      let cpuS: number | null = null;
      const m = /EVTIME (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      if (m) {
        peakKb = Number(m[1]);
        cpuS = Number(m[2]) + Number(m[3]);
        stderr = stderr.replace(m[0], '');
      }
      resolve({ ms: performance.now() - t, peakKb, cpuS, code, stderr });
    });
  });
}

async function benchOffline(dir: string): Promise<void> {
  const input = join(dir, 'list.txt');
  makeList(input, LINES);
  const size = statSync(input).size;
  await plainRead(input); // warm the page cache
  const plain = await plainRead(input);
  const out = join(dir, 'out.jsonl');
  const cli = await runCliMeasured(['check', '--offline', input, '--out', out, '--no-progress']);
  if (cli.code !== 0) throw new Error(`check failed: ${cli.stderr}`);
  const startup = await runCliMeasured(['version']);
  // Memory must not follow the list length: the same check on a tenth of the list.
  const small = join(dir, 'small.txt');
  makeList(small, LINES / 10);
  const smallRun = await runCliMeasured([
    'check',
    '--offline',
    small,
    '--out',
    join(dir, 'small.jsonl'),
    '--no-progress',
  ]);
  console.log(`\n## offline check, ${fmt(LINES)} lines (${(size / 1e6).toFixed(1)} MB)`);
  console.log(
    `baseline: plain line-by-line read (node:readline)   ${plain.ms.toFixed(0)} ms  (${fmt(plain.lines / (plain.ms / 1000))} lines/s)`,
  );
  console.log(`CLI start-up alone (\`version\`)                       ${startup.ms.toFixed(0)} ms`);
  console.log(
    `check --offline end to end                          ${cli.ms.toFixed(0)} ms  -> ${fmt(LINES / (cli.ms / 1000))} addresses/s (target >= 300,000)`,
  );
  console.log(
    `  without start-up                                  ${fmt(LINES / ((cli.ms - startup.ms) / 1000))} addresses/s`,
  );
  console.log(
    `  ratio to the plain read                           ${(cli.ms / plain.ms).toFixed(2)}x`,
  );
  console.log(
    `  peak RSS                                          ${(cli.peakKb / 1024).toFixed(0)} MB (target <= 250 MB)`,
  );
  console.log(
    `  peak RSS for ${fmt(LINES / 10)} lines (a tenth)                ${(smallRun.peakKb / 1024).toFixed(0)} MB (memory does not grow with the list beyond the dedupe set)`,
  );
  if (cli.cpuS !== null)
    console.log(
      `  CPU time (user + sys, all threads)                ${cli.cpuS.toFixed(2)} s -> ${fmt(LINES / cli.cpuS)} addresses per CPU-second`,
    );
  console.log(
    `  machine load average while measuring              ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs`,
  );
  console.log(`  ${cli.stderr.trim().split('\n').at(-1)}`);
}

/** Starts the fake DNS server in its own process (a real server is not in our event loop either). */
async function fakeDnsProcess(): Promise<{ server: string; stop(): void }> {
  const code = `const { startFakeDns } = await import(${JSON.stringify(join(ROOT, 'test/support/fake-dns.ts'))});
const dns = await startFakeDns((name) => name.startsWith('mx.') ? { a: ['192.0.2.1'] } : /^d\\d+\\.test$/.test(name) ? { mx: [{ priority: 10, exchange: 'mx.' + name }] } : undefined);
process.stdout.write(dns.server + '\\n');`;
  const child = spawn(join(ROOT, 'node_modules/.bin/node'), ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const server = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (c) => reject(new Error(`fake DNS exited with ${c}`)));
  });
  return { server, stop: () => child.kill() };
}

async function benchDns(): Promise<void> {
  const N = 20_000;
  const dns = await fakeDnsProcess();
  try {
    const resolver = (): Resolver => {
      const r = new Resolver({ timeout: 2000, tries: 2 });
      r.setServers([dns.server]);
      return r;
    };
    // Baseline: bare resolveMx for the same names, 64 at a time.
    const bare = resolver();
    let next = 0;
    let t = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < N) await bare.resolveMx(`d${next++}.test`).catch(() => undefined);
      }),
    );
    const bareMs = performance.now() - t;
    const checker = new DnsChecker({
      resolver: resolver(),
      clock: systemClock,
      timeoutMs: 10_000,
      concurrency: 128,
    });
    next = 0;
    let ok = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: 128 }, async () => {
        while (next < N) if ((await checker.lookup(`d${next++}.test`)).status === 'ok') ok++;
      }),
    );
    const ms = performance.now() - t;
    console.log(`\n## DNS, ${fmt(N)} distinct domains, fake DNS server on loopback`);
    console.log(
      `baseline: bare resolveMx                            ${bareMs.toFixed(0)} ms  (${fmt(N / (bareMs / 1000))} queries/s)`,
    );
    console.log(
      `DnsChecker (MX + A/AAAA of the MX host)             ${ms.toFixed(0)} ms  -> ${fmt(N / (ms / 1000))} domains/s (target >= 5,000); ${fmt(ok)} ok, ${fmt(checker.queries)} queries`,
    );
  } finally {
    dns.stop();
  }
}

async function benchRate(): Promise<void> {
  const rate = 200;
  const burst = 20;
  const grants: number[] = [];
  const instant: DnsResolver = {
    resolveMx: async () => {
      grants.push(performance.now());
      return [{ exchange: 'mx.example.net', priority: 1 }];
    },
    resolve4: async () => ['192.0.2.1'],
    resolve6: async () => [],
  };
  const dns = new DnsChecker({ resolver: instant, clock: systemClock });
  const n = rate * RATE_SECONDS + burst;
  async function* source(): AsyncGenerator<InputBatch> {
    for (let i = 0; i < n; i += 500) {
      const values = Array.from({ length: Math.min(500, n - i) }, (_, k) => `u@d${i + k}.test`);
      yield { file: 0, values, ends: values.map(() => 0) };
    }
  }
  const tokens: number[] = [];
  const bucket = new TokenBucket({ rate, burst, clock: systemClock });
  const take = bucket.take.bind(bucket);
  bucket.take = (signal?: AbortSignal) =>
    take(signal).then(() => {
      tokens.push(performance.now());
    });
  const t0 = performance.now();
  await runCheck(
    source(),
    { write: () => undefined, flush: async () => 0 },
    {
      offline: createOfflineContext(createLists()),
      stages: { dns },
      concurrency: 50,
      clock: systemClock,
      rate: bucket,
    },
  );
  const elapsed = (performance.now() - t0) / 1000;
  const worstWindow = (ts: number[]): number => {
    let worst = 0;
    for (let i = 0, j = 0; i < ts.length; i++) {
      while (ts[i] - ts[j] >= 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    return worst;
  };
  grants.sort((a, b) => a - b);
  const steady = (tokens.length - burst) / ((tokens.at(-1)! - tokens[burst]) / 1000);
  console.log(`\n## --rate ${rate}/s (burst ${burst}) for ${RATE_SECONDS} s`);
  console.log(
    `checks started ${fmt(tokens.length)} in ${elapsed.toFixed(2)} s; steady rate after the burst ${steady.toFixed(2)}/s (${(((steady - rate) / rate) * 100).toFixed(2)}% off; target within 2%)`,
  );
  console.log(
    `busiest one-second window of token grants: ${worstWindow(tokens)} (limit rate + burst = ${rate + burst})`,
  );
  console.log(
    `busiest one-second window of DNS queries sent: ${worstWindow(grants)} (event-loop jitter between grant and send can bunch a few)`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'ev-check-bench-'));
try {
  console.log(`# check benchmarks (node ${process.version}${QUICK ? ', quick' : ''})`);
  await benchOffline(dir);
  await benchDns();
  await benchRate();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
