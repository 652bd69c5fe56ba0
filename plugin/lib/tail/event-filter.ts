import { evError } from '../../../src/errors.ts';
import {
  compileValueMatcher as compileMatcher,
  PatternError,
  type ValueMatcher,
} from '../../../src/match/value-matcher.ts';
import { SINK_EVENT_TYPES, type SinkEvent, type SinkEventType } from '../../../src/protocol.ts';
import type { SinceSpec } from '../render/since.ts';

/** Longest --to/--from/--subject value accepted on the command line: a guard against pasted junk. */
export const MAX_PATTERN_CHARS = 1000;

/** Message ids remembered to let follow-up events (analyzed, evicted, deleted) of a matching message through. */
export const MAX_REMEMBERED_IDS = 10_000;

/** Short names accepted by `--type`, besides the full event type. */
export const TYPE_ALIASES: Readonly<Record<string, SinkEventType>> = Object.freeze({
  received: 'message.received',
  rejected: 'message.rejected',
  deferred: 'message.deferred',
  bounced: 'message.bounced',
  analyzed: 'message.analyzed',
  evicted: 'message.evicted',
  deleted: 'message.deleted',
  cleared: 'messages.cleared',
  rules: 'rules.updated',
  webhook: 'webhook.sent',
  auth: 'auth.failed',
  released: 'message.released',
  gap: 'gap',
});

/** What a filter flag compiles to (src/match/value-matcher.ts: text, or /…/ for an expression). */
export type { ValueMatcher };

/** The validated, compiled form of tail's filter flags. */
export interface EventFilterSpec {
  to?: ValueMatcher;
  from?: ValueMatcher;
  subject?: ValueMatcher;
  types?: ReadonlySet<SinkEventType>;
  /** Only events at or after this time (ms since epoch), from `--since DURATION`. */
  notBefore?: number;
}

/**
 * Compiles --to, --from or --subject with the one matcher rule shared by
 * tail, messages list, the sink's API and flows (plain text: a
 * case-insensitive substring; `/…/`: a case-insensitive RE2 expression), or
 * fails with a usage error naming the flag, before any connection is made.
 */
export function compileValueMatcher(
  flag: string,
  source: string | undefined,
): ValueMatcher | undefined {
  if (source === undefined) return undefined;
  if (source.length > MAX_PATTERN_CHARS) {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `${flag} is longer than ${MAX_PATTERN_CHARS} characters`,
      { hint: 'use a shorter text or expression' },
    );
  }
  try {
    return compileMatcher(source);
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    const why = err.kind === 'invalid' ? err.reason : `it ${err.reason}`;
    throw evError('EV_ERR_INVALID_OPTION', `${flag} is not a valid regular expression: ${why}`, {
      hint: `${flag} '/…/' takes a regular expression (RE2 syntax: no backreferences or lookaround), e.g. ${flag} '/^user\\+/' (quote it for your shell); without slashes it is plain text`,
    });
  }
}

/** Maps `--type` values (short or full names, comma-separated allowed) to event types. */
export function parseTypes(
  values: readonly string[] | undefined,
): ReadonlySet<SinkEventType> | undefined {
  if (!values || values.length === 0) return undefined;
  const out = new Set<SinkEventType>();
  for (const raw of values.flatMap((v) => v.split(','))) {
    const name = raw.trim();
    if (name === '') continue;
    const type =
      TYPE_ALIASES[name] ?? (SINK_EVENT_TYPES as readonly string[]).find((t) => t === name);
    if (!type) {
      throw evError('EV_ERR_INVALID_OPTION', `--type "${name}" is not an event type`, {
        hint: `use one of: ${Object.keys(TYPE_ALIASES).join(', ')} (or the full names, e.g. message.received)`,
      });
    }
    out.add(type);
  }
  return out.size > 0 ? out : undefined;
}

/** Builds the spec from raw flag values, validating everything before any connection is made. */
export function buildFilterSpec(
  flags: { to?: string; from?: string; subject?: string; type?: string[] },
  since: SinceSpec,
  now: number,
): EventFilterSpec {
  const spec: EventFilterSpec = {};
  const to = compileValueMatcher('--to', flags.to);
  const from = compileValueMatcher('--from', flags.from);
  const subject = compileValueMatcher('--subject', flags.subject);
  const types = parseTypes(flags.type);
  if (to) spec.to = to;
  if (from) spec.from = from;
  if (subject) spec.subject = subject;
  if (types) spec.types = types;
  if (since.kind === 'duration') spec.notBefore = now - since.ms;
  return spec;
}

interface Fields {
  from: string[];
  to: string[];
  subject: string | null;
  id: string | null;
}

function fieldsOf(event: SinkEvent): Fields | null {
  switch (event.type) {
    case 'message.received': {
      const m = event.data;
      return {
        from: [m.envelope.mailFrom?.address ?? '', m.from ?? ''].filter(Boolean),
        to: [...m.envelope.rcptTo.map((r) => r.address), ...m.to],
        subject: m.subject,
        id: m.id,
      };
    }
    case 'message.rejected':
    case 'message.deferred': {
      const d = event.data;
      return { from: d.from ? [d.from] : [], to: d.to ? [d.to] : [], subject: null, id: null };
    }
    case 'message.bounced': {
      const d = event.data;
      return {
        from: d.sender ? [d.sender] : [],
        to: [d.recipient],
        subject: null,
        id: d.messageId,
      };
    }
    default:
      return null;
  }
}

/**
 * Decides which events `tail` prints. Gap events always pass: losing events
 * must never be silent. Events about a message that only carry its id
 * (analyzed, evicted, deleted) pass when that message passed.
 */
export class EventFilter {
  readonly #spec: EventFilterSpec;
  readonly #byContent: boolean;
  readonly #ids = new Set<string>();

  constructor(spec: EventFilterSpec) {
    this.#spec = spec;
    this.#byContent = Boolean(spec.to || spec.from || spec.subject);
  }

  matches(event: SinkEvent): boolean {
    if (event.type === 'gap') return true;
    const spec = this.#spec;
    if (spec.notBefore !== undefined) {
      const t = Date.parse(event.time);
      if (!Number.isNaN(t) && t < spec.notBefore) return false;
    }
    const typeOk = !spec.types || spec.types.has(event.type);
    if (!this.#byContent) return typeOk;
    const fields = fieldsOf(event);
    if (fields === null) {
      const id = (event.data as { id?: unknown }).id;
      return typeOk && typeof id === 'string' && this.#ids.has(id);
    }
    const ok =
      (!spec.to || fields.to.some((a) => spec.to!.test(a))) &&
      (!spec.from || fields.from.some((a) => spec.from!.test(a))) &&
      (!spec.subject || (fields.subject !== null && spec.subject.test(fields.subject)));
    if (ok && fields.id) this.#remember(fields.id);
    return ok && typeOk;
  }

  #remember(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > MAX_REMEMBERED_IDS) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }
}
