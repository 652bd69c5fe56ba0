/**
 * What mutation testing leaves out, shared by stryker.config.mjs (which mutates `src/` and
 * `sink/` minus these) and scores.ts (which leaves them out of the figures).
 */

/** Modules that are I/O glue (servers, processes, sockets, the clock itself): mutating them is for the integration suite. */
export const IO_GLUE: readonly string[] = [
  'sink/ui/**',
  'sink/main.ts',
  'sink/index.ts',
  'sink/sink.ts',
  'sink/listen.ts',
  'sink/smtp-server.ts',
  'sink/smtp-front.ts',
  'sink/smtp-tls.ts',
  'sink/parse-worker.ts',
  'src/system-clock.ts',
  'sink/logger.ts',
  'sink/types.ts',
  'sink/http/api-server.ts',
  'src/clock.ts',
  // Talk to Redis (commands and Lua scripts): tested against a real redis-server by the
  // check --in-cluster integration tests, which run them in other processes (no mutant reaches them).
  'src/limits/redis-permits.ts',
  'src/check-cluster/redis-run.ts',
  'src/check-cluster/scripts.ts',
  'src/check-cluster/shared-dns.ts',
  'src/check-cluster/shared-catch-all.ts',
  '**/*.d.ts',
];

/**
 * A developer's glob (`src/address/**\/*.ts`, `src/*.ts`, `sink/ui/**`, a file path) as a test
 * on a path: `**\/` is any number of folders, a final `**` anything below, `*` anything within
 * one name.
 */
export function globTest(glob: string): (file: string) => boolean {
  const parts = glob.split(/(\*\*\/|\*\*|\*)/);
  const body = parts
    .map((p) =>
      p === '**/'
        ? '(?:[^/]+/)*'
        : p === '**'
          ? '.*'
          : p === '*'
            ? '[^/]*'
            : p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const re = new RegExp(`^${body}$`);
  return (file) => re.test(file);
}
