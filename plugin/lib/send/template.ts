import { evError } from '../../../src/errors.ts';

/** Variables available in `send`'s --to, --from, --subject and --body. */
export const TEMPLATE_VARIABLES = Object.freeze(['n', 'count', 'run'] as const);
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w]*)\s*\}\}/g;

/** A parsed template: literal text and variable names, alternating. Validated once, rendered per message. */
export interface Template {
  readonly parts: ReadonlyArray<string | { variable: TemplateVariable }>;
  readonly constant: boolean;
}

/** Parses `text` (e.g. `Order {{n}} of {{count}}`), failing on unknown variables with the flag's name. */
export function parseTemplate(flag: string, text: string): Template {
  const parts: Array<string | { variable: TemplateVariable }> = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1];
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      throw evError(
        'EV_ERR_INVALID_OPTION',
        `${flag} uses an unknown template variable {{${name}}}`,
        {
          hint: `available: ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
        },
      );
    }
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ variable: name as TemplateVariable });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return { parts, constant: parts.every((p) => typeof p === 'string') };
}

export function renderTemplate(
  template: Template,
  values: Readonly<Record<TemplateVariable, string | number>>,
): string {
  let out = '';
  for (const p of template.parts) out += typeof p === 'string' ? p : String(values[p.variable]);
  return out;
}
