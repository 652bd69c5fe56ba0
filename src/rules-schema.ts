/**
 * The sink's rules file: schema, validation (with the line and field of the
 * first problem) and matching. Pure: the sink's rules engine (sink/rules.ts)
 * adds state (greylisting counters) and time; randomness is passed in.
 *
 * ```yaml
 * rules:
 *   - name: hard-bounce-example-org
 *     match: { recipient: "*@example.org" }
 *     stage: rcpt
 *     reject: { code: 550, enhanced: 5.1.1, text: "No such user" }
 * ```
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { DURATION_HINT, formatDuration, readDuration } from './duration.ts';
import { evError } from './errors.ts';
import { compileGlob } from './match/glob.ts';
import { compileLinearRegex, PatternError } from './match/linear-regex.ts';
import type { SmtpStage } from './protocol.ts';
import { isOneOf, isRecord } from './guards.ts';

/** A rules file larger than this is not a hand-written rules file. */
export const MAX_RULES_SOURCE_BYTES = 1024 * 1024;
/** Rules are evaluated linearly for every command; a thousand keeps that well under a millisecond. */
export const MAX_RULES = 1000;
/** Long enough for any sensible glob or regular expression, short enough to bound matching cost. */
export const MAX_PATTERN_LENGTH = 512;
/** Reply text is sent on one SMTP line (RFC 5321 limits a reply line to 512 octets). */
export const MAX_REPLY_TEXT_LENGTH = 400;
/** A control character: an SMTP reply or DSN text is one line of printable text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\0-\x1f\x7f]/;
/** Delays beyond 5 minutes exceed common client timeouts (RFC 5321 section 4.5.3.2) and only hold sockets. */
export const MAX_RULE_DELAY_MS = 5 * 60 * 1000;
/** Greylisting more than 100 attempts is no longer greylisting. */
export const MAX_DEFER_ATTEMPTS = 100;

export const RULE_STAGES = Object.freeze([
  'connect',
  'mail',
  'rcpt',
  'data',
  'end',
] as const satisfies readonly SmtpStage[]);
export const WEBHOOK_FORMATS = Object.freeze(['sendgrid', 'ses'] as const);
export const WEBHOOK_EVENTS = Object.freeze([
  'delivered',
  'bounce',
  'dropped',
  'complaint',
] as const);
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A compiled glob or `/regex/flags`; matching is case-insensitive for globs. */
export interface Pattern {
  source: string;
  test(value: string): boolean;
}

export interface RuleMatch {
  recipient: Pattern | null;
  sender: Pattern | null;
  header: { name: string; value: Pattern | null } | null;
  /** 0..1; null means always. */
  probability: number | null;
}

export type RuleAction =
  | { kind: 'reject'; code: number; enhancedCode: string; text: string }
  | { kind: 'defer'; attempts: number; code: number; enhancedCode: string; text: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'disconnect' }
  | { kind: 'bounce'; status: string; diagnostic: string }
  | { kind: 'webhook'; url: string; format: WebhookFormat; event: WebhookEvent };

export type RuleActionKind = RuleAction['kind'];
export const RULE_ACTIONS = Object.freeze([
  'reject',
  'defer',
  'delay',
  'disconnect',
  'bounce',
  'webhook',
] as const satisfies readonly RuleActionKind[]);

export interface Rule {
  name: string;
  stage: SmtpStage;
  match: RuleMatch;
  action: RuleAction;
}

export interface RuleSet {
  /** The YAML as given (empty when none). */
  source: string;
  rules: readonly Rule[];
}

/** What a rule can look at. Fields not known yet at a stage are null/empty. */
export interface MatchInput {
  sender: string | null;
  /** At `rcpt`, the recipient being added; at `data`/`end`, all of them. */
  recipients: readonly string[];
  /** Header lookup by lower-case name (only at `end`). */
  header?: (name: string) => readonly string[];
}

export const EMPTY_RULE_SET: RuleSet = Object.freeze({ source: '', rules: Object.freeze([]) });

/**
 * Parses and validates a rules file. Throws EV_ERR_RULES_INVALID naming the
 * file, line and field of the first problem.
 */
export function parseRules(source: string, fileName = 'rules'): RuleSet {
  if (Buffer.byteLength(source) > MAX_RULES_SOURCE_BYTES) {
    throw invalid(fileName, null, '', `is larger than ${MAX_RULES_SOURCE_BYTES} bytes`);
  }
  if (source.trim() === '') return { source, rules: [] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = lineCounter.linePos(first.pos[0]).line;
    throw invalid(fileName, line, '', `is not valid YAML: ${first.message.split('\n')[0]}`);
  }
  const locate = (path: Array<string | number>): number | null => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : null;
  };
  const fail = (path: Array<string | number>, problem: string): never => {
    throw invalid(fileName, locateNearest(doc, path, locate), fieldName(path), problem);
  };
  const root: unknown = doc.toJS({ maxAliasCount: 100 });
  if (root === null || root === undefined) return { source, rules: [] };
  if (!isRecord(root)) return fail([], 'must be a mapping with a `rules:` list');
  for (const key of Object.keys(root)) {
    if (key !== 'rules' && key !== 'version') fail([key], 'is not a known key (expected `rules`)');
  }
  if (root.version !== undefined && root.version !== 1) fail(['version'], 'must be 1');
  const list = root.rules ?? [];
  if (!Array.isArray(list)) return fail(['rules'], 'must be a list of rules');
  if (list.length > MAX_RULES) fail(['rules'], `has more than ${MAX_RULES} rules`);
  const names = new Set<string>();
  const rules = list.map((raw: unknown, i: number) => {
    const rule = compileRule(raw, ['rules', i], fail);
    if (names.has(rule.name)) fail(['rules', i, 'name'], `repeats the rule name "${rule.name}"`);
    names.add(rule.name);
    return Object.freeze(rule);
  });
  return Object.freeze({ source, rules: Object.freeze(rules) });
}

export type Fail = (path: Array<string | number>, problem: string) => never;

function compileRule(raw: unknown, at: Array<string | number>, fail: Fail): Rule {
  if (!isRecord(raw)) return fail(at, 'must be a mapping');
  const known = new Set(['name', 'stage', 'match', ...RULE_ACTIONS]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key))
      fail(
        [...at, key],
        `is not a known key (expected name, stage, match and one of ${RULE_ACTIONS.join(', ')})`,
      );
  }
  const index = at[at.length - 1] as number;
  const name = raw.name === undefined ? `rule-${index + 1}` : raw.name;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100)
    fail([...at, 'name'], 'must be a non-empty string of at most 100 characters');
  const actionKeys = RULE_ACTIONS.filter((k) => raw[k] !== undefined);
  if (actionKeys.length !== 1)
    fail(
      at,
      `must have exactly one action (${RULE_ACTIONS.join(', ')}), found ${actionKeys.length}`,
    );
  const kind = actionKeys[0];
  const fixedEnd = kind === 'bounce' || kind === 'webhook';
  let stage: SmtpStage = fixedEnd ? 'end' : 'rcpt';
  if (raw.stage !== undefined) {
    if (!isOneOf(RULE_STAGES, raw.stage))
      fail([...at, 'stage'], `must be one of ${RULE_STAGES.join(', ')}`);
    stage = raw.stage;
    if (fixedEnd && stage !== 'end')
      fail(
        [...at, 'stage'],
        `must be "end" for a ${kind} action (it runs after the message is accepted)`,
      );
  }
  const match = compileMatch(raw.match, [...at, 'match'], stage, fail);
  const action = compileAction(kind, raw[kind], [...at, kind], stage, fail);
  return { name: name, stage, match, action };
}

function compileMatch(
  raw: unknown,
  at: Array<string | number>,
  stage: SmtpStage,
  fail: Fail,
): RuleMatch {
  const match: RuleMatch = { recipient: null, sender: null, header: null, probability: null };
  if (raw === undefined || raw === null) return match;
  if (!isRecord(raw)) return fail(at, 'must be a mapping (recipient, sender, header, probability)');
  for (const key of Object.keys(raw)) {
    if (!['recipient', 'sender', 'header', 'probability'].includes(key))
      fail([...at, key], 'is not a known key (expected recipient, sender, header or probability)');
  }
  if (raw.recipient !== undefined) {
    if (stage === 'connect' || stage === 'mail')
      fail(
        [...at, 'recipient'],
        `cannot be matched at stage "${stage}" (recipients are known from rcpt on)`,
      );
    match.recipient = compilePattern(raw.recipient, [...at, 'recipient'], fail);
  }
  if (raw.sender !== undefined) {
    if (stage === 'connect')
      fail(
        [...at, 'sender'],
        'cannot be matched at stage "connect" (the sender is known from mail on)',
      );
    match.sender = compilePattern(raw.sender, [...at, 'sender'], fail);
  }
  if (raw.header !== undefined) {
    if (stage !== 'end')
      fail(
        [...at, 'header'],
        'can only be matched at stage "end" (headers arrive with the message)',
      );
    const h = raw.header;
    if (!isRecord(h) || typeof h.name !== 'string' || !/^[!-9;-~]{1,100}$/.test(h.name)) {
      fail(
        [...at, 'header'],
        'must be a mapping with a header `name` and an optional `value` pattern',
      );
    }
    const hr = h;
    for (const key of Object.keys(hr))
      if (key !== 'name' && key !== 'value')
        fail([...at, 'header', key], 'is not a known key (expected name, value)');
    match.header = {
      name: h.name.toLowerCase(),
      value:
        hr.value === undefined ? null : compilePattern(hr.value, [...at, 'header', 'value'], fail),
    };
  }
  if (raw.probability !== undefined) {
    const p = raw.probability;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1))
      fail([...at, 'probability'], 'must be a number from 0 to 1');
    match.probability = p;
  }
  return match;
}

function compileAction(
  kind: RuleActionKind,
  raw: unknown,
  at: Array<string | number>,
  stage: SmtpStage,
  fail: Fail,
): RuleAction {
  switch (kind) {
    case 'reject': {
      const spec = optionalRecord(raw, at, fail);
      const defaultEnhanced = stage === 'rcpt' ? '5.1.1' : '5.7.1';
      const reply = compileReply(
        spec,
        at,
        fail,
        { code: 550, enhanced: defaultEnhanced, text: 'Rejected by rule' },
        5,
      );
      return { kind, ...reply };
    }
    case 'defer': {
      const spec = optionalRecord(raw, at, fail, ['attempts']);
      const attempts = spec.attempts ?? 1;
      if (
        typeof attempts !== 'number' ||
        !Number.isInteger(attempts) ||
        attempts < 1 ||
        attempts > MAX_DEFER_ATTEMPTS
      ) {
        fail([...at, 'attempts'], `must be an integer from 1 to ${MAX_DEFER_ATTEMPTS}`);
      }
      const reply = compileReply(
        spec,
        at,
        fail,
        { code: 451, enhanced: '4.7.1', text: 'Greylisted, please try again later' },
        4,
      );
      return { kind, attempts, ...reply };
    }
    case 'delay': {
      // `{ ms: 1500 }` names its unit; everything else is a duration in the one grammar (a bare number is seconds).
      const given = isRecord(raw) ? (raw.ms ?? raw.duration) : raw;
      const ms =
        isRecord(raw) && typeof raw.ms === 'number'
          ? readDuration(raw.ms / 1000)
          : readDuration(given);
      if (ms === null || ms > MAX_RULE_DELAY_MS)
        fail(
          at,
          `must be a duration of at most ${formatDuration(MAX_RULE_DELAY_MS)}: ${DURATION_HINT}`,
        );
      return { kind, ms: ms };
    }
    case 'disconnect':
      if (raw !== true) fail(at, 'must be `true`');
      return { kind };
    case 'bounce': {
      const spec = raw === true ? {} : optionalRecord(raw, at, fail, ['status', 'diagnostic']);
      const status = spec.status ?? '5.1.1';
      if (typeof status !== 'string' || !/^5\.\d{1,3}\.\d{1,3}$/.test(status))
        fail([...at, 'status'], 'must be a permanent enhanced status code such as 5.1.1');
      const diagnostic = spec.diagnostic ?? `smtp; 550 ${status} Recipient address rejected`;
      if (
        typeof diagnostic !== 'string' ||
        diagnostic.length > MAX_REPLY_TEXT_LENGTH ||
        CONTROL_CHARACTER.test(diagnostic)
      ) {
        fail(
          [...at, 'diagnostic'],
          `must be one line of at most ${MAX_REPLY_TEXT_LENGTH} characters`,
        );
      }
      return { kind, status: status, diagnostic: diagnostic };
    }
    case 'webhook': {
      const spec = optionalRecord(raw, at, fail, ['url', 'format', 'event']);
      if (typeof spec.url !== 'string' || !isHttpUrl(spec.url))
        fail([...at, 'url'], 'must be an http:// or https:// URL');
      if (!isOneOf(WEBHOOK_FORMATS, spec.format))
        fail([...at, 'format'], `must be one of ${WEBHOOK_FORMATS.join(', ')}`);
      const event = spec.event ?? 'delivered';
      if (!isOneOf(WEBHOOK_EVENTS, event))
        fail([...at, 'event'], `must be one of ${WEBHOOK_EVENTS.join(', ')}`);
      return { kind, url: spec.url, format: spec.format, event };
    }
  }
}

function compileReply(
  spec: Record<string, unknown>,
  at: Array<string | number>,
  fail: Fail,
  defaults: { code: number; enhanced: string; text: string },
  klass: 4 | 5,
): { code: number; enhancedCode: string; text: string } {
  const code = spec.code ?? defaults.code;
  if (typeof code !== 'number' || !Number.isInteger(code) || Math.floor(code / 100) !== klass) {
    fail([...at, 'code'], `must be a ${klass}xx SMTP reply code`);
  }
  const rawEnhanced =
    spec.enhanced ?? (spec.code === undefined ? defaults.enhanced : `${klass}.0.0`);
  // Only a string can be a status code (a YAML list or map is not stringified into one).
  const enhanced = typeof rawEnhanced === 'string' ? rawEnhanced : '';
  if (!new RegExp(`^${klass}\\.\\d{1,3}\\.\\d{1,3}$`).test(enhanced))
    fail(
      [...at, 'enhanced'],
      `must be an enhanced status code of class ${klass}, such as ${klass}.1.1`,
    );
  const text = spec.text ?? defaults.text;
  if (
    typeof text !== 'string' ||
    text.length === 0 ||
    text.length > MAX_REPLY_TEXT_LENGTH ||
    CONTROL_CHARACTER.test(text)
  ) {
    fail([...at, 'text'], `must be one line of 1 to ${MAX_REPLY_TEXT_LENGTH} characters`);
  }
  return { code, enhancedCode: enhanced, text: text };
}

function optionalRecord(
  raw: unknown,
  at: Array<string | number>,
  fail: Fail,
  keys = ['code', 'enhanced', 'text'],
): Record<string, unknown> {
  if (raw === true || raw === null) return {};
  if (!isRecord(raw)) return fail(at, `must be a mapping (${keys.join(', ')}) or \`true\``);
  const allowed = new Set([...keys, 'code', 'enhanced', 'text']);
  for (const key of Object.keys(raw))
    if (!allowed.has(key))
      fail([...at, key], `is not a known key (expected ${[...allowed].join(', ')})`);
  return raw;
}

/**
 * Compiles `/regex/flags` or a glob (`*`, `?`, case-insensitive, whole value),
 * both matched in linear time (src/match/): a rule is evaluated on every
 * unauthenticated RCPT, so a backtracking pattern would stall the sink.
 */
export function compilePattern(raw: unknown, at: Array<string | number>, fail: Fail): Pattern {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_PATTERN_LENGTH) {
    return fail(at, `must be a glob or /regex/ of 1 to ${MAX_PATTERN_LENGTH} characters`);
  }
  const re = /^\/(.+)\/([imsu]*)$/s.exec(raw);
  if (re) {
    try {
      const regex = compileLinearRegex(re[1], re[2]);
      return Object.freeze({ source: raw, test: (value: string) => regex.test(value) });
    } catch (err) {
      if (err instanceof PatternError)
        return fail(
          at,
          err.kind === 'invalid'
            ? `is not a valid regular expression: ${err.reason}`
            : `is refused (linear-time matching): it ${err.reason}`,
        );
      throw err;
    }
  }
  const glob = compileGlob(raw);
  return Object.freeze({ source: raw, test: (value: string) => glob.test(value) });
}

/**
 * Whether `rule` matches `input`. Returns the recipients it matched (all of
 * them when the rule has no recipient pattern), or null when it does not match.
 * `random()` is drawn only when every other condition matched.
 */
export function matchRule(rule: Rule, input: MatchInput, random: () => number): string[] | null {
  const m = rule.match;
  if (m.sender && !m.sender.test(input.sender ?? '')) return null;
  let recipients = [...input.recipients];
  if (m.recipient) {
    recipients = recipients.filter((r) => m.recipient!.test(r));
    if (recipients.length === 0) return null;
  }
  if (m.header) {
    const values = input.header?.(m.header.name) ?? [];
    if (values.length === 0) return null;
    if (m.header.value && !values.some((v) => m.header!.value!.test(v))) return null;
  }
  if (m.probability !== null && !(random() < m.probability)) return null;
  return recipients;
}

function invalid(fileName: string, line: number | null, field: string, problem: string) {
  const where = line === null ? fileName : `${fileName}:${line}`;
  return evError('EV_ERR_RULES_INVALID', `${where}: ${field ? `${field} ` : ''}${problem}`, {
    hint: 'Fix the rules file (see docs/sink.md, "Rules"); the previous rules stay in force.',
    details: { file: fileName, line, field: field || null },
  });
}

function fieldName(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function locateNearest(
  _doc: Document,
  path: Array<string | number>,
  locate: (p: Array<string | number>) => number | null,
): number | null {
  for (let n = path.length; n >= 0; n--) {
    const line = locate(path.slice(0, n));
    if (line !== null) return line;
  }
  return null;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
