import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { renderedDefault } from '../../../src/manifests.ts';

import { SINK_MANIFEST as FILE } from '../../support/render-manifests.ts';

describe('manifests/sink.yaml', () => {
  it('is the rendered default of the manifest builder (regenerate: npm run generate; this test only compares)', () => {
    assert.equal(
      readFileSync(FILE, 'utf8'),
      renderedDefault(),
      'manifests/sink.yaml is stale: regenerate it with npm run generate',
    );
  });

  it('parses as YAML documents, every object managed', () => {
    const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJSON());
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['Namespace', 'Secret', 'ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy'],
    );
    for (const d of docs)
      assert.equal(d.metadata.labels['app.kubernetes.io/managed-by'], 'kubectl-email-validate');
  });
});
