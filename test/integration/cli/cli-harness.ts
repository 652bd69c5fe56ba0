/**
 * Runs the built CLI (`plugin/bin/run.js`, which loads dist/) as a child
 * process, the way a user or kubectl does, and collects its output.
 */
import assert from 'node:assert/strict';
import type { SinkEvent } from '../../../src/protocol.ts';
import { hookState } from '../../support/hook-state.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'mocha';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
export const RUN_JS = join(ROOT, 'plugin', 'bin', 'run.js');
export const COMPLETE_JS = join(ROOT, 'plugin', 'bin', 'complete.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without the user's sink / token / colour settings. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [
    'EV_SINK',
    'EV_TOKEN',
    'FORCE_COLOR',
    'NO_COLOR',
    'DEBUG',
    'KUBECONFIG',
    'COLUMNS',
  ])
    delete env[k];
  return { ...env, ...extra };
}

/**
 * Runs the CLI (or `script`, another Node script) and collects its output.
 * `direct`: `script` is an executable to run itself, not a file for Node.
 */
export function runCli(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    input?: string;
    script?: string;
    direct?: boolean;
    timeoutMs?: number;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] =
      options.direct && options.script
        ? [options.script, [...args]]
        : [process.execPath, [options.script ?? RUN_JS, ...args]];
    const child = spawn(cmd, argv, { env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI timed out: ${args.join(' ')}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Starts a long-running CLI command and resolves once a stdout line satisfies `until` (or rejects at the deadline). */
export function runUntil(
  args: readonly string[],
  until: (line: string) => boolean,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ lines: string[]; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], {
      env: cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `no matching line within the deadline: ${args.join(' ')}\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (until(line)) {
          clearTimeout(timer);
          resolve({ lines, child });
          return;
        }
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before a matching line\n${stderr}`));
    });
  });
}

/** Parses `tail -o json` output. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** A fresh fake API server for each test, and the environment that points the CLI at it. */
export interface FakeClusterPerTest {
  fake: FakeKube;
  env: Record<string, string>;
}

/** Mocha hooks: starts a fake API server before each test and closes it after. */
export function useFakeClusterPerTest(): FakeClusterPerTest {
  const cluster = hookState<FakeClusterPerTest>();
  beforeEach(async () => {
    cluster.fake = await startFakeKube();
    cluster.env = { KUBECONFIG: cluster.fake.kubeconfigPath };
  });
  afterEach(async () => {
    await cluster.fake.close();
  });
  return cluster;
}

/**
 * The tail of a sink that took the 100-message load plus the bounce, deferral and
 * asynchronous bounce addresses: events in seq order without duplicates, all 100
 * load recipients received, and the three refusals reported.
 */
export function assertLoadAndRefusals(events: SinkEvent[]): void {
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'in seq order',
  );
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  const loadRcpts = new Set(
    events
      .filter((e): e is SinkEvent<'message.received'> => e.type === 'message.received')
      .flatMap((e) => e.data.envelope.rcptTo.map((r) => r.address))
      .filter((a) => a.startsWith('user+')),
  );
  assert.equal(loadRcpts.size, 100, 'all 100 messages');
  assert.ok(
    events.some((e) => e.type === 'message.rejected' && e.data.to === 'bounce@example.com'),
  );
  assert.ok(events.some((e) => e.type === 'message.deferred' && e.data.to === 'defer@example.com'));
  assert.ok(
    events.some(
      (e) => e.type === 'message.bounced' && e.data.recipient === 'asyncbounce@example.com',
    ),
  );
}
