/**
 * Readiness probes as the kubelet runs them, against the pod's own address:
 * httpGet (2xx/3xx is success) and tcpSocket (a connection is success).
 * Named ports resolve through the container's `ports`.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

type Obj = Record<string, any>;

/** Longest wait for one probe attempt. */
export const PROBE_TIMEOUT_MS = 1000;

export function resolvePort(container: Obj, port: unknown): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: Obj) => p.name === port);
  return named ? Number(named.containerPort) : Number(port);
}

/** True when the probe type is one the fake runs (others count as passing). */
export function isRunnableProbe(probe: Obj | undefined): probe is Obj {
  return probe !== undefined && (probe.httpGet !== undefined || probe.tcpSocket !== undefined);
}

/** `hostPort` maps the container port to where it is reachable (the IPv6 mode's per-pod ports); undefined: nothing listens. */
export function probeOnce(
  ip: string,
  container: Obj,
  probe: Obj,
  hostPort: (port: number) => number | undefined = (p) => p,
): Promise<boolean> {
  const timeout = Math.min(
    PROBE_TIMEOUT_MS,
    Math.max(100, Number(probe.timeoutSeconds ?? 1) * 1000),
  );
  if (probe.tcpSocket) {
    const port = hostPort(resolvePort(container, probe.tcpSocket.port));
    if (port === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const sock = connect({ host: ip, port, timeout });
      const done = (ok: boolean): void => {
        sock.destroy();
        resolve(ok);
      };
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
      sock.once('timeout', () => done(false));
    });
  }
  const hg = probe.httpGet as Obj;
  const port = hostPort(resolvePort(container, hg.port));
  if (port === undefined) return Promise.resolve(false);
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32' };
  for (const h of (hg.httpHeaders ?? []) as Obj[]) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: ip, port, path: hg.path ?? '/', method: 'GET', headers, timeout, agent: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
