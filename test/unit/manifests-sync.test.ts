import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { renderedDefault } from '../../src/manifests.ts';

const FILE = new URL('../../manifests/sink.yaml', import.meta.url);

describe('manifests/sink.yaml', () => {
  it('is the rendered default of the manifest builder (regenerate: EV_UPDATE_MANIFESTS=1 npx mocha test/unit/manifests-sync.test.ts)', () => {
    const expected = renderedDefault();
    if (process.env.EV_UPDATE_MANIFESTS === '1') writeFileSync(FILE, expected);
    assert.equal(readFileSync(FILE, 'utf8'), expected, 'manifests/sink.yaml is stale: regenerate it (see the test title)');
  });

  it('parses as YAML documents, every object managed', () => {
    const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => d.toJSON());
    assert.deepEqual(docs.map((d) => d.kind), ['Namespace', 'Secret', 'ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy']);
    for (const d of docs) assert.equal(d.metadata.labels['app.kubernetes.io/managed-by'], 'kubectl-email-validate');
  });
});
