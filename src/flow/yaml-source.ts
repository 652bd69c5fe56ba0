import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** Flow files are hand-written test scripts; 1 MiB is far beyond any real one. */
export const MAX_FLOW_FILE_BYTES = 1024 * 1024;
/** Aliases can expand exponentially ("billion laughs"); a flow needs few. */
export const MAX_FLOW_ALIAS_COUNT = 100;
/** Nesting depth of mappings and lists: a real flow nests under 10; deeper input only serves to exhaust the stack. */
export const MAX_FLOW_NESTING = 64;
/** Values (after alias expansion) in one flow: 500 steps of a few dozen values each fit many times over. */
export const MAX_FLOW_VALUES = 200_000;

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

  const tooDeep = `nested more than ${MAX_FLOW_NESTING} levels deep (MAX_FLOW_NESTING); a flow needs far fewer`;
  for (const err of [...doc.errors, ...doc.warnings]) {
    const p = pos(err.pos[0]);
    // The YAML parser recurses per nesting level and reports a stack overflow
    // as RESOURCE_EXHAUSTION: that is deep nesting, said in our words.
    if (err.code === 'RESOURCE_EXHAUSTION') {
      if (!problems.some((x) => x.message === tooDeep)) problems.push({ path: '', line: p.line, col: p.col, message: tooDeep });
      continue;
    }
    const first = err.message.split('\n')[0];
    problems.push({ path: '', line: p.line, col: p.col, message: `YAML ${err.name === 'YAMLWarning' ? 'warning' : 'syntax error'}: ${first}` });
  }

  let aliases = 0;
  let count = 0;
  /** Set once a limit is hit: one problem, then no more expansion (bounded work and output). */
  let stopped = false;
  const stop = (node: unknown, path: string, message: string): null => {
    if (!stopped) problems.push({ path, ...pos(offsetOf(node)), message });
    stopped = true;
    return null;
  };
  const toValue = (node: unknown, path: string, depth: number): unknown => {
    if (stopped) return null;
    if (depth > MAX_FLOW_NESTING) return stop(node, path, tooDeep);
    if (++count > MAX_FLOW_VALUES) return stop(node, path, `expands to more than ${MAX_FLOW_VALUES} values (MAX_FLOW_VALUES); are aliases multiplying a large list?`);
    if (isAlias(node)) {
      if (++aliases > MAX_FLOW_ALIAS_COUNT) return stop(node, path, `more than ${MAX_FLOW_ALIAS_COUNT} aliases (MAX_FLOW_ALIAS_COUNT); write the values out or use fewer anchors`);
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
