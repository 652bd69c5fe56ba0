import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startSink, type RunningSink } from '../../../sink/index.ts';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { baseIo, baseOptions, tempDir } from './helpers.ts';

// The sink accepts every recipient (a catch-all) except where rules say
// otherwise: strict.test knows alice and bob only; grey.test greylists
// forever; the built-in convention defers "defer*" recipients once.
const RULES = `
rules:
  - name: strict-unknown-users
    stage: rcpt
    # Every local part but alice, bob and deferme (rules match in linear time: no lookahead).
    match: { recipient: "/^([^abd@][^@]*|a|a[^l@][^@]*|al|al[^i@][^@]*|ali|ali[^c@][^@]*|alic|alic[^e@][^@]*|alice[^@]+|b|b[^o@][^@]*|bo|bo[^b@][^@]*|bob[^@]+|d|d[^e@][^@]*|de|de[^f@][^@]*|def|def[^e@][^@]*|defe|defe[^r@][^@]*|defer|defer[^m@][^@]*|deferm|deferm[^e@][^@]*|deferme[^@]+)@strict\\\\.test$/i" }
    reject: { code: 550, enhanced: 5.1.1, text: "No such user here" }
  - name: grey-forever
    stage: rcpt
    match: { recipient: "*@grey.test" }
    defer: { attempts: 100, code: 451, enhanced: 4.7.1, text: "Greylisted, try again later" }
`;

describe('check --smtp-probe against our sink on loopback', function () {
  let sink: RunningSink;
  let dns: FakeDns;
  before(async () => {
    sink = await startSink({ rules: RULES });
    const mx = (host: string) => ({ mx: [{ priority: 10, exchange: host }] });
    dns = await startFakeDns({
      'strict.test': mx('mx.sink.test'),
      'catchall.test': mx('mx.sink.test'),
      'grey.test': mx('mx.sink.test'),
      'mx.sink.test': { a: ['127.0.0.1'] },
    });
  });
  after(async () => {
    await dns.close();
    await sink.stop();
  });

  function options(dir: string, addrs: string[]) {
    const input = join(dir, 'in.txt');
    writeFileSync(input, `${addrs.join('\n')}\n`);
    return baseOptions({
      paths: [input],
      out: join(dir, 'out.jsonl'),
      dnsServer: dns.server,
      smtpProbe: true,
      helo: 'probe.check.test',
      mailFrom: 'verify@check.test',
      smtpPort: sink.smtpPort,
      allowPrivateMx: true,
      port25Check: `127.0.0.1:${sink.smtpPort}`,
      greylistRetries: 2,
      greylistDelayMs: 20,
      greylistMaxMs: 100,
    });
  }

  it('tells known users, unknown users, catch-all domains, cleared and persistent greylisting apart', async () => {
    const t = tempDir();
    try {
      const o = options(t.dir, [
        'alice@strict.test',
        'zed@strict.test',
        'deferme@strict.test',
        'anyone@catchall.test',
        'other@catchall.test',
        'x@grey.test',
      ]);
      await runCheckCommand(o, baseIo());
      const rows = readFileSync(o.out!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckResult);
      const by = new Map(rows.map((r) => [r.address, r]));
      assert.equal(by.get('alice@strict.test')!.verdict, 'valid');
      assert.equal(by.get('alice@strict.test')!.checks.smtp!.catchAll, false);
      assert.equal(by.get('zed@strict.test')!.verdict, 'invalid');
      assert.deepEqual(by.get('zed@strict.test')!.reasons, ['mailbox_not_found']);
      assert.equal(by.get('zed@strict.test')!.checks.smtp!.enhanced, '5.1.1');
      // Built-in convention: "defer*" gets one 451, then is accepted.
      assert.equal(by.get('deferme@strict.test')!.verdict, 'valid');
      assert.equal(by.get('deferme@strict.test')!.checks.smtp!.attempts, 2);
      assert.deepEqual(by.get('anyone@catchall.test')!.reasons, ['catch_all']);
      assert.equal(by.get('other@catchall.test')!.verdict, 'risky');
      assert.equal(by.get('x@grey.test')!.verdict, 'unknown');
      assert.deepEqual(by.get('x@grey.test')!.reasons, ['smtp_greylisted']);
      assert.equal(by.get('x@grey.test')!.checks.smtp!.attempts, 3);
    } finally {
      t.cleanup();
    }
  });

  it('fails fast with EV_ERR_PORT25_BLOCKED when outbound SMTP is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const t = tempDir();
    try {
      const o = { ...options(t.dir, ['alice@strict.test']), port25Check: `127.0.0.1:${port}` };
      await assert.rejects(runCheckCommand(o, baseIo()), { code: 'EV_ERR_PORT25_BLOCKED' });
    } finally {
      t.cleanup();
    }
  });

  it('refuses a HELO name that impersonates a big provider', async () => {
    const t = tempDir();
    try {
      await assert.rejects(
        runCheckCommand({ ...options(t.dir, ['a@strict.test']), helo: 'gmail.com' }, baseIo()),
        { code: 'EV_ERR_INVALID_OPTION' },
      );
    } finally {
      t.cleanup();
    }
  });
});
