/**
 * "Did you mean …?" for mistyped commands and flags: the closest known name
 * by edit distance (insertions, deletions, substitutions and swaps of two
 * neighbours), if it is close enough to be a typo rather than another word.
 */

/** Edit distance of `a` and `b` (optimal string alignment: a swap of neighbours costs 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2][j - 2] + 1);
      d[i][j] = best;
    }
  }
  return d[a.length][b.length];
}

/** Longest word compared: names here are short; a longer input is not a typo of one. */
const MAX_TYPO_CHARS = 64;

/** The candidate closest to `typed`, when at most a third of its letters (at least 2) differ; else null. */
export function closest(typed: string, candidates: readonly string[]): string | null {
  if (typed.length === 0 || typed.length > MAX_TYPO_CHARS) return null;
  const wanted = typed.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.floor(typed.length / 3));
  return best !== null && bestDistance > 0 && bestDistance <= allowed ? best : null;
}

/**
 * The command a user meant by the words they typed (`mesages list`), among
 * command ids written with spaces (`messages list`). Typed words after the
 * command are arguments, so each command is compared with as many typed
 * words as it has.
 */
export function closestCommand(
  typedWords: readonly string[],
  commands: readonly string[],
): string | null {
  let best: string | null = null;
  let bestScore = Infinity;
  for (const command of commands) {
    const words = command.split(' ');
    if (typedWords.length < words.length) continue;
    const typed = typedWords.slice(0, words.length).join(' ');
    const hit = closest(typed, [command]);
    if (hit === null) continue;
    const score = editDistance(typed.toLowerCase(), command.toLowerCase());
    if (score < bestScore) {
      best = command;
      bestScore = score;
    }
  }
  return best;
}

/** Hint for unknown flags (`--tooo`, `-x`) given the command's flags: "did you mean --to?" or null. */
export function flagHint(
  unknown: readonly string[],
  flags: Record<string, { char?: string; aliases?: string[]; hidden?: boolean }>,
): string | null {
  const names = Object.entries(flags)
    .filter(([, f]) => !f.hidden)
    .flatMap(([name, f]) => [name, ...(f.aliases ?? [])]);
  const guesses: string[] = [];
  for (const raw of unknown) {
    const bare = raw.replace(/^-+/, '').split('=')[0];
    const guess = raw.startsWith('--') ? closest(bare, names) : null;
    if (guess !== null) guesses.push(`--${guess}`);
  }
  return guesses.length > 0
    ? `did you mean ${guesses.join(', ')}? (see --help for all flags)`
    : null;
}
