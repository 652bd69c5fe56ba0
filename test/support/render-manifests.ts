/**
 * The generated manifests and the RBAC table of docs/cluster.md, rendered from
 * their one definition (src/manifests.ts, src/required-access.ts).
 * `npm run generate` (or `node test/support/render-manifests.ts`) rewrites
 * them; test/unit/src/manifests-sync.test.ts and test/unit/src/required-access.test.ts
 * only compare, so running the tests never changes the files they check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderedDefault } from '../../src/manifests.ts';
import {
  renderAccessTable,
  renderClusterRoleYaml,
  renderRoleYaml,
} from '../../src/required-access.ts';

export const SINK_MANIFEST = new URL('../../manifests/sink.yaml', import.meta.url);
export const ROLE = new URL('../../manifests/rbac/role.yaml', import.meta.url);
export const CLUSTER_ROLE = new URL('../../manifests/rbac/clusterrole.yaml', import.meta.url);
export const CLUSTER_DOC = new URL('../../docs/cluster.md', import.meta.url);
const RBAC_START = /<!-- rbac-table:start[^>]*-->\n/;
const RBAC_END = '<!-- rbac-table:end -->';

/** The RBAC table block of docs/cluster.md split around its markers, or null when they are missing. */
export function rbacTable(text: string): { before: string; table: string; after: string } | null {
  const m = RBAC_START.exec(text);
  const end = text.indexOf(RBAC_END);
  if (!m || end < m.index) return null;
  const from = m.index + m[0].length;
  return { before: text.slice(0, from), table: text.slice(from, end), after: text.slice(end) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SINK_MANIFEST, renderedDefault());
  writeFileSync(ROLE, renderRoleYaml());
  writeFileSync(CLUSTER_ROLE, renderClusterRoleYaml());
  const parts = rbacTable(readFileSync(CLUSTER_DOC, 'utf8'));
  if (parts === null)
    throw new Error(
      'docs/cluster.md has no <!-- rbac-table:start --> ... <!-- rbac-table:end --> block',
    );
  writeFileSync(CLUSTER_DOC, parts.before + renderAccessTable() + parts.after);
}
