import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
} from 'yaml';

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
  // Deeply nested flow collections ("[[[[…" or "{{{{…") cost the YAML parser
  // seconds before it gives up (4 s for 200,000 braces): refuse them first.
  const deep = flowNestingProblem(source);
  if (deep !== null)
    return {
      value: null,
      locate: () => ({ line: 1, col: 1 }),
      locateKey: () => ({ line: 1, col: 1 }),
      problems: [deep],
    };
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const values = new Map<string, number>();
  const keys = new Map<string, number>();
  const problems: YamlProblem[] = [];
  const pos = (offset: number): Position => lineCounter.linePos(offset);

  const tooDeep = TOO_DEEP;
  for (const err of [...doc.errors, ...doc.warnings]) {
    const p = pos(err.pos[0]);
    // The YAML parser recurses per nesting level and reports a stack overflow
    // as RESOURCE_EXHAUSTION: that is deep nesting, said in our words. Where the
    // overflow lands depends on the stack left (how much the JIT has compiled), and
    // it can surface as another code carrying V8's RangeError text: the same cause.
    if (err.code === 'RESOURCE_EXHAUSTION' || err.message.includes(STACK_OVERFLOW)) {
      if (!problems.some((x) => x.message === tooDeep))
        problems.push({ path: '', line: p.line, col: p.col, message: tooDeep });
      continue;
    }
    const first = err.message.split('\n')[0];
    problems.push({
      path: '',
      line: p.line,
      col: p.col,
      message: `YAML ${err.name === 'YAMLWarning' ? 'warning' : 'syntax error'}: ${first}`,
    });
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
    if (++count > MAX_FLOW_VALUES)
      return stop(
        node,
        path,
        `expands to more than ${MAX_FLOW_VALUES} values (MAX_FLOW_VALUES); are aliases multiplying a large list?`,
      );
    if (isAlias(node)) {
      if (++aliases > MAX_FLOW_ALIAS_COUNT)
        return stop(
          node,
          path,
          `more than ${MAX_FLOW_ALIAS_COUNT} aliases (MAX_FLOW_ALIAS_COUNT); write the values out or use fewer anchors`,
        );
      const target = node.resolve(doc);
      values.set(path, offsetOf(node));
      return target === undefined ? null : toValue(target, path, depth + 1);
    }
    // An alias's path keeps the alias's own position (set above), not its anchor's.
    if (node !== null && node !== undefined && !values.has(path)) values.set(path, offsetOf(node));
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const keyNode = item.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const p = childPath(path, key);
        if (keyNode) keys.set(p, offsetOf(keyNode));
        if (key === '<<') {
          problems.push({
            path: p,
            ...pos(offsetOf(keyNode)),
            message: 'merge keys (<<) are not supported',
          });
          continue;
        }
        out[key] = toValue(item.value, p, depth + 1);
        if (!values.has(p) && keyNode) values.set(p, offsetOf(keyNode));
      }
      return out;
    }
    if (isSeq(node))
      return node.items.map((item, i) => toValue(item, childPath(path, i), depth + 1));
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

/** V8's RangeError message for a stack overflow. */
const STACK_OVERFLOW = 'Maximum call stack size exceeded';
const TOO_DEEP = `nested more than ${MAX_FLOW_NESTING} levels deep (MAX_FLOW_NESTING); a flow needs far fewer`;

/**
 * A linear pre-scan for flow-collection nesting (`[` and `{`), skipping
 * quoted scalars and comments. It over-counts only for brackets inside plain
 * scalars (`a[b`), which never reach this depth in a real flow.
 */
function flowNestingProblem(source: string): YamlProblem | null {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let prev = 10; // as if after a newline
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
      prev = c;
      continue;
    }
    if (c === 35 && (prev === 32 || prev === 9 || prev === 10)) {
      // '#' comment to end of line
      while (i + 1 < source.length && source.charCodeAt(i + 1) !== 10) i++;
      continue;
    }
    // A quote opens a quoted scalar only where a scalar may start.
    if (
      (c === 34 || c === 39) &&
      (prev === 32 ||
        prev === 9 ||
        prev === 10 ||
        prev === 91 ||
        prev === 123 ||
        prev === 44 ||
        prev === 58)
    ) {
      for (i++; i < source.length; i++) {
        const d = source.charCodeAt(i);
        if (d === 10) {
          line++;
          lineStart = i + 1;
        }
        if (c === 34 && d === 92) {
          // An escape skips the next character; an escaped line break is still a line.
          i++;
          if (source.charCodeAt(i) === 10) {
            line++;
            lineStart = i + 1;
          }
          continue;
        }
        if (d === c) {
          if (c === 39 && source.charCodeAt(i + 1) === 39) {
            i++;
            continue;
          } // '' inside '…'
          break;
        }
      }
      prev = c;
      continue;
    }
    if (c === 91 || c === 123) {
      if (++depth > MAX_FLOW_NESTING)
        return { path: '', line, col: i - lineStart + 1, message: TOO_DEEP };
    } else if ((c === 93 || c === 125) && depth > 0) {
      depth--;
    }
    prev = c;
  }
  return null;
}

function offsetOf(node: unknown): number {
  const range = (node as { range?: [number, number, number] | null } | null)?.range;
  return range ? range[0] : 0;
}
