/**
 * What process a container becomes: the image's entrypoint conventions of
 * the official Node.js image (no command -> `node`; args that are not a known
 * executable -> `node ARGS`; `docker-entrypoint.sh` dropped), `$(VAR)`
 * expansion, mountPath rewriting, and `node` replaced by the pinned Node
 * (process.execPath). Official `redis:*` images run the local `redis-server`
 * (Debian's package) the same way, listening on the pod's IP.
 */
import { existsSync } from 'node:fs';
import { expandRefs, rewritePaths } from './volumes.ts';

const NODE_IMAGE = /^(?:[^/]+\/)*node(?::[^/@]*)?(?:@sha256:[0-9a-f]+)?$/;

/** `node`, `node:24-alpine`, `registry.example.com/library/node:22`, with or without a digest. */
export function isNodeImage(image: string): boolean {
  return NODE_IMAGE.test(image);
}

const REDIS_IMAGE = /^(?:[^/]+\/)*redis(?::[^/@]*)?(?:@sha256:[0-9a-f]+)?$/;
/** Where Debian's redis-server package installs the server (`.ci/run` installs it). */
export const REDIS_SERVER = '/usr/bin/redis-server';

/** `redis`, `redis:7-alpine`, `docker.io/library/redis:7`, with or without a digest. */
export function isRedisImage(image: string): boolean {
  return REDIS_IMAGE.test(image);
}

/** Whether this machine can run `redis:*` images (a fresh machine lacks the package). */
export function canRunRedis(): boolean {
  return existsSync(REDIS_SERVER);
}

/**
 * Pods share the host's network here: the server must listen on the pod's
 * own IP, never on every interface (two Redis pods would take the same port),
 * so `--bind …` is replaced by the pod IP, as EV_HOST is for our Node
 * processes (in IPv6 mode also `--port`, recorded as netns-hook.mjs records
 * Node's ports). The official image's default command is `redis-server`.
 */
export function redisArgv(argv: string[], podIp: string, hostPort?: number): string[] {
  let out =
    argv.length === 0 || argv[0] === process.execPath
      ? ['redis-server', ...argv.slice(1)]
      : [...argv];
  if (out[0] === 'redis-server' || out[0] === '/usr/local/bin/redis-server') out[0] = REDIS_SERVER;
  const at = out.indexOf('--bind');
  if (at >= 0) {
    let end = at + 1;
    while (end < out.length && !out[end].startsWith('--')) end++;
    out = [...out.slice(0, at), ...out.slice(end)];
  }
  // IPv6 mode: every pod is ::1, told apart by ports (see pod-worker.ts): listen on the host port chosen for it.
  if (hostPort !== undefined) {
    const p = out.indexOf('--port');
    if (p >= 0) out.splice(p, 2);
    out.push('--port', String(hostPort));
  }
  return [...out, '--bind', podIp];
}

/** The container port a redis-server argv listens on (`--port`, default 6379). */
export function redisPort(argv: string[]): number {
  const p = argv.indexOf('--port');
  return p >= 0 ? Number(argv[p + 1]) : 6379;
}

/**
 * The `USER` of the images the fake knows, as their Dockerfiles set it (''
 * means none: the process starts as root, uid 0). The official node images
 * (docker-library/node, every variant incl. -alpine) create a `node` user with
 * uid 1000 but set no USER; the official redis image sets none either (its
 * entrypoint drops to uid 999 with gosu later, which kubelet cannot see).
 * Any other image is taken to run as root too unless the fake is told
 * otherwise (FakeKubeOptions.imageUsers).
 */
const KNOWN_IMAGE_USERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(?:[^/]+\/)*node(?::[^/@]*)?(?:@sha256:[0-9a-f]+)?$/, ''],
  [/^(?:[^/]+\/)*redis(?::[^/@]*)?(?:@sha256:[0-9a-f]+)?$/, ''],
];

/** The image's USER ('' = root) from `overrides` (image name without tag, or full reference) or the table above. */
export function imageUser(
  image: string,
  overrides: Readonly<Record<string, string | number>> = {},
): string {
  const repo = image.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^/:]*$/, '');
  const own = overrides[image] ?? overrides[repo];
  if (own !== undefined) return String(own);
  return KNOWN_IMAGE_USERS.find(([re]) => re.test(image))?.[1] ?? '';
}

const NODE_BINARIES = new Set([
  'node',
  'nodejs',
  '/usr/local/bin/node',
  '/usr/bin/node',
  '/usr/bin/nodejs',
]);
const ENTRYPOINTS = new Set(['docker-entrypoint.sh', '/usr/local/bin/docker-entrypoint.sh']);
const KNOWN_EXECUTABLES = new Set([
  ...NODE_BINARIES,
  'sh',
  '/bin/sh',
  'bash',
  '/bin/bash',
  'npm',
  'npx',
]);

export function containerArgv(
  spec: { command?: unknown[]; args?: unknown[] },
  env: Record<string, string>,
  mounts: ReadonlyArray<readonly [string, string]>,
): string[] {
  const command: string[] = (spec.command ?? []).map(String);
  const args: string[] = (spec.args ?? []).map(String);
  let argv: string[];
  if (command.length > 0) argv = [...command, ...args];
  else if (args.length > 0)
    argv = KNOWN_EXECUTABLES.has(args[0]) && !args[0].startsWith('-') ? args : ['node', ...args];
  else argv = ['node'];
  while (argv.length > 0 && ENTRYPOINTS.has(argv[0])) argv = argv.slice(1);
  if (argv.length === 0) argv = ['node'];
  argv = argv.map((a) => rewritePaths(expandRefs(a, env), mounts));
  if (NODE_BINARIES.has(argv[0])) argv[0] = process.execPath;
  return argv;
}
