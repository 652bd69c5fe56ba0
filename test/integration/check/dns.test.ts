import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { createDnsResolver } from '../../../checker/dns-resolver.ts';
import { systemClock } from '../../../src/system-clock.ts';
import { DnsChecker } from '../../../src/address/dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { baseIo, baseOptions, tempDir } from './helpers.ts';

describe('check: DNS against a fake DNS server on loopback', function () {
  let dns: FakeDns;
  before(async () => {
    dns = await startFakeDns({
      'mx.test': {
        mx: [
          { priority: 10, exchange: 'mail.mx.test' },
          { priority: 5, exchange: 'mail0.mx.test' },
        ],
      },
      'mail.mx.test': { a: ['192.0.2.10'] },
      'mail0.mx.test': { a: ['192.0.2.11'], aaaa: ['2001:db8::11'] },
      'nullmx.test': { mx: [{ priority: 0, exchange: '.' }] },
      'v6only.test': { mx: [{ priority: 1, exchange: 'mx6.v6only.test' }] },
      'mx6.v6only.test': { aaaa: ['2001:db8::66'] },
      'implicit.test': { a: ['192.0.2.20'] },
      'nothing.test': {},
      'loopmx.test': { mx: [{ priority: 1, exchange: 'lo.loopmx.test' }] },
      'lo.loopmx.test': { a: ['127.0.0.1'] },
      'slow.test': { silent: true },
      'broken.test': { servfail: true },
      // One edit from gmail.com, but a real mail domain: it publishes MX records.
      'gnail.com': { mx: [{ priority: 10, exchange: 'mx.gnail.com' }] },
      'mx.gnail.com': { a: ['192.0.2.30'] },
      // Its first answer comes 1.5 s late (a busy server, a passing stall), the next ones at once.
      'stall.test': { a: ['192.0.2.40'], delayMs: 1500, delayCount: 1 },
      // One edit from gmail.com, no MX (only an A record): still a likely typo.
      'gmaill.com': { a: ['192.0.2.31'] },
    });
  });
  after(() => dns.close());

  it('resolves MX, null MX, implicit MX, NXDOMAIN, NODATA, loopback MX, timeouts through node:dns', async () => {
    const checker = new DnsChecker({
      resolver: createDnsResolver({ server: dns.server, timeoutMs: 200, tries: 1 }),
      clock: systemClock,
      timeoutMs: 3000,
    });
    const mx = await checker.lookup('mx.test');
    assert.equal(mx.status, 'ok');
    assert.deepEqual(
      mx.mx.map((m) => m.exchange),
      ['mail0.mx.test', 'mail.mx.test'],
    );
    assert.deepEqual(mx.mx[0].addresses, ['192.0.2.11'], 'AAAA is asked only when there is no A');
    assert.deepEqual((await checker.lookup('v6only.test')).mx[0].addresses, ['2001:db8::66']);
    assert.equal((await checker.lookup('nullmx.test')).status, 'null_mx');
    const imp = await checker.lookup('implicit.test');
    assert.equal(imp.implicitMx, true);
    assert.deepEqual(imp.mx[0].addresses, ['192.0.2.20']);
    assert.equal((await checker.lookup('nothing.test')).status, 'no_mail');
    assert.equal((await checker.lookup('absent.test')).status, 'not_found');
    assert.equal((await checker.lookup('loopmx.test')).mx[0].private, true);
    assert.equal((await checker.lookup('slow.test')).status, 'timeout');
    assert.equal((await checker.lookup('broken.test')).status, 'error');
  });

  it('--dns-timeout holds after c-ares has learnt the server is fast: an answer lost to a passing stall is asked for again within it', async () => {
    // c-ares waits a multiple of the server's recent latency per try once it has answers (about
    // a second on loopback), not the configured timeout: without asking again this is ETIMEOUT.
    const resolver = createDnsResolver({ server: dns.server, timeoutMs: 4000, tries: 1 });
    for (let i = 0; i < 10; i++) await resolver.resolve4('mail.mx.test');
    const before = dns.queries.get('A stall.test') ?? 0;
    assert.deepEqual(await resolver.resolve4('stall.test'), ['192.0.2.40']);
    assert.ok((dns.queries.get('A stall.test') ?? 0) > before, 'the server was asked');
  });

  it('check --dns-server gives verdicts and reasons per address, one MX query per domain', async () => {
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      const out = join(t.dir, 'out.jsonl');
      const before = dns.queries.get('MX mx.test') ?? 0;
      writeFileSync(
        input,
        [
          'a@mx.test',
          'b@mx.test',
          'c@MX.test',
          'd@nullmx.test',
          'e@implicit.test',
          'f@absent.test',
          'g@slow.test',
          'h@loopmx.test',
          'i@nothing.test',
          'not-an-address',
        ].join('\n'),
      );
      const s = await runCheckCommand(
        baseOptions({ paths: [input], out, dnsServer: dns.server, dnsTimeoutMs: 200 }),
        baseIo(),
      );
      const rows = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckResult);
      const by = new Map(rows.map((r) => [r.address, r]));
      assert.equal(by.get('a@mx.test')!.verdict, 'valid');
      assert.equal(by.get('c@MX.test')!.normalized, 'c@mx.test');
      assert.deepEqual(by.get('d@nullmx.test')!.reasons, ['null_mx']);
      assert.equal(by.get('d@nullmx.test')!.verdict, 'invalid');
      assert.deepEqual(by.get('e@implicit.test')!.reasons, ['implicit_mx']);
      assert.deepEqual(by.get('f@absent.test')!.reasons, ['domain_not_found']);
      assert.equal(by.get('g@slow.test')!.verdict, 'unknown');
      assert.deepEqual(by.get('g@slow.test')!.reasons, ['dns_timeout']);
      assert.equal(by.get('h@loopmx.test')!.verdict, 'risky');
      assert.ok(by.get('h@loopmx.test')!.reasons.includes('mx_private'));
      assert.deepEqual(by.get('i@nothing.test')!.reasons, ['no_mail_server']);
      assert.equal(by.get('not-an-address')!.verdict, 'invalid');
      assert.equal(dns.queries.get('MX mx.test')! - before, 1);
      assert.equal(s.counts.written, 10);
    } finally {
      t.cleanup();
    }
  });

  it('an unreachable --dns-server fails up front with EV_ERR_DNS instead of every address turning unknown', async () => {
    const silent = await startFakeDns(() => ({ silent: true }));
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      const out = join(t.dir, 'out.jsonl');
      writeFileSync(input, 'a@mx.test\nb@implicit.test\n');
      await assert.rejects(
        runCheckCommand(
          baseOptions({ paths: [input], out, dnsServer: silent.server, dnsTimeoutMs: 100 }),
          baseIo(),
        ),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_DNS');
          assert.match(err.message, /does not answer/);
          return true;
        },
      );
      assert.equal(
        silent.queries.get('A ev-dns-check.invalid'),
        1,
        'one test query, no address looked up',
      );
      assert.equal([...silent.queries.keys()].filter((k) => k.startsWith('MX ')).length, 0);
      // A server that answers (NXDOMAIN for the test name) passes the precheck.
      await runCheckCommand(
        baseOptions({ paths: [input], out, dnsServer: dns.server, dnsTimeoutMs: 200 }),
        baseIo(),
      );
      assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 2);
    } finally {
      t.cleanup();
      await silent.close();
    }
  });

  it('drops a typo suggestion for a domain that publishes MX records, keeps it otherwise', async () => {
    const t = tempDir();
    try {
      const input = join(t.dir, 'in.txt');
      writeFileSync(input, 'a@gnail.com\nb@gmaill.com\nc@gmail.con\n');
      const o = baseOptions({
        paths: [input],
        out: join(t.dir, 'out.jsonl'),
        dnsServer: dns.server,
        allowPrivateMx: true,
      });
      await runCheckCommand(o, baseIo());
      const by = new Map(
        readFileSync(o.out!, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as CheckResult)
          .map((r) => [r.address, r]),
      );
      assert.equal(by.get('a@gnail.com')!.checks.lists!.suggestion, null);
      assert.ok(!by.get('a@gnail.com')!.reasons.includes('typo_suggestion'));
      assert.equal(by.get('a@gnail.com')!.verdict, 'valid');
      assert.equal(by.get('b@gmaill.com')!.checks.lists!.suggestion, 'gmail.com');
      assert.ok(by.get('b@gmaill.com')!.reasons.includes('typo_suggestion'));
      assert.deepEqual(by.get('c@gmail.con')!.reasons, ['typo_suggestion', 'domain_not_found']);
    } finally {
      t.cleanup();
    }
  });
});
