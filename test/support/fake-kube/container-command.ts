/**
 * What process a container becomes: the image's entrypoint conventions of
 * the official Node.js image (no command -> `node`; args that are not a known
 * executable -> `node ARGS`; `docker-entrypoint.sh` dropped), `$(VAR)`
 * expansion, mountPath rewriting, and `node` replaced by the pinned Node
 * (process.execPath).
 */
import { expandRefs, rewritePaths } from './volumes.ts';

const NODE_IMAGE = /^(?:[^/]+\/)*node(?::[^/@]*)?(?:@sha256:[0-9a-f]+)?$/;

/** `node`, `node:24-alpine`, `registry.example.com/library/node:22`, with or without a digest. */
export function isNodeImage(image: string): boolean {
  return NODE_IMAGE.test(image);
}

const NODE_BINARIES = new Set(['node', 'nodejs', '/usr/local/bin/node', '/usr/bin/node', '/usr/bin/nodejs']);
const ENTRYPOINTS = new Set(['docker-entrypoint.sh', '/usr/local/bin/docker-entrypoint.sh']);
const KNOWN_EXECUTABLES = new Set([...NODE_BINARIES, 'sh', '/bin/sh', 'bash', '/bin/bash', 'npm', 'npx']);

export function containerArgv(spec: { command?: unknown[]; args?: unknown[] }, env: Record<string, string>, mounts: ReadonlyArray<readonly [string, string]>): string[] {
  const command: string[] = (spec.command ?? []).map(String);
  const args: string[] = (spec.args ?? []).map(String);
  let argv: string[];
  if (command.length > 0) argv = [...command, ...args];
  else if (args.length > 0) argv = KNOWN_EXECUTABLES.has(args[0]) && !args[0].startsWith('-') ? args : ['node', ...args];
  else argv = ['node'];
  while (argv.length > 0 && ENTRYPOINTS.has(argv[0])) argv = argv.slice(1);
  if (argv.length === 0) argv = ['node'];
  argv = argv.map((a) => rewritePaths(expandRefs(a, env), mounts));
  if (NODE_BINARIES.has(argv[0])) argv[0] = process.execPath;
  return argv;
}
