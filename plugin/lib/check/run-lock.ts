/**
 * One run per `--state` / `--out` file at a time.
 *
 * Two runs on the same files used to interleave their writes silently (both
 * exit 0, hundreds of thousands of duplicated and missing results). A run
 * now holds `FILE.lock` for each file it writes: created with O_EXCL (atomic
 * on local file systems on Linux and macOS, no fcntl), holding the pid, host
 * and start time. A second run is refused with EV_ERR_STATE_LOCKED naming
 * the holder.
 *
 * Why not an fcntl/flock lock: Node has no API for it. Why this survives
 * `kill -9`: a lock whose holder is on this host and no longer alive is
 * stale and is taken over. Breaking a stale lock renames it to a unique name
 * first (only one racer can rename a given file), then re-reads it: if the
 * renamed file is not the stale one that was seen, it was a fresh lock taken
 * in between, and it is put back with link() (which never overwrites).
 */

import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { evError } from '../../../src/errors.ts';
import { errorCode, errorMessage } from '../../../src/guards.ts';

/** Largest lock file read: it holds one short JSON object; anything longer is not ours. */
export const MAX_LOCK_BYTES = 4096;
/** An unreadable lock file older than this is stale: its holder was killed between creating and writing it. */
export const TORN_LOCK_GRACE_MS = 10_000;
/** Attempts to take a lock while stale ones are broken under us: bounded so two racers cannot loop forever. */
export const LOCK_ATTEMPTS = 5;

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder started. */
  started: string;
  /** Random, to tell one holder's lock file from another's with the same pid. */
  token: string;
}

export interface RunLockOptions {
  /** Now, as an ISO string (injectable for tests). */
  now?: () => string;
  pid?: number;
  host?: string;
  /** Whether a process is alive on this host (default: `process.kill(pid, 0)`). */
  alive?: (pid: number) => boolean;
}

export interface RunLock {
  readonly paths: string[];
  /** Removes the lock files this run holds (idempotent, never throws). */
  release(): void;
}

function defaultAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errorCode(err) === 'EPERM';
  }
}

function readHolder(lockPath: string): LockHolder | null {
  let text: string;
  try {
    const buf = readFileSync(lockPath);
    if (buf.length > MAX_LOCK_BYTES) return null;
    text = buf.toString('utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw err;
    return null;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (
      Number.isSafeInteger(h.pid) &&
      typeof h.host === 'string' &&
      typeof h.started === 'string' &&
      typeof h.token === 'string'
    )
      return h as LockHolder;
  } catch {
    /* an empty or torn lock file: killed between create and write */
  }
  return null;
}

function describe(h: LockHolder | null): string {
  return h === null
    ? 'a process whose lock file is unreadable'
    : `pid ${h.pid} on ${h.host}, started ${h.started}`;
}

/**
 * Takes the lock of every path in `files` (e.g. the state file and the
 * output), or throws EV_ERR_STATE_LOCKED and holds none.
 */
export function acquireRunLock(files: string[], options: RunLockOptions = {}): RunLock {
  const me: LockHolder = {
    pid: options.pid ?? process.pid,
    host: options.host ?? hostname(),
    started: (options.now ?? (() => new Date().toISOString()))(),
    token: randomBytes(8).toString('hex'),
  };
  const alive = options.alive ?? defaultAlive;
  const held: string[] = [];
  const release = (): void => {
    for (const p of held.splice(0)) {
      try {
        const h = readHolder(p);
        if (h !== null && h.token === me.token) unlinkSync(p);
      } catch {
        /* already gone */
      }
    }
  };
  try {
    // Only files a run could corrupt: /dev/null, a FIFO or a terminal needs no lock (and /dev takes none).
    for (const file of [...new Set(files)].filter(lockable)) {
      const lockPath = `${file}.lock`;
      takeOne(lockPath, file, me, alive);
      held.push(lockPath);
    }
  } catch (err) {
    release();
    throw err;
  }
  return { paths: [...held], release };
}

function lockable(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return true; // not there yet: the run creates it
  }
}

function takeOne(
  lockPath: string,
  file: string,
  me: LockHolder,
  alive: (pid: number) => boolean,
): void {
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o644);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code !== 'EEXIST') {
        // The file itself could not be written there either: say so about the file, not the lock.
        throw evError(
          'EV_ERR_INVALID_OPTION',
          `cannot write ${file}: ${code ?? errorMessage(err)}${code === 'ENOENT' || code === 'ENOTDIR' ? ' (no such directory)' : ''}`,
          { hint: 'check that the directory exists and is writable' },
        );
      }
    }
    let holder: LockHolder | null;
    try {
      holder = readHolder(lockPath);
    } catch {
      continue; // released meanwhile: try again
    }
    const stale =
      holder === null ? tornAndOld(lockPath) : holder.host === me.host && !alive(holder.pid);
    if (!stale) {
      throw evError(
        'EV_ERR_STATE_LOCKED',
        `${file} is in use by another run (${describe(holder)}; lock ${lockPath})`,
        {
          hint:
            holder !== null && holder.host !== me.host
              ? `wait for that run to finish; if it is gone for good, delete ${lockPath}`
              : `wait for that run to finish or stop it, then run again; if no such run exists, delete ${lockPath}`,
        },
      );
    }
    breakStale(lockPath, holder);
  }
  throw evError('EV_ERR_STATE_LOCKED', `cannot lock ${file}: other runs keep taking ${lockPath}`, {
    hint: 'start one run at a time on the same --state / --out',
  });
}

function tornAndOld(lockPath: string): boolean {
  try {
    return Date.now() - statSync(lockPath).mtimeMs > TORN_LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

function breakStale(lockPath: string, seen: LockHolder | null): void {
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return; // someone else broke or released it: try again
  }
  let moved: LockHolder | null = null;
  try {
    moved = readHolder(aside);
  } catch {
    /* vanished */
  }
  if (moved !== null && moved.token !== seen?.token) {
    // A fresh lock was taken between our read and our rename: put it back.
    try {
      linkSync(aside, lockPath);
    } catch {
      /* a third run holds it now; ours failed anyway */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* gone */
  }
}
