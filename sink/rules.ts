/**
 * The rules in force, plus the state they need (greylisting counters), and the
 * built-in conventions that work without any configuration:
 *
 * - a recipient whose local part starts with `bounce` is rejected at RCPT with 550 5.1.1;
 * - one starting with `defer` gets 451 4.7.1 on its first attempt, then is accepted;
 * - one starting with `asyncbounce` is accepted, then bounced with a DSN.
 *
 * User rules are checked first, in file order; the first terminal action
 * (reject, defer, disconnect) wins; delays of all matching rules add up.
 */
import { EMPTY_RULE_SET, MAX_RULE_DELAY_MS, matchRule, parseRules } from '../src/rules-schema.ts';
import type {
  MatchInput,
  Rule,
  RuleSet,
  WebhookEvent,
  WebhookFormat,
} from '../src/rules-schema.ts';
import type { SmtpStage } from '../src/protocol.ts';
import type { RulesController } from './types.ts';

/** Sender/recipient pairs remembered for greylisting; the oldest are forgotten first. */
export const MAX_GREYLIST_ENTRIES = 100_000;

export const BUILTIN_BOUNCE = 'builtin:bounce';
export const BUILTIN_DEFER = 'builtin:defer';
export const BUILTIN_ASYNCBOUNCE = 'builtin:asyncbounce';

export type Verdict =
  | { kind: 'reject'; code: number; enhancedCode: string; text: string; rule: string }
  | { kind: 'defer'; code: number; enhancedCode: string; text: string; rule: string }
  | { kind: 'disconnect'; rule: string };

export interface StageDecision {
  /** Milliseconds to wait before answering (sum of matching delay rules). */
  delayMs: number;
  /** Null: accept. */
  verdict: Verdict | null;
}

export interface BouncePlan {
  recipient: string;
  status: string;
  diagnostic: string;
  rule: string;
}

export interface WebhookPlan {
  recipient: string;
  url: string;
  format: WebhookFormat;
  event: WebhookEvent;
  rule: string;
}

export interface AcceptedPlan {
  bounces: BouncePlan[];
  webhooks: WebhookPlan[];
}

/** The decision when no rule applies: one shared object (evaluate runs for every SMTP command). */
const NO_DECISION: StageDecision = Object.freeze({ delayMs: 0, verdict: null });
/** The plan when nothing follows an accepted message: one shared object (callers only read plans). */
const NO_PLAN: AcceptedPlan = Object.freeze({ bounces: [], webhooks: [] });

export class RulesEngine implements RulesController {
  #set: RuleSet = EMPTY_RULE_SET;
  /** Rule sets layered after the user's, by name (MailHog's Jim, Mailpit's chaos); never shown as the user's rules. */
  readonly #overlays = new Map<string, readonly Rule[]>();
  /** User rules then overlay rules, built once per change (evaluate runs for every SMTP command). */
  #all: readonly Rule[] = [];
  /** Stages that some rule of #all answers at (not bounce/webhook rules): the others skip the loop. */
  #stages: ReadonlySet<SmtpStage> = new Set();
  /** Whether a user rule bounces or calls a webhook after acceptance. */
  #acceptRules = false;
  readonly #fileName: string;
  readonly #random: () => number;
  readonly #greylist = new Map<string, number>();
  readonly #onReplace: ((count: number) => void) | undefined;

  constructor(
    options: {
      source?: string;
      fileName?: string;
      random?: () => number;
      onReplace?: (count: number) => void;
    } = {},
  ) {
    this.#fileName = options.fileName ?? 'rules';
    this.#random = options.random ?? Math.random;
    if (options.source !== undefined) this.#set = parseRules(options.source, this.#fileName);
    this.#onReplace = options.onReplace;
    this.#rebuild();
  }

  source(): string {
    return this.#set.source;
  }

  count(): number {
    return this.#set.rules.length;
  }

  get rules(): readonly Rule[] {
    return this.#set.rules;
  }

  replace(yamlSource: string): void {
    this.#set = parseRules(yamlSource, this.#fileName);
    this.#rebuild();
    this.#onReplace?.(this.#set.rules.length);
  }

  /** Replaces the overlay set `name` (null removes it); validated like a rules file of that name. */
  overlay(yamlSource: string | null, name = 'overlay'): void {
    if (yamlSource === null) this.#overlays.delete(name);
    else this.#overlays.set(name, parseRules(yamlSource, name).rules);
    this.#rebuild();
  }

  #rebuild(): void {
    this.#all = [...this.#set.rules, ...[...this.#overlays.values()].flat()];
    const answering = (r: Rule) => r.action.kind !== 'bounce' && r.action.kind !== 'webhook';
    this.#stages = new Set(this.#all.filter(answering).map((r) => r.stage));
    this.#acceptRules = this.#set.rules.some((r) => !answering(r));
  }

  /** What to do at a stage before an SMTP reply (connect, mail, rcpt, data, end). */
  evaluate(stage: SmtpStage, input: MatchInput): StageDecision {
    if (!this.#stages.has(stage)) {
      const builtin = stage === 'rcpt' ? this.#builtinAtRcpt(input) : null;
      return builtin === null ? NO_DECISION : { delayMs: 0, verdict: builtin };
    }
    let delayMs = 0;
    for (const rule of this.#all) {
      if (rule.stage !== stage || rule.action.kind === 'bounce' || rule.action.kind === 'webhook')
        continue;
      const matched = matchRule(rule, input, this.#random);
      if (matched === null) continue;
      const a = rule.action;
      if (a.kind === 'delay') {
        delayMs = Math.min(MAX_RULE_DELAY_MS, delayMs + a.ms);
        continue;
      }
      if (a.kind === 'reject')
        return {
          delayMs,
          verdict: {
            kind: 'reject',
            code: a.code,
            enhancedCode: a.enhancedCode,
            text: a.text,
            rule: rule.name,
          },
        };
      if (a.kind === 'disconnect')
        return { delayMs, verdict: { kind: 'disconnect', rule: rule.name } };
      // defer: greylisting per sender/recipient pair
      const key = `${rule.name}\0${(input.sender ?? '').toLowerCase()}\0${matched.map((r) => r.toLowerCase()).join(',')}`;
      if (this.#countAttempt(key) <= a.attempts) {
        return {
          delayMs,
          verdict: {
            kind: 'defer',
            code: a.code,
            enhancedCode: a.enhancedCode,
            text: a.text,
            rule: rule.name,
          },
        };
      }
    }
    if (stage === 'rcpt') return { delayMs, verdict: this.#builtinAtRcpt(input) };
    return { delayMs, verdict: null };
  }

  /** After a message was accepted: the bounces (DSNs) and webhooks it triggers. */
  afterAccept(input: MatchInput): AcceptedPlan {
    if (!this.#acceptRules && !input.recipients.some((r) => localPart(r).startsWith('asyncbounce')))
      return NO_PLAN;
    const plan: AcceptedPlan = { bounces: [], webhooks: [] };
    const bounced = new Set<string>();
    for (const rule of this.#set.rules) {
      const a = rule.action;
      if (a.kind !== 'bounce' && a.kind !== 'webhook') continue;
      const matched = matchRule(rule, input, this.#random);
      if (matched === null) continue;
      for (const recipient of matched) {
        if (a.kind === 'webhook') {
          plan.webhooks.push({
            recipient,
            url: a.url,
            format: a.format,
            event: a.event,
            rule: rule.name,
          });
        } else if (!bounced.has(recipient)) {
          bounced.add(recipient);
          plan.bounces.push({
            recipient,
            status: a.status,
            diagnostic: a.diagnostic,
            rule: rule.name,
          });
        }
      }
    }
    for (const recipient of input.recipients) {
      if (!bounced.has(recipient) && localPart(recipient).startsWith('asyncbounce')) {
        bounced.add(recipient);
        plan.bounces.push({
          recipient,
          status: '5.1.1',
          diagnostic: 'smtp; 550 5.1.1 The email account that you tried to reach does not exist',
          rule: BUILTIN_ASYNCBOUNCE,
        });
      }
    }
    return plan;
  }

  #builtinAtRcpt(input: MatchInput): Verdict | null {
    const recipient = input.recipients[0];
    if (recipient === undefined) return null;
    const local = localPart(recipient);
    if (local.startsWith('bounce')) {
      return {
        kind: 'reject',
        code: 550,
        enhancedCode: '5.1.1',
        text: 'The email account that you tried to reach does not exist',
        rule: BUILTIN_BOUNCE,
      };
    }
    if (local.startsWith('defer')) {
      const key = `${BUILTIN_DEFER}\0${(input.sender ?? '').toLowerCase()}\0${recipient.toLowerCase()}`;
      if (this.#countAttempt(key) <= 1) {
        return {
          kind: 'defer',
          code: 451,
          enhancedCode: '4.7.1',
          text: 'Greylisted, please try again later',
          rule: BUILTIN_DEFER,
        };
      }
    }
    return null;
  }

  /** Counts one more attempt for `key` and returns the count (1 on the first attempt). */
  #countAttempt(key: string): number {
    const n = (this.#greylist.get(key) ?? 0) + 1;
    this.#greylist.delete(key);
    this.#greylist.set(key, n);
    if (this.#greylist.size > MAX_GREYLIST_ENTRIES) {
      const oldest = this.#greylist.keys().next().value;
      if (oldest !== undefined) this.#greylist.delete(oldest);
    }
    return n;
  }
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at < 0 ? address : address.slice(0, at)).toLowerCase();
}
