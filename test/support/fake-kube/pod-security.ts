/**
 * Pod Security admission, as the built-in PodSecurity admission plugin
 * enforces it from namespace labels (`pod-security.kubernetes.io/enforce`
 * and `…/enforce-version`). Each check below follows the file of the same
 * name in kubernetes/pod-security-admission `policy/` (read, not copied):
 * the same reasons, the same detail wording, the same order (Go runs the
 * `init()`s that register the checks in file-name order; baseline checks come
 * first, then the restricted ones; a baseline check marked `Overlap` is
 * replaced by its restricted twin at the restricted level, see registry.go).
 *
 * A refusal reads as the real one:
 *   pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), …
 *
 * Only `enforce` is modelled; `audit` and `warn` labels are accepted and
 * ignored (warnings are response headers that our clients never read).
 */
import { valueText } from './value-text.ts';

type Obj = Record<string, any>;

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';

/** The newest policy version the fake knows (its server version); `latest` evaluates as this. */
export const LATEST_POLICY_MINOR = 32;

export interface PolicyLevelVersion {
  level: PodSecurityLevel;
  /** `latest` or `v1.N` as written in the label. */
  version: string;
  /** Minor version the checks are evaluated at. */
  minor: number;
}

interface CheckResult {
  reason: string;
  detail: string;
}

interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** A baseline check that the restricted level replaces with a stricter twin. */
  overlap?: boolean;
  /** First policy minor version (1.N) the check exists in. */
  since: number;
  run(meta: Obj, spec: Obj): CheckResult | undefined;
}

const quoteJoin = (items: readonly string[]): string => items.map((s) => `"${s}"`).join(', ');
const plural = (one: string, many: string, n: number): string => (n === 1 ? one : many);
const containers = (names: readonly string[]): string =>
  `${plural('container', 'containers', names.length)} ${quoteJoin(names)}`;
const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** visitContainers in visitor.go: init containers, containers, ephemeral containers. */
function allContainers(spec: Obj): Obj[] {
  return [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
}

/** Containers whose check fails, by a predicate on the container. */
function failing(spec: Obj, bad: (c: Obj) => boolean): string[] {
  return allContainers(spec)
    .filter(bad)
    .map((c) => String(c.name));
}

/**
 * "pod or containers must set X" checks where a pod-level value covers the
 * containers (runAsNonRoot, seccompProfile): explicit bad values first, then
 * containers left uncovered.
 */
function podOrContainer(
  spec: Obj,
  read: (sc: Obj | undefined) => unknown,
  good: (v: unknown) => boolean,
): { badSetters: string[]; badValues: string[]; implicit: string[] } {
  const badSetters: string[] = [];
  const badValues: string[] = [];
  const podValue = read(spec.securityContext);
  let podOk = false;
  if (podValue !== undefined && podValue !== null) {
    if (good(podValue)) podOk = true;
    else {
      badSetters.push('pod');
      badValues.push(valueText(podValue));
    }
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of allContainers(spec)) {
    const v = read(c.securityContext);
    if (v !== undefined && v !== null) {
      if (!good(v)) {
        explicit.push(String(c.name));
        badValues.push(valueText(v));
      }
    } else if (!podOk) {
      implicit.push(String(c.name));
    }
  }
  if (explicit.length > 0) badSetters.push(containers(explicit));
  return { badSetters, badValues: sortedUnique(badValues), implicit };
}

const ALLOWED_BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const ALLOWED_SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const RESTRICTED_VOLUME_SOURCES_ALLOWED = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
const validSeccomp = (t: unknown): boolean => t === 'RuntimeDefault' || t === 'Localhost';

/** In registration order (file-name order of `policy/check_*.go`). */
const CHECKS: readonly Check[] = [
  {
    // check_allowPrivilegeEscalation.go
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    since: 8,
    run: (_m, spec) => {
      const bad = failing(spec, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
      return bad.length
        ? {
            reason: 'allowPrivilegeEscalation != false',
            detail: `${containers(bad)} must set securityContext.allowPrivilegeEscalation=false`,
          }
        : undefined;
    },
  },
  {
    // check_appArmorProfile.go (field and annotation forms)
    id: 'appArmorProfile',
    level: 'baseline',
    since: 0,
    run: (meta, spec) => {
      const bad: string[] = [];
      if (spec.securityContext?.appArmorProfile?.type === 'Unconfined') bad.push('pod');
      for (const c of allContainers(spec))
        if (c.securityContext?.appArmorProfile?.type === 'Unconfined')
          bad.push(`container "${c.name}"`);
      for (const [k, v] of Object.entries(meta.annotations ?? {})) {
        if (
          k.startsWith('container.apparmor.security.beta.kubernetes.io/') &&
          v !== 'runtime/default' &&
          !String(v).startsWith('localhost/')
        )
          bad.push(`${k}="${valueText(v)}"`);
      }
      return bad.length
        ? { reason: 'forbidden AppArmor profile', detail: bad.join(', ') }
        : undefined;
    },
  },
  {
    // check_capabilities_baseline.go
    id: 'capabilities_baseline',
    level: 'baseline',
    overlap: true,
    since: 0,
    run: (_m, spec) => {
      const caps: string[] = [];
      const bad = failing(spec, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter(
          (x: string) => !ALLOWED_BASELINE_CAPABILITIES.has(x),
        );
        caps.push(...extra);
        return extra.length > 0;
      });
      return bad.length
        ? {
            reason: 'non-default capabilities',
            detail: `${containers(bad)} must not include ${quoteJoin(sortedUnique(caps))} in securityContext.capabilities.add`,
          }
        : undefined;
    },
  },
  {
    // check_capabilities_restricted.go
    id: 'capabilities_restricted',
    level: 'restricted',
    since: 22,
    run: (_m, spec) => {
      const missingDrop = failing(
        spec,
        (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'),
      );
      const caps: string[] = [];
      const adding = failing(spec, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter(
          (x: string) => x !== 'NET_BIND_SERVICE',
        );
        caps.push(...extra);
        return extra.length > 0;
      });
      const details: string[] = [];
      if (missingDrop.length)
        details.push(
          `${containers(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`,
        );
      if (adding.length)
        details.push(
          `${containers(adding)} must not include ${quoteJoin(sortedUnique(caps))} in securityContext.capabilities.add`,
        );
      return details.length
        ? { reason: 'unrestricted capabilities', detail: details.join('; ') }
        : undefined;
    },
  },
  {
    // check_hostNamespaces.go
    id: 'hostNamespaces',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const used = ['hostNetwork', 'hostPID', 'hostIPC'].filter((k) => spec[k] === true).sort();
      return used.length
        ? { reason: 'host namespaces', detail: used.map((k) => `${k}=true`).join(', ') }
        : undefined;
    },
  },
  {
    // check_hostPathVolumes.go
    id: 'hostPathVolumes',
    level: 'baseline',
    overlap: true,
    since: 0,
    run: (_m, spec) => {
      const vols = (spec.volumes ?? [])
        .filter((v: Obj) => v.hostPath)
        .map((v: Obj) => String(v.name));
      return vols.length
        ? {
            reason: 'hostPath volumes',
            detail: `${plural('volume', 'volumes', vols.length)} ${quoteJoin(vols)}`,
          }
        : undefined;
    },
  },
  {
    // check_hostPorts.go
    id: 'hostPorts',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const ports: string[] = [];
      const bad = failing(spec, (c) => {
        const hp = (c.ports ?? [])
          .map((p: Obj) => Number(p.hostPort ?? 0))
          .filter((n: number) => n !== 0);
        ports.push(...hp.map(String));
        return hp.length > 0;
      });
      const list = sortedUnique(ports);
      return bad.length
        ? {
            reason: 'hostPort',
            detail: `${containers(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
          }
        : undefined;
    },
  },
  {
    // check_hostProbesAndhostLifecycle.go
    id: 'hostProbesAndhostLifecycle',
    level: 'baseline',
    since: 34,
    run: (_m, spec) => {
      const hosts: string[] = [];
      const bad = failing(spec, (c) => {
        const handlers = [
          c.livenessProbe,
          c.readinessProbe,
          c.startupProbe,
          c.lifecycle?.postStart,
          c.lifecycle?.preStop,
        ];
        const found = handlers
          .flatMap((h: Obj | undefined) => [h?.httpGet?.host, h?.tcpSocket?.host])
          .filter((h) => typeof h === 'string' && h !== '');
        hosts.push(...found);
        return found.length > 0;
      });
      return bad.length
        ? {
            reason: 'probe or lifecycle host',
            detail: `${containers(bad)} uses probe or lifecycle hosts ${quoteJoin(sortedUnique(hosts))}`,
          }
        : undefined;
    },
  },
  {
    // check_privileged.go
    id: 'privileged',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const bad = failing(spec, (c) => c.securityContext?.privileged === true);
      return bad.length
        ? {
            reason: 'privileged',
            detail: `${containers(bad)} must not set securityContext.privileged=true`,
          }
        : undefined;
    },
  },
  {
    // check_procMount.go
    id: 'procMount',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const bad = failing(
        spec,
        (c) =>
          c.securityContext?.procMount !== undefined && c.securityContext.procMount !== 'Default',
      );
      return bad.length
        ? {
            reason: 'procMount',
            detail: `${containers(bad)} must not set securityContext.procMount to "Unmasked"`,
          }
        : undefined;
    },
  },
  {
    // check_restrictedVolumes.go
    id: 'restrictedVolumes',
    level: 'restricted',
    since: 0,
    run: (_m, spec) => {
      const vols = sortedUnique(
        (spec.volumes ?? [])
          .filter(
            (v: Obj) =>
              !RESTRICTED_VOLUME_SOURCES_ALLOWED.some((k) => v[k] !== undefined && v[k] !== null),
          )
          .map((v: Obj) => String(v.name)),
      );
      // Go's %q of a []string: ["a" "b"]
      return vols.length
        ? {
            reason: 'restricted volume types',
            detail: `volumes [${vols.map((v) => `"${v}"`).join(' ')}] have restricted types`,
          }
        : undefined;
    },
  },
  {
    // check_runAsNonRoot.go
    id: 'runAsNonRoot',
    level: 'restricted',
    since: 0,
    run: (_m, spec) => {
      const r = podOrContainer(
        spec,
        (sc) => sc?.runAsNonRoot,
        (v) => v === true,
      );
      if (r.badSetters.length)
        return {
          reason: 'runAsNonRoot != true',
          detail: `${r.badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
        };
      if (r.implicit.length)
        return {
          reason: 'runAsNonRoot != true',
          detail: `pod or ${containers(r.implicit)} must set securityContext.runAsNonRoot=true`,
        };
      return undefined;
    },
  },
  {
    // check_runAsUser.go
    id: 'runAsUser',
    level: 'restricted',
    since: 23,
    run: (_m, spec) => {
      const setters: string[] = [];
      if (spec.securityContext?.runAsUser === 0) setters.push('pod');
      const bad = failing(spec, (c) => c.securityContext?.runAsUser === 0);
      if (bad.length) setters.push(containers(bad));
      return setters.length
        ? { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` }
        : undefined;
    },
  },
  {
    // check_seLinuxOptions.go
    id: 'seLinuxOptions',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const badTypes: string[] = [];
      const setters: string[] = [];
      let userOrRole = false;
      const look = (opts: Obj | undefined): boolean => {
        if (!opts) return false;
        let bad = false;
        if (!ALLOWED_SELINUX_TYPES.has(String(opts.type ?? ''))) {
          badTypes.push(String(opts.type));
          bad = true;
        }
        if (opts.user || opts.role) {
          userOrRole = true;
          bad = true;
        }
        return bad;
      };
      if (look(spec.securityContext?.seLinuxOptions)) setters.push('pod');
      const bad = failing(spec, (c) => look(c.securityContext?.seLinuxOptions));
      if (bad.length) setters.push(containers(bad));
      if (!setters.length) return undefined;
      const what: string[] = [];
      if (badTypes.length)
        what.push(
          `forbidden securityContext.seLinuxOptions.type ${quoteJoin(sortedUnique(badTypes))}`,
        );
      if (userOrRole) what.push('forbidden securityContext.seLinuxOptions.user or role');
      return {
        reason: 'seLinuxOptions',
        detail: `${setters.join(' and ')} set ${what.join('; ')}`,
      };
    },
  },
  {
    // check_seccompProfile_baseline.go (1.19+ form)
    id: 'seccompProfile_baseline',
    level: 'baseline',
    overlap: true,
    since: 0,
    run: (_m, spec) => {
      const r = podOrContainer(
        spec,
        (sc) => sc?.seccompProfile?.type,
        (v) => validSeccomp(v),
      );
      return r.badSetters.length
        ? {
            reason: 'seccompProfile',
            detail: `${r.badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${quoteJoin(r.badValues)}`,
          }
        : undefined;
    },
  },
  {
    // check_seccompProfile_restricted.go
    id: 'seccompProfile_restricted',
    level: 'restricted',
    since: 19,
    run: (_m, spec) => {
      const r = podOrContainer(
        spec,
        (sc) => sc?.seccompProfile?.type,
        (v) => validSeccomp(v),
      );
      if (r.badSetters.length)
        return {
          reason: 'seccompProfile',
          detail: `${r.badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${quoteJoin(r.badValues)}`,
        };
      if (r.implicit.length)
        return {
          reason: 'seccompProfile',
          detail: `pod or ${containers(r.implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
        };
      return undefined;
    },
  },
  {
    // check_sysctls.go
    id: 'sysctls',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const bad = sortedUnique(
        (spec.securityContext?.sysctls ?? [])
          .map((s: Obj) => String(s.name))
          .filter((n: string) => !SAFE_SYSCTLS.has(n)),
      );
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
  {
    // check_windowsHostProcess.go
    id: 'windowsHostProcess',
    level: 'baseline',
    since: 0,
    run: (_m, spec) => {
      const setters: string[] = [];
      if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
      const bad = failing(spec, (c) => c.securityContext?.windowsOptions?.hostProcess === true);
      if (bad.length) setters.push(containers(bad));
      return setters.length
        ? {
            reason: 'hostProcess',
            detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
          }
        : undefined;
    },
  },
];

const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];
const VERSION = /^v1\.(\d{1,3})$/;

/**
 * The enforce level and version from namespace labels. A missing label means
 * privileged (the default admission configuration); an invalid level or
 * version evaluates as restricted:latest, as PolicyToEvaluate does.
 */
export function enforcedPolicy(
  labels: Readonly<Record<string, string>> | undefined,
): PolicyLevelVersion {
  const rawLevel = labels?.[ENFORCE_LABEL];
  const rawVersion = labels?.[ENFORCE_VERSION_LABEL] ?? 'latest';
  if (rawLevel === undefined)
    return { level: 'privileged', version: rawVersion, minor: LATEST_POLICY_MINOR };
  const m = VERSION.exec(rawVersion);
  if (!LEVELS.includes(rawLevel as PodSecurityLevel) || (rawVersion !== 'latest' && !m))
    return { level: 'restricted', version: 'latest', minor: LATEST_POLICY_MINOR };
  return {
    level: rawLevel as PodSecurityLevel,
    version: rawVersion,
    minor: m ? Math.min(Number(m[1]), LATEST_POLICY_MINOR) : LATEST_POLICY_MINOR,
  };
}

/**
 * Evaluates a pod (metadata and spec) at a level; returns the text after
 * `is forbidden: ` or undefined when the pod is allowed.
 */
export function podSecurityViolation(policy: PolicyLevelVersion, pod: Obj): string | undefined {
  if (policy.level === 'privileged') return undefined;
  const meta = pod.metadata ?? {};
  const spec = pod.spec ?? {};
  const active = CHECKS.filter((c) => c.since <= policy.minor);
  const baseline = active.filter((c) => c.level === 'baseline' && !c.overlap);
  // registry.go: the overlapping baseline checks run after the others at baseline; restricted replaces them.
  const rest =
    policy.level === 'baseline'
      ? active.filter((c) => c.level === 'baseline' && c.overlap)
      : active.filter((c) => c.level === 'restricted');
  const failures = [...baseline, ...rest]
    .map((c) => c.run(meta, spec))
    .filter((r): r is CheckResult => r !== undefined);
  if (failures.length === 0) return undefined;
  const detail = failures
    .map((f) => (f.detail ? `${f.reason} (${f.detail})` : f.reason))
    .join(', ');
  return `violates PodSecurity "${policy.level}:${policy.version}": ${detail}`;
}
