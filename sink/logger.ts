/**
 * The sink's structured logger: one JSON object per line (time, level, msg,
 * fields). Callers never pass tokens or passwords; the logger does not filter.
 */
import type { Logger } from './types.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS = Object.freeze(Object.keys(LEVELS) as LogLevel[]);

export interface LineSink {
  write(line: string): unknown;
}

/** A JSON-lines logger writing to `out` (stdout in the sink process). */
export function createJsonLogger(
  options: { level?: LogLevel; out?: LineSink; now?: () => Date } = {},
): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const out = options.out ?? process.stdout;
  const now = options.now ?? (() => new Date());
  const emit = (
    level: Exclude<LogLevel, 'silent'>,
    msg: string,
    fields?: Record<string, unknown>,
  ): void => {
    if (LEVELS[level] < threshold) return;
    let line: string;
    try {
      line = JSON.stringify({ time: now().toISOString(), level, msg, ...fields });
    } catch {
      line = JSON.stringify({
        time: now().toISOString(),
        level,
        msg,
        fieldsError: 'unserialisable fields',
      });
    }
    out.write(line + '\n');
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** The default of the embedded sink: logs nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});
