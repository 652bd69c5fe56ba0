/**
 * Writes schema/email-flow.schema.json from the flow format's definition
 * (src/flow/json-schema.ts). Run it through `npm run generate`;
 * test/unit/src/flow/json-schema.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { flowJsonSchemaText } from '../../src/flow/json-schema.ts';

writeFileSync(
  new URL('../../schema/email-flow.schema.json', import.meta.url),
  flowJsonSchemaText(),
);
