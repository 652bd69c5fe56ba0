import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** Flow files are hand-written test scripts; 1 MiB is far beyond any real one. */
export const MAX_FLOW_FILE_BYTES = 1024 * 1024;
/** Aliases can expand exponentially ("billion laughs"); a flow needs few. */
export const MAX_FLOW_ALIAS_COUNT = 100;

export interface Position {
  line: number;
  col: number;
}

export interface YamlProblem {
  path: string;
  line: number;
  col: number;
  message: string;
}

/**
 * A YAML document as plain data plus a way to find where each value (and each
 * map key) was written, by its path (`steps[2].expect.subject`).
 */
export interface LocatedYaml {
  value: unknown;
  /** Position of the value at `path`, else of its closest ancestor. */
  locate(path: string): Position;
  /** Position of the key of the map entry at `path` (for unknown-field errors). */
  locateKey(path: string): Position;
  problems: YamlProblem[];
}

export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const safe = /^[A-Za-z_][\w-]*$/.test(key) ? key : JSON.stringify(key);
  if (parent === '') return typeof key === 'string' && safe === key ? key : `[${safe}]`;
  return safe === key ? `${parent}.${key}` : `${parent}[${safe}]`;
}

function parentOf(path: string): string | null {
  if (path === '') return null;
  const m = /^(.*?)(\.[A-Za-z_][\w-]*|\[[^\]]*\])$/.exec(path);
  if (m) return m[1];
  return '';
}

/**
 * Parses YAML keeping node positions (yaml's parseDocument + LineCounter).
 * Syntax errors become problems with a position instead of exceptions.
 */
export function parseLocatedYaml(source: string): LocatedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const values = new Map<string, number>();
  const keys = new Map<string, number>();
  const problems: YamlProblem[] = [];
  const pos = (offset: number): Position => lineCounter.linePos(offset);

  for (const err of [...doc.errors, ...doc.warnings]) {
    const p = pos(err.pos[0]);
    const first = err.message.split('\n')[0];
    problems.push({ path: '', line: p.line, col: p.col, message: `YAML ${err.name === 'YAMLWarning' ? 'warning' : 'syntax error'}: ${first}` });
  }

  let aliases = 0;
  const toValue = (node: unknown, path: string, depth: number): unknown => {
    if (depth > 64) {
      problems.push({ path, ...pos(offsetOf(node)), message: 'nested too deeply' });
      return null;
    }
    if (isAlias(node)) {
      if (++aliases > MAX_FLOW_ALIAS_COUNT) {
        problems.push({ path, ...pos(offsetOf(node)), message: `more than ${MAX_FLOW_ALIAS_COUNT} aliases` });
        return null;
      }
      const target = node.resolve(doc as Document);
      values.set(path, offsetOf(node));
      return target === undefined ? null : toValue(target, path, depth + 1);
    }
    if (node !== null && node !== undefined) values.set(path, offsetOf(node));
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const keyNode = item.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const p = childPath(path, key);
        if (keyNode) keys.set(p, offsetOf(keyNode));
        if (key === '<<') {
          problems.push({ path: p, ...pos(offsetOf(keyNode)), message: 'merge keys (<<) are not supported' });
          continue;
        }
        out[key] = toValue(item.value, p, depth + 1);
        if (!values.has(p) && keyNode) values.set(p, offsetOf(keyNode));
      }
      return out;
    }
    if (isSeq(node)) return node.items.map((item, i) => toValue(item, childPath(path, i), depth + 1));
    if (isScalar(node)) return node.value;
    return null;
  };

  const value = problems.length > 0 ? null : toValue(doc.contents, '', 0);

  const find = (map: Map<string, number>, path: string): Position => {
    let p: string | null = path;
    while (p !== null) {
      const offset = map.get(p) ?? values.get(p);
      if (offset !== undefined) return pos(offset);
      p = parentOf(p);
    }
    return { line: 1, col: 1 };
  };
  return {
    value,
    locate: (path) => find(values, path),
    locateKey: (path) => find(keys, path),
    problems,
  };
}

function offsetOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] | null } | null)?.range;
  return range ? range[0] : 0;
}
