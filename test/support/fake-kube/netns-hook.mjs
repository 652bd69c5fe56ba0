// Preloaded (`node --import`) into every container process in the fake's IPv6
// mode: a stand-in for the pod's own network namespace. Every pod's address is
// `::1` there (the only IPv6 loopback address), so two pods cannot both own
// port 8025: each TCP listen on a fixed port binds port 0 instead (hermetic,
// no collisions) and records "container port -> host port" in the pod's netns
// directory, where the kubelet's probes, port-forwards and Service look-ups
// find it. The address keeps its meaning: `::` (dual-stack) and `::1` listen
// on the pod's IPv6 address; `0.0.0.0` and `127.0.0.1` listen on IPv4 only,
// which the pod's IPv6 address does not reach, as on a real IPv6-only cluster.
// Plain JavaScript: it runs inside the pod's Node, before the container's code.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const dir = process.env.FAKE_KUBE_NETNS_DIR;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const original = net.Server.prototype.listen;
  const v6Host = (host) =>
    host === undefined ||
    host === '' ||
    host === '::' ||
    host === '::0' ||
    host === '0:0:0:0:0:0:0:0' ||
    host === '::1' ||
    host === process.env.FAKE_KUBE_POD_IP;
  const v4Host = (host) => host === '0.0.0.0' || host === '127.0.0.1' || host === 'localhost';

  net.Server.prototype.listen = function listen(...args) {
    let options;
    let rest;
    const first = args[0];
    if (
      first !== null &&
      typeof first === 'object' &&
      !Array.isArray(first) &&
      !('_handle' in first) &&
      first.fd === undefined
    ) {
      options = { ...first };
      rest = args.slice(1);
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      options = { port: Number(first) };
      let i = 1;
      if (typeof args[i] === 'string') options.host = args[i++];
      if (typeof args[i] === 'number') options.backlog = args[i++];
      rest = args.slice(i);
    } else {
      return original.apply(this, args);
    }
    if (options.path !== undefined || options.handle !== undefined)
      return original.apply(this, args);
    const containerPort = Number(options.port ?? 0);
    if (v6Host(options.host)) options.host = '::1';
    else if (v4Host(options.host)) options.host = '127.0.0.1';
    if (containerPort > 0) {
      options.port = 0;
      this.once('listening', () => {
        const address = this.address();
        if (!address || typeof address !== 'object') return;
        // Written then renamed: the kubelet never reads half a record.
        const file = join(dir, String(containerPort));
        writeFileSync(`${file}.tmp`, JSON.stringify({ host: address.address, port: address.port }));
        renameSync(`${file}.tmp`, file);
      });
    }
    return original.call(this, options, ...rest);
  };
}
