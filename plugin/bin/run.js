#!/usr/bin/env node
// Launcher for `kubectl email-validate`. Kept in plain JavaScript that any Node
// can parse, because kubectl runs plugins with whatever `node` is first on PATH.
// The CLI needs Node >= 22.19 (undici 8, client-node 2); when the PATH node is
// older, re-run this file under the project's own pinned Node (the `node`
// devDependency) if it is installed, instead of failing on an import.
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIN = [22, 19];
const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const root = join(here, '..', '..');
const [major, minor] = process.versions.node.split('.').map(Number);

if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (process.env.EV_REEXEC === '1' || !existsSync(pinned)) {
    process.stderr.write(
      `error: kubectl email-validate needs Node.js >= ${MIN.join('.')} (this is ${process.version}).\n` +
        "hint: install a current Node.js LTS (22 or 24), or run `npm install` in the tool's folder to get its pinned Node.\n",
    );
    process.exit(3);
  }
  // Imported here only: the usual path (a current Node) does not need child_process.
  const { spawn } = await import('node:child_process');
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, EV_REEXEC: '1', EV_ARGV0: process.argv[1] ?? '' },
  });
  // A Ctrl-C typed in a terminal reaches the whole foreground process group, so
  // the child already has it: forwarding it too would look like a second Ctrl-C
  // (which means "exit now, skip cleanup"). Without a terminal, a SIGINT was
  // sent to this process alone (kill -INT), so pass it on.
  process.on('SIGINT', () => {
    if (!process.stdin.isTTY) child.kill('SIGINT');
  });
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
} else {
  // The reader went away (`… | head`): stop quietly, like other command-line tools,
  // instead of dying on EPIPE with a warning.
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE')
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw err;
  });
  // The CLI is one bundled file (plugin/build.ts, step `cli`); Node's compile cache
  // (in the OS temp folder; NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1
  // turns it off) keeps its compiled code between runs: most of the start-up otherwise.
  module.enableCompileCache?.();
  const { embedded, runCli } = module.createRequire(import.meta.url)('../../dist/cli/cli.cjs');
  await runCli(embedded, process.argv.slice(2), {
    root,
    argv0: process.env.EV_ARGV0 || process.argv[1] || '',
  });
}
