/**
 * Label selectors (`a=b,c!=d,e,!f,g in (x,y),h notin (z)`) and field selectors
 * (`metadata.name=x`, `status.phase!=Running`) as the API server parses them
 * from query strings, plus `LabelSelector` objects (matchLabels/matchExpressions).
 */
import { valueText } from './value-text.ts';
import { badRequest } from './status.ts';

export type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

/** Longest selector string accepted; real servers bound the URL, not the selector. */
export const MAX_SELECTOR_LENGTH = 8192;

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

export function parseLabelSelector(text: string | null | undefined): Requirement[] {
  if (!text) return [];
  if (text.length > MAX_SELECTOR_LENGTH) throw badRequest('label selector too long');
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (set) {
      out.push({
        key: set[1],
        op: set[2] as 'in' | 'notin',
        values: set[3]
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      });
      continue;
    }
    const neq = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(part);
    if (neq) {
      out.push({ key: neq[1], op: 'neq', value: neq[2] });
      continue;
    }
    const eq = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(part);
    if (eq) {
      out.push({ key: eq[1], op: 'eq', value: eq[2] });
      continue;
    }
    const not = /^!\s*([^\s!=(),]+)$/.exec(part);
    if (not) {
      out.push({ key: not[1], op: 'notexists' });
      continue;
    }
    if (/^[^\s!=(),]+$/.test(part)) {
      out.push({ key: part, op: 'exists' });
      continue;
    }
    throw badRequest(`unable to parse requirement: ${JSON.stringify(part)}`);
  }
  for (const r of out) {
    const values =
      r.op === 'eq' || r.op === 'neq'
        ? [r.value]
        : r.op === 'in' || r.op === 'notin'
          ? r.values
          : [];
    if (!LABEL_KEY.test(r.key) || !values.every((v) => LABEL_VALUE.test(v))) {
      throw badRequest(
        `unable to parse requirement: invalid label key or value in ${JSON.stringify(text)}`,
      );
    }
  }
  return out;
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function matchesRequirements(
  reqs: readonly Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
    return false;
  });
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function requirementsFromObject(sel: LabelSelectorObject | undefined): Requirement[] {
  if (!sel) return [];
  const out: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, value]) => ({
    key,
    op: 'eq' as const,
    value,
  }));
  for (const e of sel.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        out.push({ key: e.key, op: 'in', values: e.values ?? [] });
        break;
      case 'NotIn':
        out.push({ key: e.key, op: 'notin', values: e.values ?? [] });
        break;
      case 'Exists':
        out.push({ key: e.key, op: 'exists' });
        break;
      case 'DoesNotExist':
        out.push({ key: e.key, op: 'notexists' });
        break;
      default:
        throw badRequest(`unknown label selector operator ${e.operator}`);
    }
  }
  return out;
}

export function selectorToString(sel: LabelSelectorObject | undefined): string {
  return requirementsToString(requirementsFromObject(sel));
}

export function requirementsToString(reqs: readonly Requirement[]): string {
  return reqs
    .map((r) => {
      switch (r.op) {
        case 'eq':
          return `${r.key}=${r.value}`;
        case 'neq':
          return `${r.key}!=${r.value}`;
        case 'in':
          return `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
      }
      return '';
    })
    .join(',');
}

export interface FieldRequirement {
  path: string;
  op: 'eq' | 'neq';
  value: string;
}

export function parseFieldSelector(text: string | null | undefined): FieldRequirement[] {
  if (!text) return [];
  if (text.length > MAX_SELECTOR_LENGTH) throw badRequest('field selector too long');
  return splitTopLevel(text).map((part) => {
    const m = /^([A-Za-z0-9_.]+)\s*(!=|==|=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    return { path: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3].trim() };
  });
}

/** Field paths the fake supports (metadata.* for every kind, a few per-kind ones). */
export const SUPPORTED_FIELDS = new Set([
  'metadata.name',
  'metadata.namespace',
  'status.phase',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'type',
  'involvedObject.name',
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.uid',
  'reason',
]);

function fieldValue(obj: Record<string, unknown>, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur === undefined || cur === null ? '' : valueText(cur);
}

export function validateFieldSelector(reqs: readonly FieldRequirement[], kind: string): void {
  for (const r of reqs) {
    if (!SUPPORTED_FIELDS.has(r.path)) {
      throw badRequest(`field label not supported: ${r.path}`);
    }
    void kind;
  }
}

export function matchesFields(
  reqs: readonly FieldRequirement[],
  obj: Record<string, unknown>,
): boolean {
  return reqs.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === 'eq'));
}
