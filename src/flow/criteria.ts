/**
 * Message criteria compiled for one run (templates rendered, regexes built)
 * and checked against captured messages, field by field, so that a failure
 * can say which fields matched and what each mismatching field held instead.
 */
import type { MessageAnalysis, MessageDetail } from '../protocol.ts';
import type { DeliveryEvent, TrackedMessage } from './history.ts';
import {
  bareAddress,
  describeStatus,
  quote,
  statusMatches,
  textMatcher,
  type TextMatcher,
} from './matchers.ts';
import { renderTemplate, type TemplateVars } from './template.ts';
import type { ExpectEventStep, MessageCriteria, StatusSpec } from './types.ts';

/** Links of one message checked over HTTP at most: a newsletter can hold hundreds. */
export const MAX_LINKS_CHECKED_PER_MESSAGE = 5;
/** Links extracted per message; beyond this the message is unusual and the rest are ignored. */
export const MAX_LINKS_EXTRACTED = 500;

/** What a check needs: the summary is always there; detail and analysis may not be yet. */
export type CheckLevel = 'summary' | 'detail' | 'analysis';

export interface CheckResult {
  field: string;
  expected: string;
  actual: string;
  ok: boolean;
}

interface MessageCheck {
  field: string;
  expected: string;
  level: CheckLevel;
  run(m: TrackedMessage): { ok: boolean; actual: string };
  /** The same verdict as run().ok without building the report text (the hot path). */
  test?: (m: TrackedMessage) => boolean;
  /** For links with a status: the URLs to probe once the sync part passed. */
  probe?: (m: TrackedMessage) => string[];
  status?: StatusSpec;
}

export interface CompiledCriteria {
  checks: MessageCheck[];
  /** The deepest level any check needs. */
  level: CheckLevel;
  /** True when a link must answer a status (an HTTP request per matching message). */
  probesLinks: boolean;
}

export interface LinkProbe {
  status: number | null;
  error: string | null;
}

const LEVEL_ORDER: Record<CheckLevel, number> = { summary: 0, detail: 1, analysis: 2 };

// Derived data is computed once per message, not once per expectation: with
// many expectations waiting, every arriving message is checked by each.
const recipientCache = new WeakMap<TrackedMessage, string[]>();
const senderCache = new WeakMap<TrackedMessage, string[]>();
const linkCache = new WeakMap<
  TrackedMessage,
  { detail: MessageDetail | null; analysis: MessageAnalysis | null; links: string[] }
>();

export function recipientsOf(m: TrackedMessage): string[] {
  let cached = recipientCache.get(m);
  if (!cached) {
    cached = computeRecipients(m);
    recipientCache.set(m, cached);
  }
  return cached;
}

export function sendersOf(m: TrackedMessage): string[] {
  let cached = senderCache.get(m);
  if (!cached) {
    cached = computeSenders(m);
    senderCache.set(m, cached);
  }
  return cached;
}

function linksOfMessage(m: TrackedMessage): string[] {
  const cached = linkCache.get(m);
  if (cached && cached.detail === m.detail && cached.analysis === m.analysis) return cached.links;
  const links = linksOf(m.detail, m.analysis);
  linkCache.set(m, { detail: m.detail, analysis: m.analysis, links });
  return links;
}

function computeRecipients(m: TrackedMessage): string[] {
  const out = new Set<string>();
  for (const r of m.summary.envelope.rcptTo) out.add(r.address);
  for (const t of m.summary.to) out.add(bareAddress(t));
  return [...out];
}

function computeSenders(m: TrackedMessage): string[] {
  const out = new Set<string>();
  if (m.summary.envelope.mailFrom) out.add(m.summary.envelope.mailFrom.address);
  if (m.summary.from) out.add(bareAddress(m.summary.from));
  return [...out];
}

function listActual(values: string[]): string {
  if (values.length === 0) return '(none)';
  const shown = values
    .slice(0, 3)
    .map((v) => quote(v, 60))
    .join(', ');
  return values.length > 3 ? `${shown} and ${values.length - 3} more` : shown;
}

/** Links in the message: the analysis's list if present, plus hrefs and bare URLs in the bodies. */
export function linksOf(detail: MessageDetail | null, analysis: MessageAnalysis | null): string[] {
  const out = new Set<string>(analysis?.links ?? []);
  if (detail?.html) {
    for (const m of detail.html.matchAll(/href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
      if (out.size >= MAX_LINKS_EXTRACTED) break;
      const url = decodeEntities((m[1] ?? m[2] ?? m[3] ?? '').trim());
      if (/^https?:\/\//i.test(url)) out.add(url);
    }
  }
  if (detail?.text) {
    for (const m of detail.text.matchAll(/https?:\/\/[^\s<>"')\]]+/gi)) {
      if (out.size >= MAX_LINKS_EXTRACTED) break;
      out.add(m[0].replace(/[.,;:!?]+$/, ''));
    }
  }
  return [...out];
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#47;/g, '/')
    .replace(/&quot;/g, '"');
}

function headerValues(detail: MessageDetail | null, name: string): string[] {
  if (!detail) return [];
  const lower = name.toLowerCase();
  return detail.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}

function listUnsubscribeOf(m: TrackedMessage): { present: boolean; oneClick: boolean } {
  if (m.analysis)
    return {
      present: m.analysis.listUnsubscribe.present,
      oneClick: m.analysis.listUnsubscribe.oneClick,
    };
  const present = headerValues(m.detail, 'List-Unsubscribe').length > 0;
  const oneClick =
    present &&
    headerValues(m.detail, 'List-Unsubscribe-Post').some((v) =>
      /List-Unsubscribe=One-Click/i.test(v),
    );
  return { present, oneClick };
}

/** Renders and compiles the criteria of one expectation. Throws MatcherError/TemplateError. */
export function compileCriteria(spec: MessageCriteria, vars: TemplateVars): CompiledCriteria {
  const checks: MessageCheck[] = [];
  const text = (src: string): TextMatcher => textMatcher(renderTemplate(src, vars));

  if (spec.to !== null) {
    const m = text(spec.to);
    checks.push({
      field: 'to',
      expected: m.source,
      level: 'summary',
      test: (msg) => recipientsOf(msg).some((v) => m.test(v)),
      run: (msg) => {
        const values = recipientsOf(msg);
        return { ok: values.some((v) => m.test(v)), actual: listActual(values) };
      },
    });
  }
  if (spec.from !== null) {
    const m = text(spec.from);
    checks.push({
      field: 'from',
      expected: m.source,
      level: 'summary',
      test: (msg) => sendersOf(msg).some((v) => m.test(v)),
      run: (msg) => {
        const values = sendersOf(msg);
        return { ok: values.some((v) => m.test(v)), actual: listActual(values) };
      },
    });
  }
  if (spec.subject !== null) {
    const m = text(spec.subject);
    checks.push({
      field: 'subject',
      expected: m.source,
      level: 'summary',
      test: (msg) => msg.summary.subject !== null && m.test(msg.summary.subject),
      run: (msg) => ({
        ok: msg.summary.subject !== null && m.test(msg.summary.subject),
        actual: quote(msg.summary.subject),
      }),
    });
  }
  if (spec.text !== null) {
    const m = text(spec.text);
    checks.push({
      field: 'text',
      expected: m.source,
      level: 'detail',
      test: (msg) => msg.detail?.text != null && m.test(msg.detail.text),
      run: (msg) => {
        const body = msg.detail?.text ?? null;
        return {
          ok: body !== null && m.test(body),
          actual: body === null ? '(no text part)' : quote(body),
        };
      },
    });
  }
  if (spec.html !== null) {
    const m = text(spec.html);
    checks.push({
      field: 'html',
      expected: m.source,
      level: 'detail',
      test: (msg) => msg.detail?.html != null && m.test(msg.detail.html),
      run: (msg) => {
        const body = msg.detail?.html ?? null;
        return {
          ok: body !== null && m.test(body),
          actual: body === null ? '(no HTML part)' : quote(body),
        };
      },
    });
  }
  for (const h of spec.headers) {
    const m = h.value === null ? null : text(h.value);
    checks.push({
      field: `headers.${h.name}`,
      expected: m ? m.source : '(present)',
      level: 'detail',
      run: (msg) => {
        const values = headerValues(msg.detail, h.name);
        return {
          ok: m ? values.some((v) => m.test(v)) : values.length > 0,
          actual: values.length ? listActual(values) : '(absent)',
        };
      },
    });
  }
  for (const l of spec.links) {
    const m = text(l.url);
    const matching = (msg: TrackedMessage): string[] =>
      linksOfMessage(msg).filter((u) => m.test(u));
    checks.push({
      field: 'link',
      expected: l.status ? `${m.source} answering ${describeStatus(l.status)}` : m.source,
      level: 'detail',
      test: (msg) => linksOfMessage(msg).some((u) => m.test(u)),
      run: (msg) => {
        const all = linksOfMessage(msg);
        return {
          ok: all.some((u) => m.test(u)),
          actual: all.length ? listActual(all) : '(no links)',
        };
      },
      ...(l.status
        ? {
            probe: (msg: TrackedMessage) => matching(msg).slice(0, MAX_LINKS_CHECKED_PER_MESSAGE),
            status: l.status,
          }
        : {}),
    });
  }
  for (const a of spec.attachments) {
    const fm = a.filename === null ? null : text(a.filename);
    const tm = a.contentType === null ? null : text(a.contentType);
    const expected =
      [fm && `filename ${fm.source}`, tm && `type ${tm.source}`].filter(Boolean).join(', ') ||
      '(any)';
    checks.push({
      field: 'attachment',
      expected,
      level: 'detail',
      run: (msg) => {
        const list = msg.detail?.attachments ?? [];
        const ok = list.some(
          (x) =>
            (!fm || (x.filename !== null && fm.test(x.filename))) &&
            (!tm || tm.test(x.contentType)),
        );
        return {
          ok,
          actual: list.length
            ? listActual(list.map((x) => `${x.filename ?? '(unnamed)'} (${x.contentType})`))
            : '(no attachments)',
        };
      },
    });
  }
  if (spec.listUnsubscribe !== null) {
    const want = spec.listUnsubscribe;
    checks.push({
      field: 'listUnsubscribe',
      expected: want,
      level: 'detail',
      run: (msg) => {
        const lu = listUnsubscribeOf(msg);
        const actual = lu.oneClick ? 'one-click' : lu.present ? 'present' : 'absent';
        const ok = want === 'absent' ? !lu.present : want === 'present' ? lu.present : lu.oneClick;
        return { ok, actual };
      },
    });
  }
  if (spec.dkim !== null) {
    const want = spec.dkim;
    checks.push({
      field: 'dkim',
      expected: want,
      level: 'analysis',
      run: (msg) => {
        const result = msg.analysis?.dkim.result ?? null;
        return { ok: result === want, actual: result ?? '(not analysed)' };
      },
    });
  }
  if (spec.maxSpamScore !== null) {
    const max = spec.maxSpamScore;
    checks.push({
      field: 'spamScore',
      expected: `<= ${max}`,
      level: 'analysis',
      run: (msg) => {
        const a = msg.analysis;
        if (!a) return { ok: false, actual: '(not analysed)' };
        const reasons = a.reasons
          .filter((r) => r.score > 0)
          .map((r) => `${r.code} +${r.score}`)
          .join(', ');
        return {
          ok: a.spamScore <= max,
          actual: `${a.spamScore}${reasons ? ` (${reasons})` : ''}`,
        };
      },
    });
  }
  const level = checks.reduce<CheckLevel>(
    (acc, c) => (LEVEL_ORDER[c.level] > LEVEL_ORDER[acc] ? c.level : acc),
    'summary',
  );
  return { checks, level, probesLinks: checks.some((c) => c.probe !== undefined) };
}

/** True when what `m` holds is enough to run every check of `level`. */
export function hasLevel(m: TrackedMessage, level: CheckLevel): boolean {
  if (level === 'summary') return true;
  if (level === 'detail') return m.detail !== null || m.detailError !== null;
  return m.analysis !== null || m.detailError !== null;
}

/** True when every check up to `upTo` passes; stops at the first failure and builds no report text. */
export function passes(
  criteria: CompiledCriteria,
  m: TrackedMessage,
  upTo: CheckLevel = 'analysis',
): boolean {
  for (const c of criteria.checks) {
    if (LEVEL_ORDER[c.level] > LEVEL_ORDER[upTo]) continue;
    if (c.level !== 'summary' && m.detailError !== null && !(c.level === 'analysis' && m.analysis))
      return false;
    if (!(c.test ? c.test(m) : c.run(m).ok)) return false;
  }
  return true;
}

/** Runs the checks whose data is available; `upTo` limits them to a level. */
export function checkMessage(
  criteria: CompiledCriteria,
  m: TrackedMessage,
  upTo: CheckLevel = 'analysis',
): CheckResult[] {
  const results: CheckResult[] = [];
  for (const c of criteria.checks) {
    if (LEVEL_ORDER[c.level] > LEVEL_ORDER[upTo]) continue;
    if (
      c.level !== 'summary' &&
      m.detailError !== null &&
      !(c.level === 'analysis' && m.analysis)
    ) {
      results.push({
        field: c.field,
        expected: c.expected,
        actual: `(could not read the message: ${m.detailError})`,
        ok: false,
      });
      continue;
    }
    const r = c.run(m);
    results.push({ field: c.field, expected: c.expected, actual: r.actual, ok: r.ok });
  }
  return results;
}

/** The link probes `criteria` asks for on message `m` (after its sync checks passed). */
export function linkProbes(
  criteria: CompiledCriteria,
  m: TrackedMessage,
): Array<{ field: string; expected: string; status: StatusSpec; urls: string[] }> {
  return criteria.checks
    .filter((c) => c.probe)
    .map((c) => ({
      field: c.field,
      expected: c.expected,
      status: c.status as StatusSpec,
      urls: (c.probe as (x: TrackedMessage) => string[])(m),
    }));
}

export function describeProbe(url: string, probe: LinkProbe): string {
  return `${quote(url, 60)} answered ${probe.status ?? `nothing (${probe.error ?? 'no response'})`}`;
}

export { statusMatches };

/** One line that identifies a message in a report. */
export function describeMessage(m: TrackedMessage): string {
  const from = sendersOf(m)[0] ?? '(no sender)';
  const to = recipientsOf(m).join(', ') || '(no recipient)';
  return `message ${m.summary.id} from ${from} to ${to}, subject ${quote(m.summary.subject)}`;
}

// --- delivery events -------------------------------------------------------------

export interface CompiledEventCriteria {
  type: ExpectEventStep['type'];
  check(e: DeliveryEvent): CheckResult[];
  checkMessage(m: TrackedMessage): CheckResult[];
}

function codeOf(e: DeliveryEvent): { code: number | null; enhanced: string | null; text: string } {
  if (e.type === 'rejected' || e.type === 'deferred')
    return { code: e.data.code, enhanced: e.data.enhancedCode, text: e.data.text };
  if (e.type === 'bounced') {
    const m = /^\s*(\d{3})\b/.exec(e.data.diagnostic);
    return { code: m ? Number(m[1]) : null, enhanced: e.data.status, text: e.data.diagnostic };
  }
  return { code: null, enhanced: null, text: '' };
}

function recipientOf(e: DeliveryEvent): string | null {
  if (e.type === 'rejected' || e.type === 'deferred') return e.data.to;
  if (e.type === 'bounced') return e.data.recipient;
  return null;
}

function senderOf(e: DeliveryEvent): string | null {
  if (e.type === 'rejected' || e.type === 'deferred') return e.data.from;
  if (e.type === 'bounced') return e.data.sender;
  return null;
}

export function describeEvent(e: DeliveryEvent): string {
  if (e.type === 'webhook') {
    return `webhook ${e.data.format} to ${e.data.url} answered ${e.data.status ?? `nothing (${e.data.error ?? 'no response'})`}`;
  }
  const c = codeOf(e);
  const stage = e.type === 'bounced' ? 'after delivery' : `at ${e.data.stage.toUpperCase()}`;
  return `${e.type} ${stage}: ${senderOf(e) ?? '(no sender)'} -> ${recipientOf(e) ?? '(no recipient)'}: ${c.code ?? ''}${c.enhanced ? ` ${c.enhanced}` : ''} ${quote(c.text, 60)}`.replace(
    /\s+/g,
    ' ',
  );
}

export function compileEventCriteria(
  spec: ExpectEventStep,
  vars: TemplateVars,
): CompiledEventCriteria {
  const to = spec.to === null ? null : textMatcher(renderTemplate(spec.to, vars));
  const from = spec.from === null ? null : textMatcher(renderTemplate(spec.from, vars));
  const url = spec.url === null ? null : textMatcher(renderTemplate(spec.url, vars));
  return {
    type: spec.type,
    check(e) {
      const results: CheckResult[] = [
        { field: 'type', expected: spec.type, actual: e.type, ok: e.type === spec.type },
      ];
      if (to) {
        const r = recipientOf(e);
        results.push({
          field: 'to',
          expected: to.source,
          actual: quote(r),
          ok: r !== null && to.test(r),
        });
      }
      if (from) {
        const s = senderOf(e);
        results.push({
          field: 'from',
          expected: from.source,
          actual: quote(s),
          ok: s !== null && from.test(s),
        });
      }
      if (spec.code !== null) {
        const c = codeOf(e);
        const ok = typeof spec.code === 'number' ? c.code === spec.code : c.enhanced === spec.code;
        results.push({
          field: 'code',
          expected: String(spec.code),
          actual: `${c.code ?? '(none)'}${c.enhanced ? ` ${c.enhanced}` : ''}`,
          ok,
        });
      }
      if (e.type === 'webhook' || spec.type === 'webhook') {
        const w = e.type === 'webhook' ? e.data : null;
        if (url)
          results.push({
            field: 'url',
            expected: url.source,
            actual: quote(w?.url),
            ok: w !== null && url.test(w.url),
          });
        if (spec.format !== null)
          results.push({
            field: 'format',
            expected: spec.format,
            actual: w?.format ?? '(none)',
            ok: w?.format === spec.format,
          });
        if (spec.status !== null) {
          results.push({
            field: 'status',
            expected: describeStatus(spec.status),
            actual: w ? String(w.status ?? w.error ?? '(no response)') : '(none)',
            ok:
              w?.status !== null && w?.status !== undefined && statusMatches(w.status, spec.status),
          });
        }
      }
      return results;
    },
    checkMessage(m) {
      // A message that was accepted is "what arrived instead" of a rejection.
      const results: CheckResult[] = [
        { field: 'type', expected: spec.type, actual: 'accepted', ok: false },
      ];
      if (to) {
        const values = recipientsOf(m);
        results.push({
          field: 'to',
          expected: to.source,
          actual: listActual(values),
          ok: values.some((v) => to.test(v)),
        });
      }
      if (from) {
        const values = sendersOf(m);
        results.push({
          field: 'from',
          expected: from.source,
          actual: listActual(values),
          ok: values.some((v) => from.test(v)),
        });
      }
      return results;
    },
  };
}
