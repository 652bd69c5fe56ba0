/**
 * The options table of docs/sink.md, rendered from the sink's options table
 * (sink/options.ts). `node test/support/render-sink-options.ts` rewrites the
 * docs; test/unit/sink/options.test.ts fails when they drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SINK_OPTIONS, defaultText, rangeText, valueName } from '../../sink/options.ts';
import type { SinkOptionSpec } from '../../sink/options.ts';

export const SINK_OPTIONS_DOC = new URL('../../docs/sink.md', import.meta.url);
export const START = '<!-- generated:sink-options (node test/support/render-sink-options.ts) -->';
export const END = '<!-- /generated:sink-options -->';

const code = (text: string) => `\`${text}\``;

export function renderSinkOptionsTable(): string {
  const rows = Object.values(SINK_OPTIONS as Record<string, SinkOptionSpec>).map((spec) => {
    const value = valueName(spec);
    const flag =
      spec.flag === null ? '—' : code(`--${spec.flag}${value && !spec.choices ? ` ${value}` : ''}`);
    const shownDefault = defaultText(spec);
    const range = rangeText(spec);
    return `| ${flag} | ${code(spec.env)} | ${shownDefault === null ? 'none' : spec.defaultText !== undefined || spec.type === 'boolean' ? shownDefault : code(shownDefault)} | ${range ?? ''} | ${spec.help} |`;
  });
  return [
    START,
    '| Flag | Environment | Default | Accepted | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    END,
  ].join('\n');
}

/** The generated block as it stands in the docs, or null when its markers are missing. */
export function documentedSinkOptionsTable(doc: string): string | null {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  return start < 0 || end < 0 ? null : doc.slice(start, end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(SINK_OPTIONS_DOC, 'utf8');
  const current = documentedSinkOptionsTable(doc);
  if (current === null) throw new Error(`docs/sink.md has no ${START} ... ${END} block`);
  writeFileSync(SINK_OPTIONS_DOC, doc.replace(current, renderSinkOptionsTable()));
}
