/**
 * One SIGINT/SIGTERM handler for the whole CLI, with a registry of cleanups.
 *
 * First Ctrl-C: abort {@link InterruptHandler.signal} (waits stop), run the
 * registered cleanups newest first, exit 130. Second Ctrl-C while cleaning up:
 * exit at once, printing what was left behind and the `gc` command that
 * removes it. Commands register what they create and unregister it once it is
 * meant to stay (e.g. `up` succeeded).
 */
import { EXIT } from '../../src/errors.ts';
import { errorMessage } from '../../src/guards.ts';

export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface InterruptHandlerOptions {
  source?: SignalSource;
  stderr?: { write(text: string): unknown };
  exit?: (code: number) => void;
  /** The command that removes leftovers, printed on a forced exit. */
  gcCommand?: string;
}

interface Entry {
  id: number;
  label: string;
  run: () => Promise<void>;
}

export class InterruptHandler {
  private readonly source: SignalSource;
  private readonly stderr: { write(text: string): unknown };
  private readonly exit: (code: number) => void;
  private readonly gcCommand: string;
  private readonly entries: Entry[] = [];
  private controller = new AbortController();
  private nextId = 1;
  private signals = 0;
  private installed = false;
  private firstSignal: NodeJS.Signals | null = null;
  private finishes = false;
  private readonly listener = (signal: NodeJS.Signals) => {
    void this.onSignal(signal);
  };

  constructor(options: InterruptHandlerOptions = {}) {
    this.source = options.source ?? process;
    this.stderr = options.stderr ?? process.stderr;
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.gcCommand = options.gcCommand ?? 'kubectl email-validate gc';
  }

  /** Aborted at the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Labels of what would be cleaned up now. */
  pending(): string[] {
    return this.entries.map((e) => e.label);
  }

  /** The exit code the first signal asks for: 130 for SIGINT (Ctrl-C), 143 for SIGTERM; null before any. */
  get exitCode(): number | null {
    if (this.firstSignal === null) return null;
    return this.firstSignal === 'SIGTERM' ? EXIT.TERMINATED : EXIT.INTERRUPTED;
  }

  /**
   * For commands that report what they did before stopping (send, run, check):
   * the first signal aborts {@link signal} and runs the cleanups but does not
   * exit; the command prints its partial report and exits with {@link exitCode}.
   * A second signal still exits at once.
   */
  letCommandFinish(): this {
    this.finishes = true;
    return this;
  }

  /** Starts listening (idempotent). */
  install(): this {
    if (!this.installed) {
      this.source.on('SIGINT', this.listener);
      this.source.on('SIGTERM', this.listener);
      this.installed = true;
    }
    return this;
  }

  uninstall(): void {
    if (!this.installed) return;
    this.source.off('SIGINT', this.listener);
    this.source.off('SIGTERM', this.listener);
    this.installed = false;
  }

  /** Registers a cleanup; the returned function unregisters it (without running it). */
  register(label: string, run: () => Promise<void>): () => void {
    const id = this.nextId++;
    this.entries.push({ id, label, run });
    return () => {
      // After a signal the handler owns the cleanups: they stay listed until done.
      if (this.signals > 0) return;
      const i = this.entries.findIndex((e) => e.id === id);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  /**
   * For a command's error path: after a signal, the failure is just the
   * interruption surfacing; wait (forever) while the handler cleans up and
   * exits, instead of letting the command exit first. Otherwise returns at once.
   */
  async holdIfInterrupted(): Promise<void> {
    if (this.signals > 0) await new Promise<never>(() => {});
  }

  /** Runs every registered cleanup, newest first; failures are reported, not thrown. */
  async runCleanups(): Promise<void> {
    while (this.entries.length) {
      const entry = this.entries[this.entries.length - 1];
      try {
        await entry.run();
      } catch (err) {
        this.stderr.write(`warning: cleanup of ${entry.label} failed: ${errorMessage(err)}\n`);
        this.stderr.write(`hint: remove it later with \`${this.gcCommand}\`.\n`);
      }
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    }
  }

  private async onSignal(signal: NodeJS.Signals): Promise<void> {
    this.signals++;
    if (this.signals > 1) {
      const left = this.pending();
      if (left.length) {
        this.stderr.write(
          `\nexiting without finishing the cleanup; left behind: ${left.join(', ')}\n`,
        );
        // `gc` only takes what has expired, and `down --all` would take other people's sinks too.
        const ns =
          left.map((l) => /namespace (\S+)/.exec(l)?.[1]).find((n) => n !== undefined) ??
          'NAMESPACE';
        this.stderr.write(
          `hint: \`${this.gcCommand}\` removes it once its TTL has passed; to remove it now: \`kubectl email-validate down ${ns}\`.\n`,
        );
      }
      this.exit(this.exitCode ?? EXIT.INTERRUPTED);
      return;
    }
    this.firstSignal = signal;
    this.controller.abort(new Error(`interrupted by ${signal}`));
    if (this.finishes) {
      // The command reports first, then releases what it opened in its own finally blocks.
      if (this.entries.length)
        this.stderr.write(
          `\ninterrupted: cleaning up ${this.pending().join(', ')} after the report (press Ctrl-C again to exit at once)\n`,
        );
      return;
    }
    if (this.entries.length)
      this.stderr.write(
        `\ninterrupted: cleaning up ${this.pending().join(', ')} (press Ctrl-C again to exit at once)\n`,
      );
    await this.runCleanups();
    this.exit(this.exitCode ?? EXIT.INTERRUPTED);
  }
}

/** The process-wide handler. */
export const interrupts = new InterruptHandler();
