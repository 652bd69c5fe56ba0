/**
 * Rewrites the README's errors section from src/errors.ts (run: node test/support/render-error-docs.ts).
 * The catalog is the source of truth; test/unit/errors.test.ts fails when the README drifts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CODES, EXIT } from '../../src/errors.ts';

const START = '<!-- section:errors -->';
const END = '<!-- /section:errors -->';
const readmePath = new URL('../../README.md', import.meta.url);
const readme = readFileSync(readmePath, 'utf8');

const exitMeaning: Record<number, string> = {
  [EXIT.OK]: 'Success: everything passed.',
  [EXIT.FAILED]: 'A check or expectation failed (a flow expectation, `check --fail-on`), or a requested message was not found.',
  [EXIT.USAGE]: 'Your input is wrong: flags, a flow file, a rules file, an address list. Nothing was changed.',
  [EXIT.ENVIRONMENT]: 'The cluster, the sink or the network failed. Details and a hint are printed.',
  [EXIT.INTERRUPTED]: 'Interrupted (Ctrl-C / SIGTERM) after cleaning up what the command created.',
};

const lines = [
  START,
  '## Exit codes and errors',
  '',
  'Every command exits with one of these codes:',
  '',
  '| exit | meaning |',
  '| --- | --- |',
  ...Object.values(EXIT).map((code) => `| \`${code}\` | ${exitMeaning[code]} |`),
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
];

const start = readme.indexOf(START);
if (start < 0) throw new Error(`README.md has no ${START} marker`);
const endMarker = readme.indexOf(END, start);
const end = endMarker < 0 ? start + START.length : endMarker + END.length;
writeFileSync(readmePath, readme.slice(0, start) + lines.join('\n') + readme.slice(end));
