/**
 * Per-provider limits across shards, end to end: three shard pods probe
 * addresses at 24 domains whose MX hosts all belong to one provider. With
 * --mx-concurrency 1 the SMTP server must never see two sessions at once,
 * however many shards run, because every session needs a permit held in
 * Redis; the catch-all probe runs once per domain across shards (the answer
 * is shared through Redis). Results equal a local run's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import { runCheckInCluster } from '../../../plugin/lib/check-cluster/run.ts';
import { baseIo, baseOptions, tempDir, ROOT } from '../check/helpers.ts';
import { requireRedisServer } from '../../support/redis-server.ts';

interface CountingSmtp {
  port: number;
  sessions: number;
  /** When each session began (EHLO), performance.now(). */
  starts: number[];
  maxActive: number;
  rcpts: number;
  close(): Promise<void>;
}

/** An SMTP server that accepts every recipient (slowly) and counts sessions open at once. */
async function startCountingSmtp(): Promise<CountingSmtp> {
  const stats = { sessions: 0, maxActive: 0, rcpts: 0 };
  const starts: number[] = [];
  let active = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    // A session counts from EHLO to QUIT (a client closing its socket after QUIT is not a session any more).
    let open = false;
    const begin = (): void => {
      if (!open) {
        open = true;
        active++;
        stats.sessions++;
        starts.push(performance.now());
        stats.maxActive = Math.max(stats.maxActive, active);
      }
    };
    const finish = (): void => {
      if (open) {
        open = false;
        active--;
      }
    };
    sock.on('close', finish);
    sock.on('error', () => {});
    let chain = Promise.resolve();
    let buf = '';
    const reply = (text: string, delayMs = 0): void => {
      chain = chain.then(
        () =>
          new Promise<void>((r) =>
            setTimeout(() => {
              if (!sock.destroyed) sock.write(`${text}\r\n`);
              r();
            }, delayMs),
          ),
      );
    };
    reply('220 mx.shared.test ESMTP');
    sock.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') begin();
        if (verb === 'QUIT') finish();
        if (verb === 'EHLO') reply('250-mx.shared.test\r\n250 SIZE 1000000');
        else if (verb === 'RCPT') {
          stats.rcpts++;
          reply('250 2.1.5 OK', 15);
        } else if (verb === 'QUIT') {
          reply('221 bye');
          chain = chain.then(() => {
            sock.end();
          });
        } else if (['HELO', 'MAIL', 'RSET', 'NOOP'].includes(verb)) reply('250 OK');
        else reply('500 unknown');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    starts,
    get sessions() {
      return stats.sessions;
    },
    get maxActive() {
      return stats.maxActive;
    },
    get rcpts() {
      return stats.rcpts;
    },
    close: () =>
      new Promise((r) => {
        for (const x of sockets) x.destroy();
        server.close(() => r());
      }),
  };
}

describe('check --in-cluster --smtp-probe: provider limits hold across shards', function () {
  this.timeout(120_000);
  let kube: FakeKube;
  let dns: FakeDns;
  let smtp: CountingSmtp;
  let tmp: ReturnType<typeof tempDir>;
  before(async function () {
    requireRedisServer(this);
    const r = spawnSync(process.execPath, [join(ROOT, 'plugin/build.ts'), 'check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    kube = await startFakeKube();
    smtp = await startCountingSmtp();
    dns = await startFakeDns((name) =>
      /^[dr]\d+\.test$/.test(name)
        ? { mx: [{ priority: 10, exchange: `mx-${name.split('.')[0]}.shared.test` }] }
        : name.endsWith('.shared.test')
          ? { a: ['127.0.0.1'] }
          : undefined,
    );
    tmp = tempDir();
  });
  after(async () => {
    await kube?.close();
    await smtp?.close();
    await dns?.close();
    tmp?.cleanup();
  });

  it('never more SMTP sessions at once than --mx-concurrency, with 3 shards; catch-all probed once per domain; same results as a local run', async () => {
    const input = join(tmp.dir, 'in.txt');
    writeFileSync(
      input,
      `${Array.from({ length: 48 }, (_, i) => `user${i}@d${i % 24}.test`).join('\n')}\n`,
    );
    const o = baseOptions({
      paths: [input],
      dnsServer: dns.server,
      dnsTimeoutMs: 5000,
      smtpProbe: true,
      helo: 'probe.check.test',
      mailFrom: 'verify@check.test',
      smtpPort: smtp.port,
      allowPrivateMx: true,
      port25Check: `127.0.0.1:${smtp.port}`,
      concurrency: 12,
      domainConcurrency: 4,
      domainRate: 1000,
      mxConcurrency: 1,
      mxRate: 1000,
    });
    const localOut = join(tmp.dir, 'local.jsonl');
    await runCheckCommand({ ...o, out: localOut }, baseIo());
    assert.equal(smtp.maxActive, 1, 'the local run respects the limit');
    const before = smtp.sessions;
    const localRcpts = smtp.rcpts;
    const clusterOut = join(tmp.dir, 'cluster.jsonl');
    await runCheckInCluster({ ...o, out: clusterOut }, baseIo(), {
      shards: 3,
      kube: { kubeconfig: kube.kubeconfigPath },
    });
    assert.ok(
      smtp.sessions - before >= 48,
      `every address probed in the cluster (${smtp.sessions - before} sessions)`,
    );
    assert.equal(smtp.maxActive, 1, 'one session at a time across all shards');
    // The catch-all answer is shared through Redis: probed once per domain across shards, as locally.
    assert.equal(smtp.rcpts - localRcpts, localRcpts, 'as many RCPT commands as the local run');
    assert.equal(readFileSync(clusterOut, 'utf8'), readFileSync(localOut, 'utf8'));
  });

  it('--mx-rate across 3 shards: the SMTP server sees the sessions of one provider no faster than its one bucket in Redis allows', async () => {
    // A lower bound on the span (a loaded machine only spreads sessions out); a bucket per shard fails it.
    // Three queue entries (NETWORK_BATCH 16): at least two shards take part.
    const n = 48;
    const mxRate = 5;
    const burst = 1; // rateBurst(5)
    const input = join(tmp.dir, 'rate-in.txt');
    writeFileSync(input, `${Array.from({ length: n }, (_, i) => `user@r${i}.test`).join('\n')}\n`);
    const from = smtp.starts.length;
    await runCheckInCluster(
      {
        ...baseOptions({
          paths: [input],
          dnsServer: dns.server,
          dnsTimeoutMs: 5000,
          smtpProbe: true,
          helo: 'probe.check.test',
          mailFrom: 'verify@check.test',
          smtpPort: smtp.port,
          allowPrivateMx: true,
          port25Check: `127.0.0.1:${smtp.port}`,
          concurrency: 12,
          domainConcurrency: 4,
          domainRate: 1000,
          mxConcurrency: 12,
          mxRate,
        }),
        out: join(tmp.dir, 'rate-out.jsonl'),
      },
      baseIo(),
      { shards: 3, kube: { kubeconfig: kube.kubeconfigPath } },
    );
    const starts = smtp.starts.slice(from).sort((a, b) => a - b);
    assert.equal(starts.length, n, 'one session per address');
    const spanMs = starts[n - 1] - starts[0];
    const leastMs = ((n - burst) * 1000) / mxRate - 1000;
    assert.ok(
      spanMs >= leastMs,
      `${n} sessions within ${Math.round(spanMs)} ms: faster than ${mxRate}/s (at least ${Math.round(leastMs)} ms)`,
    );
  });
});
