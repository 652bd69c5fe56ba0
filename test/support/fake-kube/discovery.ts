/**
 * Discovery documents. kubectl first asks for aggregated discovery
 * (`Accept: …;as=APIGroupDiscoveryList`); answering plain `application/json`
 * makes it fall back to the legacy documents below, which is what we do.
 */
import { apiVersionOf, groupsInOrder, RESOURCE_TYPES } from './resources.ts';

/** The Kubernetes version the fake claims (the kubectl dispatcher picks its binary from it). */
export const FAKE_SERVER_VERSION = Object.freeze({
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
});

/** `/version`; `minor` overrides the claimed minor version (the 1.35 mode of port-forward authorization says 35). */
export function versionDoc(minor?: string): unknown {
  return {
    major: FAKE_SERVER_VERSION.major,
    minor: minor ?? FAKE_SERVER_VERSION.minor,
    gitVersion: minor ? `v1.${minor}.0` : FAKE_SERVER_VERSION.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersionsDoc(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupListDoc(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsInOrder().map(({ group, version }) => ({
      name: group,
      versions: [{ groupVersion: `${group}/${version}`, version }],
      preferredVersion: { groupVersion: `${group}/${version}`, version },
    })),
  };
}

export function apiGroupDoc(group: string): unknown {
  const g = groupsInOrder().find((x) => x.group === group);
  if (!g) return undefined;
  const gv = { groupVersion: `${g.group}/${g.version}`, version: g.version };
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: g.group,
    versions: [gv],
    preferredVersion: gv,
  };
}

export function resourceListDoc(group: string, version: string): unknown {
  const types = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (types.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const r of types) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
    };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    entry.storageVersionHash = Buffer.from(`${r.group}/${r.plural}`)
      .toString('base64')
      .slice(0, 11);
    resources.push(entry);
    for (const s of r.subresources ?? []) {
      const sub: Record<string, unknown> = {
        name: `${r.plural}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: s.kind,
        verbs: s.verbs,
      };
      if (s.group !== undefined) {
        sub.group = s.group;
        sub.version = s.version;
      }
      resources.push(sub);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(types[0]),
    resources,
  };
}
