/**
 * Listening on `::` is dual-stack in Node (IPv6 and IPv4-mapped): what a pod
 * needs on IPv6-only and IPv6-first clusters, where kubelet probes and
 * Services use the pod's IPv6 address. `0.0.0.0` is IPv4 only: on such a
 * cluster the probes failed and the pod never became ready. A node or container without IPv6 refuses `::`
 * (EAFNOSUPPORT / EADDRNOTAVAIL): then IPv4 on every interface is the answer.
 */
import { once } from 'node:events';
import type { Server } from 'node:net';
import { errorCode } from '../src/guards.ts';

/** The wildcard address that means "every interface, both families". */
export const DUAL_STACK_HOST = '::';
/** Where `::` falls back to when the kernel has no IPv6. */
export const IPV4_ANY_HOST = '0.0.0.0';
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EINVAL']);

/** `server.listen(port, host)`, resolved once listening; `::` falls back to `0.0.0.0` without IPv6. Returns the host used. */
export async function listenDualStack(server: Server, port: number, host: string): Promise<string> {
  try {
    server.listen(port, host);
    await once(server, 'listening');
    return host;
  } catch (err) {
    const code = errorCode(err) ?? '';
    if (host !== DUAL_STACK_HOST || !NO_IPV6.has(code)) throw err;
    server.listen(port, IPV4_ANY_HOST);
    await once(server, 'listening');
    return IPV4_ANY_HOST;
  }
}
