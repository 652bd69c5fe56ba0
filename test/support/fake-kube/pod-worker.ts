/**
 * One scheduled pod on the fake node: its loopback address, its temp dir with
 * materialised volumes, its containers as child processes (init containers
 * first, in order), restarts with CrashLoopBackOff, readiness, logs, faults,
 * the status it reports, and graceful termination.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  containerArgv,
  imageUser,
  isRedisImage,
  redisArgv,
  redisPort,
} from './container-command.ts';
import type { FaultControls } from './faults.ts';
import type { InternalErrors } from './internal-errors.ts';
import { LogBuffer } from './logs.ts';
import { isRunnableProbe, probeOnce } from './probes.ts';
import { resolveResource } from './resources.ts';
import { clone } from './store.ts';
import type { KubeObject, Store } from './store.ts';
import { MissingSourceError, rewritePaths } from './volumes.ts';
import type { PodMaterializer } from './volumes.ts';

type Obj = Record<string, any>;

/** Retry period when a pod's ConfigMap/Secret is missing. */
export const SOURCE_RETRY_MS = 100;

export interface PodWorkerOptions {
  rootDir: string;
  apiHost: string;
  apiPort: number;
  /** Readiness probe period until first success. */
  probeIntervalMs: number;
  /** Readiness probe period once ready. */
  probePeriodMs: number;
  /** Liveness probe period once passed (lenient: a loaded CI machine must not kill healthy pods). */
  livenessPeriodMs: number;
  /** First CrashLoopBackOff delay; doubles per restart. */
  crashBackoffMs: number;
  crashBackoffMaxMs: number;
  /** Cap on terminationGracePeriodSeconds before SIGKILL. */
  maxGraceMs: number;
  /** Image USER overrides (see container-command.ts imageUser). */
  imageUsers?: Readonly<Record<string, string | number>>;
  /**
   * `IPv6`: every pod's address is `::1`, its fixed ports are remapped per pod
   * (netns-hook.mjs), and EV_HOST is left as the manifest says. Default `IPv4`.
   */
  ipFamily?: 'IPv4' | 'IPv6';
}

/**
 * The check kubelet makes before creating a container whose effective
 * securityContext says runAsNonRoot (kuberuntime security_context_others.go
 * verifyRunAsNonRoot); the message is kubelet's, the reason
 * CreateContainerConfigError. Undefined when the container may start.
 */
export function nonRootViolation(
  pod: Obj,
  c: Obj,
  imageUsers: Readonly<Record<string, string | number>> = {},
): string | undefined {
  const sc = c.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) return undefined;
  const where = `(pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${c.name})`;
  const uid = sc.runAsUser ?? psc.runAsUser;
  if (uid !== undefined && uid !== null)
    return Number(uid) === 0 ? `container's runAsUser breaks non-root policy ${where}` : undefined;
  const user = imageUser(String(c.image ?? ''), imageUsers).split(':')[0];
  if (user === '' || user === 'root' || user === '0')
    return `container has runAsNonRoot and image will run as root ${where}`;
  if (!/^\d+$/.test(user))
    return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${where}`;
  return undefined;
}

/** The preload that stands in for a pod's network namespace in IPv6 mode. */
export const NETNS_HOOK_URL = new URL('./netns-hook.mjs', import.meta.url).href;

/** What a PodWorker needs from its kubelet. */
export interface KubeletHost {
  readonly opts: PodWorkerOptions;
  readonly store: Store;
  readonly faults: FaultControls;
  readonly materializer: PodMaterializer;
  readonly shimDir: string;
  readonly closed: boolean;
  readonly errors: InternalErrors;
  runs(image: string): boolean;
  /** Cluster DNS stand-in for env values (see Kubelet.serviceHostsToIps). */
  serviceHostsToIps(value: string): string;
  event(pod: Obj, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

interface ContainerRun {
  spec: Obj;
  init: boolean;
  proc?: ChildProcess;
  state: Obj;
  lastState: Obj;
  restartCount: number;
  ready: boolean;
  started: boolean;
  log: LogBuffer;
  previousLog?: LogBuffer;
  timers: Set<NodeJS.Timeout>;
  exited?: Promise<void>;
  done: boolean;
  exitCode?: number;
}

export class PodWorker {
  readonly uid: string;
  readonly ns: string;
  readonly name: string;
  readonly ip: string;
  private pod: Obj;
  private readonly kubelet: KubeletHost;
  private readonly dir: string;
  /** IPv6 mode: where the pod's processes record "container port -> host port" (netns-hook.mjs). */
  readonly netnsDir: string | undefined;
  private readonly containers: ContainerRun[];
  private initDone = false;
  private terminating = false;
  private startTime: string;
  private publishQueued = false;
  private mounts = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private holdReason: { reason: string; message: string; container?: boolean } | undefined;

  constructor(kubelet: KubeletHost, pod: Obj, ip: string) {
    this.kubelet = kubelet;
    this.pod = pod;
    this.uid = pod.metadata.uid;
    this.ns = pod.metadata.namespace;
    this.name = pod.metadata.name;
    this.ip = ip;
    this.dir = mkdtempSync(join(kubelet.opts.rootDir, `${this.name.slice(0, 40)}-`));
    this.netnsDir = kubelet.opts.ipFamily === 'IPv6' ? join(this.dir, 'netns') : undefined;
    this.startTime = kubelet.store.timestamp();
    const mk = (spec: Obj, init: boolean): ContainerRun => ({
      spec,
      init,
      state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
      lastState: {},
      restartCount: 0,
      ready: false,
      started: false,
      log: new LogBuffer(),
      timers: new Set(),
      done: false,
    });
    this.containers = [
      ...(pod.spec.initContainers ?? []).map((c: Obj) => mk(c, true)),
      ...(pod.spec.containers ?? []).map((c: Obj) => mk(c, false)),
    ];
  }

  private get faults(): FaultControls {
    return this.kubelet.faults;
  }

  private after(ms: number, fn: () => void, set: Set<NodeJS.Timeout> = this.timers): void {
    const t = setTimeout(
      this.kubelet.errors.guard(`kubelet ${this.ns}/${this.name}`, () => {
        set.delete(t);
        if (!this.terminating) fn();
      }),
      ms,
    );
    set.add(t);
  }

  start(): void {
    this.publish();
    this.after(this.faults.delays.startMs, () => this.launch());
  }

  private launch(): void {
    const fault = this.faults.podFaultFor(this.pod as KubeObject);
    if (fault) {
      this.applyFault(fault.reason, fault.message);
      return;
    }
    const main = this.containers.filter((c) => !c.init);
    for (const c of this.containers) {
      const image = String(c.spec.image ?? '');
      if (!this.kubelet.runs(image) && !this.faults.simulateOtherImages) {
        const ref = image.includes('/') ? image : `docker.io/library/${image}`;
        this.setWaiting(
          c,
          'ErrImagePull',
          `failed to pull and unpack image "${ref}": fake-kube runs only Node.js images (node:*) unless told otherwise`,
        );
        this.kubelet.event(
          this.pod,
          'Warning',
          'Failed',
          `Failed to pull image "${image}": fake-kube runs only Node.js images`,
        );
        this.after(this.kubelet.opts.crashBackoffMs, () =>
          this.setWaiting(c, 'ImagePullBackOff', `Back-off pulling image "${image}"`),
        );
        return;
      }
    }
    try {
      const dirs = this.kubelet.materializer.materializeVolumes(this.pod as KubeObject, this.dir);
      this.mounts = dirs;
    } catch (err) {
      if (err instanceof MissingSourceError) {
        this.holdReason = { reason: 'ContainerCreating', message: err.message };
        this.kubelet.event(
          this.pod,
          'Warning',
          'FailedMount',
          `MountVolume.SetUp failed: ${err.message}`,
        );
        this.publish();
        this.after(SOURCE_RETRY_MS, () => this.launch());
        return;
      }
      throw err;
    }
    this.holdReason = undefined;
    void main;
    this.runInit(0);
  }

  private runInit(i: number): void {
    const inits = this.containers.filter((c) => c.init);
    if (i >= inits.length) {
      this.initDone = true;
      for (const c of this.containers.filter((x) => !x.init)) this.startContainer(c);
      this.publish();
      return;
    }
    const c = inits[i];
    this.startContainer(c, () => this.runInit(i + 1));
  }

  private applyFault(reason: string, message: string | undefined): void {
    const main = this.containers.filter((c) => !c.init);
    this.initDone = true;
    switch (reason) {
      case 'ImagePullBackOff':
      case 'ErrImagePull':
        for (const c of main)
          this.setWaiting(c, reason, message ?? `Back-off pulling image "${c.spec.image}"`);
        this.kubelet.event(
          this.pod,
          'Warning',
          'Failed',
          `Failed to pull image: ${message ?? reason}`,
        );
        return;
      case 'CreateContainerConfigError':
        for (const c of main) this.setWaiting(c, reason, message ?? 'secret "missing" not found');
        return;
      case 'CrashLoopBackOff': {
        const crash = (): void => {
          const now = this.kubelet.store.timestamp();
          for (const c of main) {
            c.restartCount++;
            c.lastState = {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                startedAt: now,
                finishedAt: now,
                containerID: this.containerId(c),
              },
            };
            c.state = {
              waiting: {
                reason: 'CrashLoopBackOff',
                message:
                  message ??
                  `back-off 10s restarting failed container=${c.spec.name} pod=${this.name}_${this.ns}(${this.uid})`,
              },
            };
          }
          this.publish();
          this.after(
            Math.min(
              this.kubelet.opts.crashBackoffMs * 2 ** Math.min(main[0]?.restartCount ?? 0, 10),
              this.kubelet.opts.crashBackoffMaxMs,
            ),
            crash,
          );
        };
        crash();
        return;
      }
      default: {
        // Running, never Ready: the reason goes into the Ready condition.
        this.holdReason = {
          reason,
          message: message ?? `held not ready by fake-kube fault: ${reason}`,
        };
        const now = this.kubelet.store.timestamp();
        for (const c of main) {
          c.state = { running: { startedAt: now } };
          c.started = true;
        }
        this.publish();
      }
    }
  }

  private setWaiting(c: ContainerRun, reason: string, message: string): void {
    c.state = { waiting: { reason, message } };
    c.ready = false;
    this.publish();
  }

  private containerId(c: ContainerRun): string {
    return `containerd://${(this.uid + c.spec.name)
      .replace(/[^0-9a-f]/g, '')
      .padEnd(64, '0')
      .slice(0, 64)}`;
  }

  private startContainer(c: ContainerRun, onSuccess?: () => void): void {
    if (this.terminating) return;
    const image = String(c.spec.image ?? '');
    const nonRoot = nonRootViolation(this.pod, c.spec, this.kubelet.opts.imageUsers);
    if (nonRoot) {
      // Nothing about the pod can change this: the container stays waiting, as on a real node.
      this.setWaiting(c, 'CreateContainerConfigError', nonRoot);
      this.kubelet.event(this.pod, 'Warning', 'Failed', `Error: ${nonRoot}`);
      return;
    }
    if (!this.kubelet.runs(image)) {
      // Simulated image: Running and Ready without a process.
      c.state = { running: { startedAt: this.kubelet.store.timestamp() } };
      c.started = true;
      c.ready = true;
      this.publish();
      onSuccess?.();
      return;
    }
    let env: Record<string, string>;
    let mounts: Array<[string, string]>;
    try {
      env = this.kubelet.materializer.resolveEnv(this.pod as KubeObject, c.spec);
      mounts = this.kubelet.materializer.mountMap(c.spec, this.mounts);
    } catch (err) {
      if (err instanceof MissingSourceError) {
        this.setWaiting(c, 'CreateContainerConfigError', err.message);
        this.after(SOURCE_RETRY_MS, () => this.startContainer(c, onSuccess), c.timers);
        return;
      }
      throw err;
    }
    // IPv4 mode: pods share the host's network, each on its own 127.x address, so EV_HOST must be that address.
    // IPv6 mode: the listen address stays the manifest's, which is what an IPv6-only cluster tests.
    if (!this.netnsDir && (c.spec.env ?? []).some((e: Obj) => e.name === 'EV_HOST'))
      env.EV_HOST = this.ip;
    // No cluster DNS here (deviation 2): service host names in env values become a ready endpoint's podIP.
    for (const [k, v] of Object.entries(env)) env[k] = this.kubelet.serviceHostsToIps(v);
    for (const [k, v] of Object.entries(env)) env[k] = rewritePaths(v, mounts);
    let argv = containerArgv(c.spec, env, mounts);
    if (isRedisImage(image)) {
      // IPv6 mode: a C program cannot take the Node preload; pick its host port here and record it the same way.
      const hostPort = this.netnsDir ? 20_000 + Math.floor(Math.random() * 40_000) : undefined;
      if (this.netnsDir && hostPort !== undefined) {
        mkdirSync(this.netnsDir, { recursive: true });
        writeFileSync(
          join(this.netnsDir, String(redisPort(argv))),
          JSON.stringify({ host: this.ip, port: hostPort }),
        );
      }
      argv = redisArgv(argv, this.ip, hostPort);
    }
    const workingDir = c.spec.workingDir
      ? rewritePaths(String(c.spec.workingDir), mounts)
      : undefined;
    // readOnlyRootFilesystem: whatever is not a mounted volume is the image's root filesystem, here a
    // directory without write permission (cwd, HOME and TMPDIR point into it unless a volume covers them).
    const readOnlyRoot = c.spec.securityContext?.readOnlyRootFilesystem === true;
    const rootFs = join(this.dir, `rootfs-${c.spec.name}`);
    mkdirSync(join(rootFs, 'home'), { recursive: true });
    if (readOnlyRoot) {
      chmodSync(join(rootFs, 'home'), 0o555);
      chmodSync(rootFs, 0o555);
    }
    const cwd =
      workingDir && workingDir !== c.spec.workingDir
        ? workingDir
        : readOnlyRoot
          ? rootFs
          : this.dir;
    const home = readOnlyRoot ? join(rootFs, 'home') : join(this.dir, 'home');
    mkdirSync(home, { recursive: true });
    const tmpMount = rewritePaths('/tmp', mounts);
    const tmpEnv: Record<string, string> =
      tmpMount !== '/tmp' ? { TMPDIR: tmpMount } : readOnlyRoot ? { TMPDIR: rootFs } : {};
    const fullEnv: Record<string, string> = {
      PATH: `${this.kubelet.shimDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOSTNAME: String(this.pod.spec.hostname ?? this.name),
      HOME: home,
      KUBERNETES_SERVICE_HOST: this.kubelet.opts.apiHost,
      KUBERNETES_SERVICE_PORT: String(this.kubelet.opts.apiPort),
      KUBERNETES_PORT: `tcp://${this.kubelet.opts.apiHost}:${this.kubelet.opts.apiPort}`,
      ...tmpEnv,
      ...env,
    };
    if (this.netnsDir) {
      fullEnv.NODE_OPTIONS = `${fullEnv.NODE_OPTIONS ?? ''} --import=${NETNS_HOOK_URL}`.trim();
      fullEnv.FAKE_KUBE_NETNS_DIR = this.netnsDir;
      fullEnv.FAKE_KUBE_POD_IP = this.ip;
    }
    if (c.restartCount > 0 || c.log.isEnded) {
      c.previousLog = c.log;
      c.log = new LogBuffer();
    }
    const startedAt = this.kubelet.store.timestamp();
    let proc: ChildProcess;
    try {
      proc = spawn(argv[0], argv.slice(1), {
        cwd,
        env: fullEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.onExit(c, 128, null, startedAt, `StartError: ${(err as Error).message}`, onSuccess);
      return;
    }
    c.proc = proc;
    c.state = { running: { startedAt } };
    c.started = true;
    c.ready = false;
    const log = c.log;
    proc.stdout?.on('data', (d: Buffer) => log.append(d));
    proc.stderr?.on('data', (d: Buffer) => log.append(d));
    let spawnError: string | undefined;
    proc.on('error', (err) => {
      spawnError = err.message;
    });
    c.exited = new Promise<void>((resolve) => {
      proc.on(
        'close',
        this.kubelet.errors.guard(
          `kubelet ${this.ns}/${this.name}`,
          (code: number | null, signal: NodeJS.Signals | null) => {
            log.end();
            c.proc = undefined;
            resolve();
            this.onExit(
              c,
              code ?? (spawnError ? 128 : 137),
              signal,
              startedAt,
              spawnError,
              onSuccess,
            );
          },
        ),
      );
    });
    this.kubelet.event(this.pod, 'Normal', 'Started', `Started container ${c.spec.name}`);
    if (!c.init) {
      this.beginReadiness(c);
      this.beginLiveness(c);
    }
    this.publish();
  }

  private beginReadiness(c: ContainerRun): void {
    const probe = c.spec.readinessProbe as Obj | undefined;
    const proc = c.proc;
    const markReady = (ready: boolean): void => {
      if (c.proc !== proc || this.terminating) return;
      if (c.ready === ready) return;
      if (ready && this.faults.delays.readyMs > 0) {
        this.after(
          this.faults.delays.readyMs,
          () => {
            if (c.proc !== proc) return;
            c.ready = true;
            this.publish();
          },
          c.timers,
        );
        return;
      }
      c.ready = ready;
      this.publish();
    };
    if (!isRunnableProbe(probe)) {
      markReady(true);
      return;
    }
    let failures = 0;
    const threshold = Math.max(1, Number(probe.failureThreshold ?? 3));
    const tick = (): void => {
      if (c.proc !== proc || this.terminating) return;
      void probeOnce(this.ip, c.spec, probe, (port) => this.hostPort(port)).then((ok) => {
        if (c.proc !== proc || this.terminating) return;
        if (ok) {
          failures = 0;
          markReady(true);
        } else if (c.ready) {
          failures++;
          if (failures >= threshold) markReady(false);
        }
        this.after(
          c.ready ? this.kubelet.opts.probePeriodMs : this.kubelet.opts.probeIntervalMs,
          tick,
          c.timers,
        );
      });
    };
    tick();
  }

  /**
   * livenessProbe: once the container has passed it, `failureThreshold` misses
   * in a row kill it with SIGKILL and the restart policy decides what follows.
   * (initialDelaySeconds is not timed; a container that never passed is left alone.)
   */
  private beginLiveness(c: ContainerRun): void {
    const probe = c.spec.livenessProbe as Obj | undefined;
    if (!isRunnableProbe(probe)) return;
    const proc = c.proc;
    const threshold = Math.max(1, Number(probe.failureThreshold ?? 3));
    let failures = 0;
    let passed = false;
    const tick = (): void => {
      if (c.proc !== proc || this.terminating) return;
      void probeOnce(this.ip, c.spec, probe, (port) => this.hostPort(port)).then((ok) => {
        if (c.proc !== proc || this.terminating) return;
        if (ok) {
          passed = true;
          failures = 0;
        } else if (passed && ++failures >= threshold) {
          this.kubelet.event(
            this.pod,
            'Warning',
            'Unhealthy',
            `Liveness probe failed; container ${c.spec.name} will be restarted`,
          );
          proc?.kill('SIGKILL');
          return;
        }
        this.after(
          passed ? this.kubelet.opts.livenessPeriodMs : this.kubelet.opts.probeIntervalMs,
          tick,
          c.timers,
        );
      });
    };
    tick();
  }

  private onExit(
    c: ContainerRun,
    code: number,
    signal: NodeJS.Signals | null,
    startedAt: string,
    startError: string | undefined,
    onSuccess?: () => void,
  ): void {
    for (const t of c.timers) clearTimeout(t);
    c.timers.clear();
    c.ready = false;
    const finishedAt = this.kubelet.store.timestamp();
    const exitCode = signal
      ? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1)
      : code;
    const reason = startError
      ? 'StartError'
      : exitCode === 0
        ? 'Completed'
        : signal === 'SIGKILL'
          ? 'OOMKilled'
          : 'Error';
    const terminated: Obj = {
      exitCode,
      reason,
      startedAt,
      finishedAt,
      containerID: this.containerId(c),
    };
    if (startError) terminated.message = startError;
    if (signal) terminated.signal = signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1;
    if (signal === 'SIGKILL') terminated.reason = 'Error';
    if (this.terminating) {
      c.state = { terminated };
      c.done = true;
      return;
    }
    const policy = String(this.pod.spec.restartPolicy ?? 'Always');
    const restart = c.init
      ? exitCode !== 0 && policy !== 'Never'
      : policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (!restart) {
      c.state = { terminated };
      c.done = true;
      c.exitCode = exitCode;
      if (c.init && exitCode === 0) onSuccess?.();
      this.publish();
      return;
    }
    c.lastState = { terminated };
    c.restartCount++;
    const backoff = Math.min(
      this.kubelet.opts.crashBackoffMs * 2 ** Math.min(c.restartCount - 1, 20),
      this.kubelet.opts.crashBackoffMaxMs,
    );
    c.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.ceil(backoff / 1000)}s restarting failed container=${c.spec.name} pod=${this.name}_${this.ns}(${this.uid})`,
      },
    };
    this.kubelet.event(this.pod, 'Warning', 'BackOff', 'Back-off restarting failed container');
    this.publish();
    this.after(backoff, () => this.startContainer(c, onSuccess), c.timers);
  }

  logOf(container: string | undefined, previous: boolean): LogBuffer | undefined {
    const c = container
      ? this.containers.find((x) => x.spec.name === container)
      : this.containers.find((x) => !x.init);
    if (!c) return undefined;
    if (previous) return c.previousLog;
    return c.started || c.previousLog ? c.log : undefined;
  }

  containerNames(): string[] {
    return this.containers.map((c) => String(c.spec.name));
  }

  /** Refresh the spec/metadata the worker reads (labels for faults, fieldRefs). */
  observe(pod: Obj): void {
    this.pod = pod;
  }

  private phase(): string {
    const main = this.containers.filter((c) => !c.init);
    if (main.length > 0 && main.every((c) => c.done)) {
      const policy = String(this.pod.spec.restartPolicy ?? 'Always');
      if (policy !== 'Always') return main.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    if (!this.initDone) return 'Pending';
    if (main.every((c) => c.started || c.done || c.restartCount > 0)) return 'Running';
    return 'Pending';
  }

  publish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    setImmediate(
      this.kubelet.errors.guard(`kubelet ${this.ns}/${this.name}`, () => {
        this.publishQueued = false;
        this.writeStatus();
      }),
    );
  }

  private writeStatus(): void {
    if (this.terminating || this.kubelet.closed) return;
    const podRt = resolveResource('pods');
    const live = this.kubelet.store.get(podRt, this.ns, this.name) as Obj | undefined;
    if (!live || live.metadata.uid !== this.uid || live.metadata.deletionTimestamp) return;
    this.pod = live;
    const now = this.kubelet.store.timestamp();
    const prev = (live.status ?? {}) as Obj;
    const phase = this.phase();
    const main = this.containers.filter((c) => !c.init);
    const allReady = main.length > 0 && main.every((c) => c.ready) && !this.holdReason;
    const cond = (type: string, ok: boolean, reason?: string, message?: string): Obj => {
      const old = (prev.conditions ?? []).find((x: Obj) => x.type === type);
      const status = ok ? 'True' : 'False';
      const c: Obj = {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
      };
      if (!ok && reason) c.reason = reason;
      if (!ok && message) c.message = message;
      return c;
    };
    const unready = main.filter((c) => !c.ready).map((c) => c.spec.name);
    const completed = phase === 'Succeeded' || phase === 'Failed';
    const readyReason = completed
      ? 'PodCompleted'
      : this.holdReason && !this.holdReason.container
        ? this.holdReason.reason
        : 'ContainersNotReady';
    const readyMessage = completed
      ? undefined
      : this.holdReason
        ? this.holdReason.message
        : `containers with unready status: [${unready.join(' ')}]`;
    const scheduled = (prev.conditions ?? []).find((x: Obj) => x.type === 'PodScheduled') ?? {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: now,
    };
    const conditions = [
      cond('PodReadyToStartContainers', true),
      cond(
        'Initialized',
        this.initDone,
        'ContainersNotInitialized',
        'containers with incomplete status: [init]',
      ),
      cond('Ready', allReady, readyReason, readyMessage),
      cond('ContainersReady', allReady, readyReason, readyMessage),
      scheduled,
    ];
    const statusOf = (c: ContainerRun): Obj => {
      const s: Obj = {
        name: c.spec.name,
        state: c.state,
        lastState: c.lastState,
        ready: c.ready,
        restartCount: c.restartCount,
        image: c.spec.image,
        imageID: '',
        started: c.started && c.state.running !== undefined,
      };
      if (c.started) {
        s.containerID = this.containerId(c);
        s.imageID = `${String(c.spec.image).includes('/') ? c.spec.image : `docker.io/library/${c.spec.image}`}@sha256:${'0'.repeat(64)}`;
      }
      if (this.holdReason && !c.init && this.holdReason.reason === 'ContainerCreating')
        s.state = { waiting: { reason: 'ContainerCreating' } };
      return s;
    };
    const status: Obj = {
      phase,
      conditions,
      hostIP: this.netnsDir ? '::1' : '127.0.0.1',
      hostIPs: [{ ip: this.netnsDir ? '::1' : '127.0.0.1' }],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      startTime: this.startTime,
      containerStatuses: main.map(statusOf),
      qosClass: prev.qosClass ?? 'BestEffort',
    };
    const inits = this.containers.filter((c) => c.init);
    if (inits.length > 0) status.initContainerStatuses = inits.map(statusOf);
    if (JSON.stringify(status) === JSON.stringify(prev)) return;
    const next = clone(live);
    next.status = status;
    this.kubelet.store.update(podRt, next as KubeObject);
  }

  /** Synchronous SIGKILL of every process (process exit path). */
  killNow(): void {
    for (const c of this.containers) c.proc?.kill('SIGKILL');
  }

  /** SIGTERM every process, SIGKILL after the (capped) grace period; resolves when all exited. */
  /**
   * Where the pod's `containerPort` is reachable on its address: the port
   * itself (IPv4 mode), or the host port its process bound (IPv6 mode;
   * undefined while nothing listens, which callers treat as refused).
   */
  hostPort(containerPort: number): number | undefined {
    if (!this.netnsDir) return containerPort;
    try {
      const rec = JSON.parse(readFileSync(join(this.netnsDir, String(containerPort)), 'utf8')) as {
        port?: unknown;
      };
      return typeof rec.port === 'number' ? rec.port : undefined;
    } catch {
      return undefined;
    }
  }

  async terminate(graceSeconds: number): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.containers) {
      for (const t of c.timers) clearTimeout(t);
      c.timers.clear();
    }
    const running = this.containers.filter((c) => c.proc && c.exited !== undefined);
    for (const c of running) c.proc?.kill('SIGTERM');
    const graceMs = Math.min(Math.max(0, graceSeconds) * 1000, this.kubelet.opts.maxGraceMs);
    const killer = setTimeout(() => {
      for (const c of running) c.proc?.kill('SIGKILL');
    }, graceMs);
    await Promise.all(running.map((c) => c.exited ?? Promise.resolve()));
    clearTimeout(killer);
    for (const c of this.containers) {
      // Read-only root filesystems (chmod 555) must be writable again to be removed.
      for (const d of [
        join(this.dir, `rootfs-${c.spec.name}`),
        join(this.dir, `rootfs-${c.spec.name}`, 'home'),
      ]) {
        try {
          chmodSync(d, 0o755);
        } catch {
          /* never created */
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
