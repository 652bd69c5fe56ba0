import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { baseIo, baseOptions, tempDir, waitFor } from './helpers.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { systemClock } from '../../../src/system-clock.ts';
import type { Clock } from '../../../src/clock.ts';

describe('check --provider against a local HTTP API that rate-limits', function () {
  let server: Server;
  let port: number;
  let dns: FakeDns;
  const log: Array<{ t: number; email: string; status: number; auth: string | undefined }> = [];
  let limited = 0;
  let failing = false;
  /** The clock the run under test uses; the server stamps requests with it. */
  let clock: Clock = systemClock;

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const email = url.searchParams.get('email') ?? '';
      if (failing) {
        log.push({ t: clock.now(), email, status: 500, auth: req.headers.authorization });
        res.writeHead(500).end('boom');
        return;
      }
      // The first two requests get 429 with Retry-After: 1.
      if (limited < 2) {
        limited++;
        log.push({ t: clock.now(), email, status: 429, auth: req.headers.authorization });
        res
          .writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"error":"slow down"}');
        return;
      }
      log.push({ t: clock.now(), email, status: 200, auth: req.headers.authorization });
      const status = email.startsWith('bad')
        ? 'undeliverable'
        : email.startsWith('meh')
          ? 'risky'
          : 'deliverable';
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: { result: status } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
    dns = await startFakeDns({
      'api.test': { mx: [{ priority: 1, exchange: 'mx.api.test' }] },
      'mx.api.test': { a: ['192.0.2.5'] },
    });
  });
  after(async () => {
    await dns.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  function setup(dir: string, addrs: string[], extra = ''): ReturnType<typeof baseOptions> {
    const cfg = join(dir, 'provider.yaml');
    writeFileSync(
      cfg,
      `url: http://127.0.0.1:${port}/verify?email={address}\nheaders:\n  Authorization: "Bearer \${env:VERIFY_TOKEN}"\nverdictPath: data.result\nmap: { deliverable: valid, undeliverable: invalid, risky: risky }\nconcurrency: 2\n${extra}`,
    );
    const input = join(dir, 'in.txt');
    writeFileSync(input, addrs.join('\n'));
    return baseOptions({
      paths: [input],
      out: join(dir, 'out.jsonl'),
      dnsServer: dns.server,
      provider: cfg,
    });
  }

  it('honours 429 Retry-After (no request before it expires, on the injected clock), sends headers, maps verdicts', async () => {
    const t = tempDir();
    const fake = new FakeClock(1_000_000);
    clock = fake;
    try {
      const o = setup(t.dir, ['good@api.test', 'bad@api.test', 'meh@api.test']);
      let settled = false;
      const run = runCheckCommand(o, baseIo({ env: { VERIFY_TOKEN: 'tok123' }, clock: fake }));
      run.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      // Both first requests (concurrency 2) are answered 429 with Retry-After: 1; both then wait on the clock.
      await waitFor(
        () => settled || (log.filter((l) => l.status === 429).length === 2 && fake.pending === 2),
        20_000,
        'two 429s and both retries waiting on the clock',
      );
      assert.equal(settled, false, 'the run waits out Retry-After instead of finishing');
      const first429 = log.find((l) => l.status === 429)!;
      assert.equal(
        first429.t,
        1_000_000,
        'no time passed on the fake clock before the first answer',
      );
      assert.equal(
        fake.nextAt(),
        first429.t + 1000,
        'the wait ends exactly when Retry-After: 1 expires',
      );
      await fake.advanceTo(first429.t + 999);
      assert.equal(
        log.filter((l) => l.status === 200).length,
        0,
        'no request 1 ms before Retry-After expires',
      );
      await fake.advanceTo(first429.t + 1000);
      await run;
      const rows = readFileSync(o.out!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckResult);
      assert.deepEqual(
        rows.map((r) => r.verdict),
        ['valid', 'invalid', 'risky'],
      );
      assert.deepEqual(rows[1].reasons, ['provider_invalid']);
      assert.equal(rows[0].checks.provider!.value, 'deliverable');
      const oks = log.filter((l) => l.status === 200);
      assert.equal(oks.length, 3);
      assert.ok(
        oks.every((l) => l.t === first429.t + 1000),
        `every 200 went out when Retry-After expired: ${oks.map((l) => l.t - first429.t).join(', ')}`,
      );
      assert.ok(log.every((l) => l.auth === 'Bearer tok123'));
    } finally {
      clock = systemClock;
      t.cleanup();
    }
  });

  it('opens the circuit breaker on a failing provider and stops hammering it', async () => {
    const t = tempDir();
    failing = true;
    const before = log.length;
    try {
      const addrs = Array.from({ length: 30 }, (_, i) => `user${i}@api.test`);
      const o = setup(t.dir, addrs, 'breakerThreshold: 3\nbreakerCooldownMs: 60000\nattempts: 2\n');
      await runCheckCommand(o, baseIo({ env: { VERIFY_TOKEN: 'x' } }));
      const rows = readFileSync(o.out!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckResult);
      assert.equal(rows.length, 30);
      assert.ok(
        rows.every((r) => r.verdict === 'unknown' && r.reasons.includes('provider_unavailable')),
      );
      const calls = log.length - before;
      assert.ok(
        calls <= 5,
        `${calls} calls reached a failing provider (breaker threshold 3, concurrency 2)`,
      );
    } finally {
      failing = false;
      t.cleanup();
    }
  });

  it('rejects a bad config with EV_ERR_PROVIDER_CONFIG', async () => {
    const t = tempDir();
    try {
      const o = setup(t.dir, ['a@api.test'], 'verdictPath2: x\n');
      await assert.rejects(runCheckCommand(o, baseIo({ env: { VERIFY_TOKEN: 'x' } })), {
        code: 'EV_ERR_PROVIDER_CONFIG',
      });
      const o2 = setup(t.dir, ['a@api.test']);
      await assert.rejects(runCheckCommand(o2, baseIo({ env: {} })), /VERIFY_TOKEN is not set/);
    } finally {
      t.cleanup();
    }
  });
});
