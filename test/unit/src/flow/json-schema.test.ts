import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FLOW_FIELDS } from '../../../../src/flow/format.ts';
import { flowJsonSchema, flowJsonSchemaText } from '../../../../src/flow/json-schema.ts';
import { parseFlow } from '../../../../src/flow/parse.ts';
import { FLOW_API_VERSION } from '../../../../src/flow/types.ts';

describe('flow JSON Schema generated from the format (src/flow/json-schema.ts)', () => {
  it('the committed schema/email-flow.schema.json is the generated one (npm run generate)', () => {
    assert.equal(readFileSync('schema/email-flow.schema.json', 'utf8'), flowJsonSchemaText());
  });

  it('each mapping in the schema lists exactly the fields the parser allows', () => {
    const defs = (flowJsonSchema().$defs ?? {}) as Record<
      string,
      { properties?: Record<string, unknown> }
    >;
    assert.deepEqual(Object.keys(flowJsonSchema().properties as object), [...FLOW_FIELDS.flow]);
    for (const kind of ['step', 'send', 'http', 'job', 'expect', 'expectEvent'] as const) {
      assert.deepEqual(Object.keys(defs[kind].properties!), [...FLOW_FIELDS[kind]], kind);
    }
    assert.deepEqual(Object.keys(defs.expectNone.properties!), [...FLOW_FIELDS.criteria]);
  });

  it('the parser refuses a field the format does not declare, naming the declared ones', () => {
    const source = `apiVersion: ${FLOW_API_VERSION}\nkind: EmailFlow\nsteps:\n  - send: { to: a@b.test, tos: x }\n`;
    assert.throws(
      () => parseFlow(source, 'f.yaml'),
      (err: Error) => err.message.includes(`(allowed: ${FLOW_FIELDS.send.join(', ')})`),
    );
  });
});
