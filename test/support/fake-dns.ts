/**
 * A fake authoritative DNS server on loopback (UDP and TCP on the same free
 * port) built with dns-packet, for the address checks' DNS tests and
 * benchmarks. Answers come from a zone map or a function; a name can be made
 * to answer NXDOMAIN, SERVFAIL, or never answer (to test timeouts).
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';

interface DnsQuestion {
  name: string;
  type: string;
  class?: string;
}
interface DnsAnswer {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  data: unknown;
}
interface DnsPacket {
  id?: number;
  type?: string;
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsAnswer[];
}
interface DnsPacketApi {
  decode(buf: Buffer): DnsPacket;
  encode(p: DnsPacket): Buffer;
  streamDecode(buf: Buffer): DnsPacket;
  streamEncode(p: DnsPacket): Buffer;
}

const dnsPacket = createRequire(import.meta.url)('dns-packet') as DnsPacketApi;

export interface ZoneEntry {
  mx?: Array<{ priority: number; exchange: string }>;
  a?: string[];
  aaaa?: string[];
  /** Answer NXDOMAIN for every type. */
  nxdomain?: boolean;
  servfail?: boolean;
  /** Never answer (the resolver times out). */
  silent?: boolean;
  /** Answer over UDP this many milliseconds late (a slow or busy server). */
  delayMs?: number;
  /** Only the first this many answers of the name are late (a passing stall); default all. */
  delayCount?: number;
}

export type ZoneLookup = (name: string) => ZoneEntry | undefined;

export interface FakeDns {
  host: string;
  port: number;
  /** `127.0.0.1:PORT`, for --dns-server / Resolver.setServers. */
  server: string;
  /** Queries received, by `TYPE name`. */
  queries: Map<string, number>;
  total(): number;
  set(name: string, entry: ZoneEntry): void;
  /** The UDP socket's receive buffer as the kernel granted it (bytes; Linux caps it at net.core.rmem_max). */
  recvBufferSize(): number;
  close(): Promise<void>;
}

export interface FakeDnsOptions {
  /**
   * UDP receive buffer to ask for (SO_RCVBUF). The default (about 200 KB on
   * Linux) holds a few hundred queries: a benchmark with hundreds in flight
   * loses queries whenever this process is descheduled, and each loss is a
   * resolver timeout at the client, not a figure of the code under test.
   */
  recvBufferSize?: number;
}

const RCODE_NXDOMAIN = 3;
const RCODE_SERVFAIL = 2;
const FLAG_QR_AA_RA = (1 << 15) | (1 << 10) | (1 << 7);

/**
 * Starts the server. `zone` is a map of lower-case names (no trailing dot) or
 * a lookup function; names absent from it answer NXDOMAIN.
 */
export async function startFakeDns(
  zone: Record<string, ZoneEntry> | ZoneLookup = {},
  options: FakeDnsOptions = {},
): Promise<FakeDns> {
  const map = new Map<string, ZoneEntry>();
  if (typeof zone !== 'function')
    for (const [k, v] of Object.entries(zone)) map.set(k.toLowerCase(), v);
  const lookup: ZoneLookup = typeof zone === 'function' ? zone : (n) => map.get(n);
  const queries = new Map<string, number>();
  let total = 0;

  /** The delay of the entry the last answer() came from (read right after it, over UDP). */
  let lastDelayMs = 0;
  const answer = (req: DnsPacket): DnsPacket | null => {
    lastDelayMs = 0;
    const q = req.questions?.[0];
    if (!q)
      return { id: req.id, type: 'response', flags: FLAG_QR_AA_RA | RCODE_SERVFAIL, questions: [] };
    const name = q.name.toLowerCase().replace(/\.$/, '');
    total++;
    const key = `${q.type} ${name}`;
    queries.set(key, (queries.get(key) ?? 0) + 1);
    const e = map.get(name) ?? lookup(name);
    if (e?.delayMs && (e.delayCount === undefined || (queries.get(key) ?? 0) <= e.delayCount))
      lastDelayMs = e.delayMs;
    if (e?.silent) return null;
    const base = { id: req.id, type: 'response', questions: [q] };
    if (!e || e.nxdomain) return { ...base, flags: FLAG_QR_AA_RA | RCODE_NXDOMAIN, answers: [] };
    if (e.servfail) return { ...base, flags: FLAG_QR_AA_RA | RCODE_SERVFAIL, answers: [] };
    const answers: DnsAnswer[] = [];
    if (q.type === 'MX')
      for (const m of e.mx ?? [])
        answers.push({
          name: q.name,
          type: 'MX',
          ttl: 60,
          class: 'IN',
          data: { preference: m.priority, exchange: m.exchange },
        });
    if (q.type === 'A')
      for (const a of e.a ?? [])
        answers.push({ name: q.name, type: 'A', ttl: 60, class: 'IN', data: a });
    if (q.type === 'AAAA')
      for (const a of e.aaaa ?? [])
        answers.push({ name: q.name, type: 'AAAA', ttl: 60, class: 'IN', data: a });
    // An existing name without records of the type: NOERROR with no answers (NODATA).
    return { ...base, flags: FLAG_QR_AA_RA, answers };
  };

  // Bind UDP on a free port, then TCP on the same port (retry if taken).
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket({
      type: 'udp4',
      ...(options.recvBufferSize ? { recvBufferSize: options.recvBufferSize } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const port = udp.address().port;
    const tcp = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    return serve(udp, tcp, port);
  }
  throw new Error('fake DNS: no free port pair for UDP+TCP');

  function serve(udp: UdpSocket, tcp: Server, port: number): FakeDns {
    /** Answers sent late (delayMs): cancelled on close. */
    const late = new Set<ReturnType<typeof setTimeout>>();
    udp.on('message', (msg, rinfo) => {
      let req: DnsPacket;
      try {
        req = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const res = answer(req);
      if (!res) return;
      const send = (): void => udp.send(dnsPacket.encode(res), rinfo.port, rinfo.address);
      const delay = lastDelayMs;
      if (delay > 0) {
        const t = setTimeout(() => {
          late.delete(t);
          send();
        }, delay);
        late.add(t);
      } else send();
    });
    const sockets = new Set<Socket>();
    tcp.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const msg = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          let req: DnsPacket;
          try {
            req = dnsPacket.decode(msg);
          } catch {
            sock.destroy();
            return;
          }
          const res = answer(req);
          if (res) sock.write(dnsPacket.streamEncode(res));
        }
      });
    });
    return {
      host: '127.0.0.1',
      port,
      server: `127.0.0.1:${port}`,
      queries,
      total: () => total,
      set: (name, entry) => {
        map.set(name.toLowerCase(), entry);
      },
      recvBufferSize: () => udp.getRecvBufferSize(),
      close: async () => {
        for (const t of late) clearTimeout(t);
        for (const s of sockets) s.destroy();
        await Promise.all([
          new Promise<void>((r) => udp.close(() => r())),
          new Promise<void>((r) => tcp.close(() => r())),
        ]);
      },
    };
  }
}

/**
 * A zone of numbered test domains: `dN.test` has an MX `mx.dN.test` (with an A record
 * in 192.0.2.0/24), except every tenth, which does not exist. Used by the check tests
 * that need many distinct domains.
 */
export const numberedDomains: ZoneLookup = (name) => {
  const m = /^(?:mx\.)?d(\d+)\.test$/.exec(name);
  if (!m) return undefined;
  if (name.startsWith('mx.')) return { a: [`192.0.2.${(Number(m[1]) % 250) + 1}`] };
  return Number(m[1]) % 10 === 0
    ? { nxdomain: true }
    : { mx: [{ priority: 10, exchange: `mx.${name}` }] };
};
