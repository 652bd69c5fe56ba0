/**
 * Shared pieces for the fake-kube integration tests: client-node clients
 * bound to a fake, kubectl runner with a private HOME/cache, and a tiny Node
 * HTTP server shipped in a ConfigMap.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from '../../support/fake-kube/index.ts';

export function clients(kube: FakeKube): {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  objects: k8s.KubernetesObjectApi;
} {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run real kubectl against the fake (async: the fake lives in this process). */
export function kubectl(
  kube: FakeKube,
  args: string[],
  timeoutMs = 30_000,
): Promise<KubectlResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...kube.kubectlEnv() };
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', kube.kubeconfigPath, '--cache-dir', env.KUBECACHEDIR, ...args],
      { env, timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
            ? Number((err as { code?: unknown }).code)
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Parse the ApiException body that client-node throws for a Status. */
export function statusOf(err: unknown): { code: number; reason: string; message: string } {
  const e = err as { code?: number; body?: unknown };
  const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
  return {
    code: Number(e.code ?? body?.code),
    reason: String(body?.reason),
    message: String(body?.message),
  };
}

export const HTTP_SERVER_SCRIPT = `
import http from 'node:http';
const host = process.env.EV_HOST ?? '0.0.0.0';
const port = Number(process.env.PORT ?? 8080);
const server = http.createServer((req, res) => {
  if (req.url === '/readyz') { res.end('ok'); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pod: process.env.POD_NAME, ns: process.env.POD_NAMESPACE, greeting: process.env.GREETING, path: req.url }));
});
server.listen(port, host, () => console.log('listening on ' + host + ':' + port));
process.on('SIGTERM', () => { console.log('got SIGTERM'); server.close(); process.exit(0); });
`;

/** A ConfigMap holding the script and a Deployment running it with node:24-alpine. */
export function httpServerObjects(
  ns: string,
  name: string,
  replicas = 1,
): { configMap: k8s.V1ConfigMap; deployment: k8s.V1Deployment } {
  const labels = { app: name };
  return {
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-script`, namespace: ns },
      data: { 'server.mjs': HTTP_SERVER_SCRIPT },
    },
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'node:24-alpine',
                command: ['node', '/app/server.mjs'],
                ports: [{ name: 'http', containerPort: 8080 }],
                env: [
                  { name: 'EV_HOST', value: '0.0.0.0' },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  {
                    name: 'POD_NAMESPACE',
                    valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                  },
                  {
                    name: 'GREETING',
                    valueFrom: {
                      secretKeyRef: { name: `${name}-secret`, key: 'greeting', optional: true },
                    },
                  },
                ],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
                volumeMounts: [{ name: 'app', mountPath: '/app', readOnly: true }],
              },
            ],
            volumes: [{ name: 'app', configMap: { name: `${name}-script` } }],
          },
        },
      },
    },
  };
}

/** A local TCP server whose connections are forwarded to pod:port through client-node. */
export async function localForward(
  kc: k8s.KubeConfig,
  ns: string,
  pod: string,
  port: number,
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const pf = new k8s.PortForward(kc);
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    pf.portForward(ns, pod, [port], socket, null, socket)
      .then((ws) => {
        const w = ws as unknown as { on(ev: string, fn: () => void): void };
        // client-node does not close the local socket when the WebSocket ends.
        w.on('close', () => socket.destroy());
      })
      .catch(() => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export function isReady(pod: {
  status?: { conditions?: Array<{ type: string; status: string }> };
}): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
