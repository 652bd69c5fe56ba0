/**
 * `{{name}}` templates in flow files. Deliberately tiny: a variable lookup and
 * nothing else (no expressions, no filters), so a flow file stays data.
 *
 * Variables: `run.id` (unique per run), `env.NAME` (from the environment the
 * runner was given, never read from process.env here), `index` (1..count in a
 * `send` step), `sink.url`, `sink.smtp` (host:port), `sink.host`, `sink.port`,
 * `sink.namespace` (cluster runs), `mock.url` (the local stand-in application).
 */

/**
 * `{{ name }}` occurrences, found by a linear scan. (The regex this replaces,
 * /\{\{\s*([^{}]*?)\s*\}\}/g, backtracked: 7.7 s on "{{" and 2,000 spaces.)
 * A candidate starts at "{{" and runs to the next brace; it is a template
 * when that brace begins "}}". Candidates never overlap, so the scan is O(n).
 */
function templateSpans(text: string): Array<{ start: number; end: number; name: string }> {
  const out: Array<{ start: number; end: number; name: string }> = [];
  let i = text.indexOf('{{');
  while (i !== -1) {
    let j = i + 2;
    while (j < text.length) {
      const c = text.charCodeAt(j);
      if (c === 123 || c === 125) break; // '{' or '}'
      j++;
    }
    if (j + 1 < text.length && text.charCodeAt(j) === 125 && text.charCodeAt(j + 1) === 125) {
      out.push({ start: i, end: j + 2, name: text.slice(i + 2, j).trim() });
      i = text.indexOf('{{', j + 2);
    } else {
      i = text.indexOf('{{', i + 1);
    }
  }
  return out;
}

const VARIABLE =
  /^(run\.id|index|sink\.url|sink\.smtp|sink\.host|sink\.port|sink\.namespace|mock\.url|env\.[A-Za-z_][A-Za-z0-9_]*)$/;

/** Variables every run provides, besides `env.*`. */
export const TEMPLATE_VARIABLES = Object.freeze([
  'run.id',
  'index',
  'sink.url',
  'sink.smtp',
  'sink.host',
  'sink.port',
  'sink.namespace',
  'mock.url',
]);

export interface TemplateVars {
  run: { id: string };
  env: Readonly<Record<string, string | undefined>>;
  index?: number;
  /** `namespace` only in cluster runs: in-cluster clients reach the sink at `email-sink.NAMESPACE.svc.cluster.local:1025`. */
  sink?: { url: string; smtp: string; host: string; port: number; namespace?: string };
  mock?: { url: string };
}

/** Characters of an unknown variable name quoted in an error: a hostile file cannot make the message huge. */
const MAX_SHOWN_NAME = 60;

export class TemplateError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = 'TemplateError';
    this.variable = variable;
  }
}

/** Names used in `text` (`run.id`, `env.HOME`, …); throws for syntax it does not know. */
export function templateVariables(text: string): string[] {
  const names: string[] = [];
  const spans = templateSpans(text);
  for (const { name } of spans) {
    if (!VARIABLE.test(name)) {
      const shown = name.length > MAX_SHOWN_NAME ? `${name.slice(0, MAX_SHOWN_NAME)}…` : name;
      throw new TemplateError(
        name,
        `unknown template variable "{{${shown}}}" (known: ${TEMPLATE_VARIABLES.join(', ')}, env.NAME)`,
      );
    }
    names.push(name);
  }
  let stripped = '';
  let from = 0;
  for (const sp of spans) {
    stripped += text.slice(from, sp.start);
    from = sp.end;
  }
  stripped += text.slice(from);
  if (stripped.includes('{{')) throw new TemplateError('', 'unclosed "{{" in template');
  return names;
}

function lookup(name: string, vars: TemplateVars): string {
  if (name === 'run.id') return vars.run.id;
  if (name.startsWith('env.')) {
    const value = vars.env[name.slice(4)];
    if (value === undefined)
      throw new TemplateError(
        name,
        `environment variable ${name.slice(4)} is not set (used as {{${name}}})`,
      );
    return value;
  }
  if (name === 'index') {
    if (vars.index === undefined)
      throw new TemplateError(name, '{{index}} is only available in a send step');
    return String(vars.index);
  }
  if (name.startsWith('sink.')) {
    if (!vars.sink) throw new TemplateError(name, `{{${name}}} is not known yet`);
    const key = name.slice(5) as 'url' | 'smtp' | 'host' | 'port' | 'namespace';
    const value = vars.sink[key];
    if (value === undefined)
      throw new TemplateError(name, `{{${name}}} is only known in a cluster run`);
    return String(value);
  }
  if (name === 'mock.url') {
    if (!vars.mock) throw new TemplateError(name, '{{mock.url}} is not available in this run');
    return vars.mock.url;
  }
  throw new TemplateError(name, `unknown template variable "{{${name}}}"`);
}

/** Renders every `{{variable}}` in `text`. */
export function renderTemplate(text: string, vars: TemplateVars): string {
  if (!text.includes('{{')) return text;
  templateVariables(text);
  let out = '';
  let from = 0;
  for (const sp of templateSpans(text)) {
    out += text.slice(from, sp.start) + lookup(sp.name, vars);
    from = sp.end;
  }
  return out + text.slice(from);
}

/** Renders every string inside a JSON-like value (keys too). */
export function renderDeep(value: unknown, vars: TemplateVars): unknown {
  if (typeof value === 'string') return renderTemplate(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[renderTemplate(k, vars)] = renderDeep(v, vars);
    return out;
  }
  return value;
}

/** Values that let a template be validated before a run (regexes compiled with them). */
export const PLACEHOLDER_VARS: TemplateVars = Object.freeze({
  run: { id: 'runid' },
  env: new Proxy({}, { get: () => 'x' }),
  index: 1,
  sink: {
    url: 'http://127.0.0.1:1',
    smtp: '127.0.0.1:1',
    host: '127.0.0.1',
    port: 1,
    namespace: 'ns',
  },
  mock: { url: 'http://127.0.0.1:1' },
});
