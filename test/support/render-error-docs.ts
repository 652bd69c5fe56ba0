/**
 * The errors section of docs/errors.md, rendered from src/errors.ts. The catalog is the
 * source of truth: test/unit/src/errors.test.ts compares the committed section with this
 * rendering cell by cell, so a changed exit code, HTTP status or description fails it.
 * To update the docs after changing the catalog: `node test/support/render-error-docs.ts --write`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, EXIT } from '../../src/errors.ts';

export const ERRORS_DOC = new URL('../../docs/errors.md', import.meta.url);
export const START = '<!-- section:errors -->';
export const END = '<!-- /section:errors -->';

const exitMeaning: Record<number, string> = {
  [EXIT.OK]: 'Success: everything passed.',
  [EXIT.FAILED]:
    'A check or expectation failed (a flow expectation, `check --fail-on`), or a requested message was not found.',
  [EXIT.USAGE]:
    'Your input is wrong: flags, a flow file, a rules file, an address list. Nothing was changed.',
  [EXIT.ENVIRONMENT]:
    'The cluster, the sink or the network failed. Details and a hint are printed.',
  [EXIT.INTERRUPTED]:
    'Interrupted (Ctrl-C) after cleaning up what the command created; `send`, `run` and `check` first print what was done so far.',
  [EXIT.TERMINATED]: 'Stopped by SIGTERM (128 + 15), otherwise as 130.',
};

/** The section between the markers (markers included), as the catalog says it should read. */
export function renderErrorSection(): string {
  return [
    START,
    '## Exit codes',
    '',
    'Every command exits with one of these codes:',
    '',
    '| exit | meaning |',
    '| --- | --- |',
    ...Object.values(EXIT).map((code) => `| \`${code}\` | ${exitMeaning[code]} |`),
    '',
    '## Error codes',
    '',
    'Errors print one line, `error: <message> [CODE]`, then `hint: <what to do>`; with `-o json` the',
    'error is also reported as `{"error": {"code", "message", "hint"}}`. Codes are permanent; scripts',
    'may match on them (never on the message). The sink API answers errors as JSON with the same codes.',
    '',
    '| code | exit | HTTP | meaning |',
    '| --- | --- | --- | --- |',
    ...Object.entries(ERROR_CODES).map(([code, spec]) => {
      const http = (spec as { http?: number }).http;
      return `| \`${code}\` | ${spec.exit} | ${http ?? ''} | ${spec.description} |`;
    }),
    END,
  ].join('\n');
}

/** The section as committed in docs/errors.md (markers included). */
export function committedErrorSection(doc = readFileSync(ERRORS_DOC, 'utf8')): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END, start);
  if (start < 0 || end < 0) throw new Error(`docs/errors.md lacks the ${START} … ${END} markers`);
  return doc.slice(start, end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  writeFileSync(ERRORS_DOC, doc.replace(committedErrorSection(doc), renderErrorSection()));
}
