import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFlow } from '../../../../src/flow/parse.ts';
import { FLOW_API_VERSION, STEP_KINDS } from '../../../../src/flow/types.ts';
import { validate } from './json-schema-lite.ts';

const schema = JSON.parse(readFileSync('schema/email-flow.schema.json', 'utf8')) as Record<
  string,
  unknown
>;
const HEAD = `apiVersion: ${FLOW_API_VERSION}\nkind: EmailFlow\n`;

function parserAccepts(source: string): boolean {
  try {
    parseFlow(source, 'f.yaml');
    return true;
  } catch {
    return false;
  }
}

/** Structural mistakes both the schema and the parser must reject (the parser checks more: regexes, templates). */
const INVALID = [
  'apiVersion: v2\nkind: EmailFlow\nsteps: [{ send: { to: a@b.test } }]\n',
  `${HEAD}steps: []\n`,
  `${HEAD}stpes: [{ send: { to: a@b.test } }]\n`,
  `${HEAD}steps: [{ name: x }]\n`,
  `${HEAD}steps: [{ send: { to: a@b.test }, expect: { to: a@b.test } }]\n`,
  `${HEAD}steps: [{ send: { subject: hi } }]\n`,
  `${HEAD}steps: [{ send: { to: a@b.test, count: 0 } }]\n`,
  `${HEAD}steps: [{ send: { to: a@b.test, rate: fast } }]\n`,
  `${HEAD}steps: [{ timeout: soon, send: { to: a@b.test } }]\n`,
  `${HEAD}steps: [{ http: { url: "ftp://x" } }]\n`,
  `${HEAD}steps: [{ http: { url: "http://x", status: 700 } }]\n`,
  `${HEAD}steps: [{ http: { url: "http://x", json: {}, body: x } }]\n`,
  `${HEAD}steps: [{ expect: { subjet: x } }]\n`,
  `${HEAD}steps: [{ expect: { dkim: maybe } }]\n`,
  `${HEAD}steps: [{ expectEvent: { type: bounce } }]\n`,
  `${HEAD}steps: [{ expectEvent: { type: rejected, status: 200 } }]\n`,
  `${HEAD}steps: [{ expectEvent: { type: webhook, code: 550 } }]\n`,
  `${HEAD}steps: [{ expectEvent: { type: rejected, code: 99 } }]\n`,
  `${HEAD}steps: [{ job: { command: [sh] } }]\n`,
  `${HEAD}defaults: { retries: 1 }\nsteps: [{ send: { to: a@b.test } }]\n`,
];

const VALID = [
  `${HEAD}steps: [{ expect: { listUnsubscribe: true, headers: { X-A: true, X-B: /b/ }, link: [x, { url: /y/, status: [200, 3xx] }], attachment: a.pdf } }]\n`,
  `${HEAD}steps: [{ send: { to: [a@b.test], rate: 10/m, retries: 2, retryDelay: 1.5s }, timeout: 30 }]\n`,
  `${HEAD}steps: [{ expectEvent: { type: webhook, format: ses, url: /hook/, status: 2xx } }]\n`,
  `${HEAD}steps: [{ job: { image: busybox, command: [sh, -c, "echo {{run.id}}"], env: { A: "1" } } }]\n`,
];

describe('flow JSON Schema', () => {
  it('is draft 2020-12 and documents every step kind', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const step = (schema.$defs as Record<string, { properties: Record<string, unknown> }>).step;
    assert.deepEqual(
      Object.keys(step.properties).filter((k) => k !== 'name' && k !== 'timeout'),
      [...STEP_KINDS],
    );
  });

  it('accepts every example, like the parser', () => {
    for (const file of readdirSync('examples').filter((f) => f.endsWith('.yaml'))) {
      const source = readFileSync(`examples/${file}`, 'utf8');
      assert.equal(parserAccepts(source), true, `parser: ${file}`);
      assert.deepEqual(validate(schema, parseYaml(source)), [], `schema: ${file}`);
    }
  });

  for (const source of VALID) {
    it(`agrees on a valid flow: ${source.split('\n')[2].slice(0, 70)}`, () => {
      assert.equal(parserAccepts(source), true, 'parser');
      assert.deepEqual(validate(schema, parseYaml(source)), [], 'schema');
    });
  }

  for (const source of INVALID) {
    it(`agrees on an invalid flow: ${source.split('\n').slice(0, 3).join(' ').slice(0, 90)}`, () => {
      assert.equal(parserAccepts(source), false, 'parser rejects it');
      assert.notDeepEqual(validate(schema, parseYaml(source)), [], 'schema rejects it');
    });
  }
});
