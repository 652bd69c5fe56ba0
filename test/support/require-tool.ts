/**
 * Tests that need a program the README's set-up does not install (swaks, chromium,
 * redis-server) call requireTool() in a `before` hook. Where the program is missing,
 * the tests skip with a printed reason, so `npm test` passes on a fresh machine; with
 * CI=true a missing program fails the hook instead, because .ci/run installs it and a
 * silent skip there would hide a broken install step.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The absolute path of `name` on PATH (or one of `extra` absolute paths), or undefined. */
export function findTool(name: string, extra: readonly string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...dirs.map((dir) => join(dir, name)), ...extra]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Returns the tool's path, or skips the calling suite (prints why), or, with CI=true,
 * throws so the run fails. `debianPackage` names what .ci/run installs.
 */
export function requireTool(
  ctx: Mocha.Context,
  name: string,
  debianPackage: string,
  extra: readonly string[] = [],
): string {
  const found = findTool(name, extra);
  if (found !== undefined) return found;
  const reason = `${name} is not installed (Debian package ${debianPackage}; .ci/run installs it)`;
  if (process.env.CI === 'true')
    throw new Error(`${reason}: with CI=true these tests must run, not skip`);
  process.stdout.write(`      skipped: ${reason}\n`);
  ctx.skip();
}
