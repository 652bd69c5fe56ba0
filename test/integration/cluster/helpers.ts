/** Helpers for the cluster tests: run the real CLI against the fake API server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const RUN_JS = fileURLToPath(new URL('../../../plugin/bin/run.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the CLI (built dist/, pinned Node) with a clean environment. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): {
  child: ChildProcess;
  done: Promise<CliResult>;
  stderrLines: (fn: (line: string) => void) => void;
} {
  const child = spawn(process.execPath, [RUN_JS, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: env.HOME ?? process.env.HOME ?? '/tmp',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners: Array<(line: string) => void> = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) for (const fn of listeners) fn(l);
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    stderrLines: (fn) => {
      listeners.push(fn);
    },
  };
}

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, env).done;
}
