/**
 * A local TCP listener on 127.0.0.1 (port chosen by the OS) that stays up for
 * the life of the command; every local connection becomes one pod
 * port-forward stream. When a forward cannot be opened (pod replaced, API
 * server hiccup) it is retried with bounded exponential backoff, re-resolving
 * the pod by label; when an open forward drops, the local connection closes and
 * the client (e.g. SinkClient resuming its feed from the last seq) simply
 * connects again and gets a fresh forward.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { sleep, type Clock } from '../../../src/clock.ts';
import { backoffDelay } from '../../../src/limits/backoff.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { openPortForward, type ForwardStream, type PortForwardRequest } from './port-forward.ts';
import { errorMessage } from '../../../src/guards.ts';

/** Retry schedule for opening a forward: fast first retry, capped, and a deadline so a dead sink fails the command. */
export const DEFAULT_RETRY = Object.freeze({ initialMs: 100, maxMs: 2_000, deadlineMs: 30_000 });

export type TunnelEvent =
  | { type: 'forward-error'; pod: string; attempt: number; error: string }
  | { type: 'dropped'; pod: string; error: string }
  | { type: 'pod-replaced'; from: string; to: string }
  | { type: 'gave-up'; pod: string; error: string };

export interface TunnelOptions {
  /** Pod the tunnel starts with. */
  pod: string;
  /** Remote port in the pod. */
  port: number;
  /** URL and auth for a port-forward to `pod` (from the adapter). */
  request(pod: string): Promise<PortForwardRequest>;
  /** A ready pod to use instead of `previous` (the same one if it is still fine), or undefined. */
  resolvePod(previous: string): Promise<string | undefined>;
  retry?: { initialMs?: number; maxMs?: number; deadlineMs?: number };
  keepaliveMs?: number;
  onEvent?: (event: TunnelEvent) => void;
  /** Clock for the retry waits and the deadline (default: real time). */
  clock?: Clock;
}

export interface TunnelStats {
  connections: number;
  forwardErrors: number;
  drops: number;
  podChanges: number;
}

export class Tunnel {
  private readonly options: TunnelOptions;
  private readonly server: Server;
  private readonly streams = new Set<ForwardStream>();
  private readonly sockets = new Set<Socket>();
  private readonly closing = new AbortController();
  private currentPod: string;
  /** A pod look-up in flight (after a drop or a failed open); new connections wait for it. */
  private refreshing: Promise<void> | undefined;
  readonly stats: TunnelStats = { connections: 0, forwardErrors: 0, drops: 0, podChanges: 0 };

  private constructor(options: TunnelOptions) {
    this.options = options;
    this.currentPod = options.pod;
    this.server = createServer({ pauseOnConnect: true }, (socket) => {
      void this.handle(socket);
    });
  }

  /** Starts listening on 127.0.0.1:0. */
  static async open(options: TunnelOptions): Promise<Tunnel> {
    const tunnel = new Tunnel(options);
    await new Promise<void>((resolve, reject) => {
      tunnel.server.once('error', reject);
      tunnel.server.listen(0, '127.0.0.1', () => {
        tunnel.server.off('error', reject);
        resolve();
      });
    });
    return tunnel;
  }

  get pod(): string {
    return this.currentPod;
  }
  get host(): string {
    return '127.0.0.1';
  }
  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  private emit(event: TunnelEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      /* observers never break the tunnel */
    }
  }

  private async handle(socket: Socket): Promise<void> {
    this.stats.connections++;
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.sockets.delete(socket));
    const retry = { ...DEFAULT_RETRY, ...this.options.retry };
    const clock = this.options.clock ?? systemClock;
    const deadline = clock.now() + retry.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      if (this.refreshing) await this.refreshing;
      if (this.closing.signal.aborted || socket.destroyed) {
        socket.destroy();
        return;
      }
      const pod = this.currentPod;
      try {
        const stream = await openPortForward(await this.options.request(pod), socket, {
          keepaliveMs: this.options.keepaliveMs,
        });
        this.streams.add(stream);
        const { error } = await stream.closed;
        this.streams.delete(stream);
        if (error && !this.closing.signal.aborted) {
          this.stats.drops++;
          this.emit({ type: 'dropped', pod, error: error.message });
          // A forward that the server accepted can still fail: a Terminating pod takes the upgrade and
          // then reports "connection refused" on the error channel. Look for the pod again now, or every
          // reconnect would return to it.
          void this.refresh(pod);
        }
        return;
      } catch (err) {
        this.stats.forwardErrors++;
        const message = errorMessage(err);
        this.emit({ type: 'forward-error', pod, attempt, error: message });
        const delay = backoffDelay(attempt, {
          baseMs: retry.initialMs,
          maxMs: retry.maxMs,
          jitter: 'none',
        });
        if (clock.now() + delay > deadline) {
          this.emit({ type: 'gave-up', pod, error: message });
          socket.destroy();
          return;
        }
        // Closing the tunnel ends the wait early; the loop then sees it and stops.
        await sleep(clock, delay, this.closing.signal).catch(() => undefined);
        // A refused upgrade (404: the pod is gone) or repeated failures: look for the pod again.
        await this.refresh(pod);
      }
    }
  }

  /** Asks the resolver for a ready pod in place of `pod` (once at a time); switches to it. */
  private refresh(pod: string): Promise<void> {
    if (pod !== this.currentPod) return Promise.resolve();
    this.refreshing ??= (async () => {
      const next = await this.options.resolvePod(pod).catch(() => undefined);
      if (next && next !== this.currentPod && pod === this.currentPod) {
        this.stats.podChanges++;
        this.emit({ type: 'pod-replaced', from: this.currentPod, to: next });
        this.currentPod = next;
      }
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Stops listening and closes every forward. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    for (const s of this.streams) s.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
