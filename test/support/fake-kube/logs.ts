/**
 * Bounded capture of a container's stdout+stderr for `pods/log`, with
 * followers for `?follow=true`.
 */

/** Bytes of log kept per container run; older output is dropped like a rotated log. */
export const MAX_LOG_BYTES = 2 * 1024 * 1024;

export class LogBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly followers = new Set<(chunk: Buffer | null) => void>();
  private ended = false;

  append(chunk: Buffer): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > MAX_LOG_BYTES && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.size -= dropped?.length ?? 0;
    }
    if (this.size > MAX_LOG_BYTES && this.chunks.length === 1) {
      this.chunks[0] = this.chunks[0].subarray(this.chunks[0].length - MAX_LOG_BYTES);
      this.size = this.chunks[0].length;
    }
    for (const f of this.followers) f(chunk);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const f of this.followers) f(null);
    this.followers.clear();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  contents(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Subscribe to new output; `null` means the run ended. Returns an unsubscribe. */
  follow(fn: (chunk: Buffer | null) => void): () => void {
    if (this.ended) {
      fn(null);
      return () => undefined;
    }
    this.followers.add(fn);
    return () => this.followers.delete(fn);
  }
}

/** Apply `tailLines` and `limitBytes` the way the kubelet does. */
export function sliceLog(
  text: Buffer,
  tailLines: number | undefined,
  limitBytes: number | undefined,
): Buffer {
  let out = text;
  if (tailLines !== undefined && tailLines >= 0) {
    const s = out.toString('utf8');
    const lines = s.split('\n');
    const trailing = s.endsWith('\n');
    const body = trailing ? lines.slice(0, -1) : lines;
    const kept = tailLines === 0 ? [] : body.slice(-tailLines);
    out = Buffer.from(kept.length > 0 ? `${kept.join('\n')}${trailing ? '\n' : ''}` : '');
  }
  if (limitBytes !== undefined && limitBytes > 0 && out.length > limitBytes)
    out = out.subarray(0, limitBytes);
  return out;
}
