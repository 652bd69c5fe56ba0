/** Shared helpers for the check integration tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { CheckOptions, CheckIo } from '../../../plugin/lib/check/run-check-command.ts';
import { systemClock } from '../../../src/system-clock.ts';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const CLI = join(ROOT, 'plugin/bin/run.js');

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ev-check-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function baseOptions(over: Partial<CheckOptions> = {}): CheckOptions {
  return {
    paths: [],
    column: null,
    format: 'jsonl',
    out: null,
    state: null,
    offline: false,
    dnsTimeoutMs: 500,
    dnsTries: 1,
    smtpProbe: false,
    mailFrom: '',
    smtpPort: 25,
    allowPrivateMx: false,
    greylistRetries: 3,
    greylistDelayMs: 50,
    greylistMaxMs: 200,
    smtpTimeoutMs: 5000,
    concurrency: 8,
    rate: null,
    domainConcurrency: 1,
    domainRate: 1000,
    mxConcurrency: 5,
    mxRate: 1000,
    failOn: [],
    progress: false,
    color: false,
    checkpointEveryMs: 100,
    ...over,
  };
}

export function baseIo(over: Partial<CheckIo> = {}): CheckIo {
  return {
    stdoutFd: 1,
    stderr: process.stderr,
    stdin: process.stdin,
    env: {},
    clock: systemClock,
    ...over,
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; resolves when it exits. */
export function runCli(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Polls `check` every few ms until it returns true or the deadline passes. */
export async function waitFor(
  check: () => boolean,
  deadlineMs: number,
  what: string | (() => string),
): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
