import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import { UNIFORM_FAILURE_LIMIT } from '../../../src/check/failure-watch.ts';
import { parseProviderConfig } from '../../../src/check/provider-config.ts';
import { baseIo, baseOptions, tempDir } from './helpers.ts';

function list(dir: string, n: number, domain: (i: number) => string): string {
  const input = join(dir, 'in.txt');
  writeFileSync(input, `${Array.from({ length: n }, (_, i) => `u${i}@${domain(i)}`).join('\n')}\n`);
  return input;
}

describe('check: broken services stop the run early with the cause', function () {
  this.timeout(60_000);

  describe('a provider config that cannot work is refused up front', () => {
    const base = { url: 'https://api.test/v?e={address}', verdictPath: 'r' };
    const cases: Array<[string, Record<string, unknown>, Record<string, string>, RegExp]> = [
      [
        'CR/LF in a header value',
        { headers: { Authorization: 'Bearer x\r\nX-Evil: 1' } },
        {},
        /header "Authorization" has a carriage return \(CR\)/,
      ],
      [
        'LF from the environment',
        { headers: { Authorization: 'Bearer ${env:TOK}' } },
        { TOK: 'abc\n' },
        /a line feed \(LF\) in its value \(after \$\{env:…\} substitution\)/,
      ],
      ['a NUL byte', { headers: { 'X-Key': 'a\u0000b' } }, {}, /control character \(0x00\)/],
      [
        'a header name with a space',
        { headers: { 'X Key': 'v' } },
        {},
        /header name "X Key" is not a valid HTTP header name/,
      ],
      [
        'a header name with CR/LF',
        { headers: { 'X\r\nEvil': 'v' } },
        {},
        /header name "X\\r\\nEvil"/,
      ],
      [
        'a framing header',
        { headers: { 'Content-Length': '5' } },
        {},
        /set by the HTTP client itself/,
      ],
      ['a non-Latin-1 value', { headers: { 'X-Key': 'k€y' } }, {}, /outside Latin-1/],
      [
        'CR/LF in the URL',
        { url: 'https://api.test/v?e={address}\r\nHost: evil' },
        {},
        /`url` has a control character \(0x0d\) at position 31/,
      ],
    ];
    for (const [what, extra, env, re] of cases) {
      it(what, () => {
        assert.throws(
          () => parseProviderConfig({ ...base, ...extra }, 'p.yaml', env),
          (err: Error & { code?: string }) => {
            assert.equal(err.code, 'EV_ERR_PROVIDER_CONFIG');
            assert.match(err.message, re);
            return true;
          },
        );
      });
    }
    it('a good config still passes', () => {
      assert.equal(
        parseProviderConfig(
          { ...base, headers: { Authorization: 'Bearer ${env:TOK}', 'X-Trace': 'a\tb' } },
          'p.yaml',
          { TOK: 't' },
        ).headers.authorization,
        'Bearer t',
      );
    });
  });

  describe('DNS', () => {
    let dns: FakeDns;
    let garbage: Socket;
    let garbagePort: number;
    before(async () => {
      // Answers the pre-check (.invalid: NXDOMAIN) like a real server, and SERVFAIL for everything else.
      dns = await startFakeDns((name) =>
        name.endsWith('.invalid')
          ? { nxdomain: true }
          : name.startsWith('ok')
            ? { mx: [{ priority: 1, exchange: 'mx.ok.test' }] }
            : name === 'mx.ok.test'
              ? { a: ['192.0.2.1'] }
              : { servfail: true },
      );
      // Answers every query with bytes that are not DNS.
      garbage = createSocket('udp4');
      garbage.on('message', (_m, rinfo) =>
        garbage.send(Buffer.from('\u0000\u0001garbage'), rinfo.port, rinfo.address),
      );
      await new Promise<void>((r) => garbage.bind(0, '127.0.0.1', () => r()));
      garbagePort = garbage.address().port;
    });
    after(async () => {
      await dns.close();
      garbage.close();
    });

    it('a server answering SERVFAIL to everything stops the run with EV_ERR_DNS naming the cause', async () => {
      const t = tempDir();
      try {
        const n = 2000;
        const o = baseOptions({
          paths: [list(t.dir, n, (i) => `d${i}.test`)],
          out: join(t.dir, 'out.jsonl'),
          dnsServer: dns.server,
          dnsTries: 1,
        });
        await assert.rejects(runCheckCommand(o, baseIo()), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_DNS');
          assert.match(
            err.message,
            new RegExp(
              `DNS server ${dns.server.replace(/\./g, '\\.')} is not answering usefully: every query failed with ESERVFAIL for the first ${UNIFORM_FAILURE_LIMIT} addresses`,
            ),
          );
          return true;
        });
        const written = readFileSync(o.out!, 'utf8').trim().split('\n').length;
        assert.ok(written < n / 4, `${written} of ${n} addresses were written before stopping`);
      } finally {
        t.cleanup();
      }
    });

    it('a server answering garbage fails the pre-check: the answer is not DNS', async () => {
      const t = tempDir();
      try {
        const o = baseOptions({
          paths: [list(t.dir, 500, (i) => `d${i}.test`)],
          out: join(t.dir, 'out.jsonl'),
          dnsServer: `127.0.0.1:${garbagePort}`,
          dnsTries: 1,
          dnsTimeoutMs: 200,
        });
        await assert.rejects(runCheckCommand(o, baseIo()), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_DNS');
          assert.match(
            err.message,
            /does not answer \(the answer is not valid DNS \(EBADRESP\) to a test query\)/,
          );
          return true;
        });
      } finally {
        t.cleanup();
      }
    });

    it('failures after a real answer are per address: the run goes on', async () => {
      const t = tempDir();
      try {
        const n = UNIFORM_FAILURE_LIMIT * 2;
        const o = baseOptions({
          paths: [list(t.dir, n, (i) => (i === 0 ? 'ok.test' : `d${i}.test`))],
          out: join(t.dir, 'out.jsonl'),
          dnsServer: dns.server,
          dnsTries: 1,
          concurrency: 1,
        });
        const s = await runCheckCommand(o, baseIo());
        assert.equal(s.counts.written, n);
        assert.equal(s.counts.unknown, n - 1);
      } finally {
        t.cleanup();
      }
    });
  });

  describe('provider', () => {
    let server: Server;
    let port: number;
    let dns: FakeDns;
    let calls = 0;
    before(async () => {
      server = createServer((_req, res) => {
        calls++;
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad token"}');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.address() as { port: number }).port;
      dns = await startFakeDns((name) =>
        name.startsWith('mx.')
          ? { a: ['192.0.2.5'] }
          : { mx: [{ priority: 1, exchange: `mx.${name}` }] },
      );
    });
    after(async () => {
      await dns.close();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('a provider failing every request stops the run with EV_ERR_PROVIDER_UNAVAILABLE and the HTTP status', async () => {
      const t = tempDir();
      try {
        const cfg = join(t.dir, 'p.yaml');
        writeFileSync(
          cfg,
          `url: http://127.0.0.1:${port}/v?email={address}\nverdictPath: r\nattempts: 1\n`,
        );
        const o = baseOptions({
          paths: [list(t.dir, 1000, (i) => `d${i}.test`)],
          out: join(t.dir, 'out.jsonl'),
          dnsServer: dns.server,
          provider: cfg,
        });
        await assert.rejects(runCheckCommand(o, baseIo()), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'EV_ERR_PROVIDER_UNAVAILABLE');
          assert.match(err.message, /requests were answered HTTP 401 for the first \d+ addresses/);
          return true;
        });
        assert.ok(readFileSync(o.out!, 'utf8').trim().split('\n').length < 250);
        assert.ok(
          calls > 0 && calls < 1000,
          `the provider was asked ${calls} times, not for all 1,000`,
        );
      } finally {
        t.cleanup();
      }
    });
  });
});
