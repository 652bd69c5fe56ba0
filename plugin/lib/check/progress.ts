import type { Counts } from '../../../src/check/engine.ts';
import type { ReadProgress } from './input.ts';

/** Redraws per second: smooth enough, and cheap next to 300k checks/s. */
export const PROGRESS_FPS = 4;
/** Characters kept for the text after the bar (" 100% 1,000,000 checked, 300,000/s ETA 0:00:00" fits). */
export const PROGRESS_TAIL_CHARS = 50;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

/** The progress line on a terminal: bar (when the input size is known), counts, rate, ETA. */
export function renderProgress(
  counts: Counts,
  read: ReadProgress,
  totalBytes: number | null,
  elapsedMs: number,
  width: number,
): string {
  const rate = elapsedMs > 0 ? (counts.read * 1000) / elapsedMs : 0;
  const stats = `${counts.written.toLocaleString('en-US')} checked, ${Math.round(rate).toLocaleString('en-US')}/s`;
  if (totalBytes === null || totalBytes === 0) return `${stats}`.slice(0, width);
  const frac = Math.min(1, read.bytes / totalBytes);
  const eta = frac > 0 ? ((elapsedMs / 1000) * (1 - frac)) / frac : Number.NaN;
  const tail = ` ${(frac * 100).toFixed(0).padStart(3)}% ${stats} ETA ${fmtDuration(eta)}`;
  // Room for the longest usual tail, so the bar keeps its width while the numbers grow.
  const barWidth = Math.max(
    10,
    Math.min(40, width - Math.max(tail.length, PROGRESS_TAIL_CHARS) - 2),
  );
  const filled = Math.round(frac * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail}`.slice(0, width);
}

/** Starts redrawing on `stream` (a TTY); returns a stop function that clears the line. */
export function startProgress(
  stream: NodeJS.WriteStream,
  counts: Counts,
  read: ReadProgress,
  totalBytes: number | null,
  now: () => number,
): () => void {
  const started = now();
  const draw = (): void => {
    stream.write(
      `\r${renderProgress(counts, read, totalBytes, now() - started, (stream.columns || 80) - 1)}\u001b[K`,
    );
  };
  const timer = setInterval(draw, 1000 / PROGRESS_FPS);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write('\r\u001b[K');
  };
}
