import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startFakeDns, type FakeDns } from '../../support/fake-dns.ts';
import { runCheckCommand } from '../../../plugin/lib/check/run-check-command.ts';
import type { CheckResult } from '../../../src/check/result.ts';
import { baseIo, baseOptions, tempDir } from './helpers.ts';

/**
 * A tiny SMTP server that records every command line it receives, byte for
 * byte (latin1), and accepts every recipient: if a hostile address could add
 * a command (CR/LF injection), the extra line shows up here.
 */
async function startRecordingSmtp(): Promise<{
  port: number;
  lines: string[];
  close(): Promise<void>;
}> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('latin1');
    let buf = '';
    sock.write('220 recorder ESMTP\r\n');
    sock.on('data', (d: string) => {
      buf += d;
      // Record by LF so that a bare CR or LF inside a command is visible as its own line.
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        const cmd = line.replace(/\r$/, '').slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') sock.write('250-recorder\r\n250 SMTPUTF8\r\n');
        else if (cmd === 'MAIL' || cmd === 'RCPT' || cmd === 'RSET' || cmd === 'NOOP')
          sock.write('250 ok\r\n');
        else if (cmd === 'QUIT') {
          sock.end('221 bye\r\n');
        } else sock.write('500 unrecognised\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    lines,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** What a well-formed probe dialogue may contain, nothing else. */
const ALLOWED_COMMAND =
  /^(EHLO [a-z0-9.-]+|MAIL FROM:<[a-z0-9.@-]*>( SMTPUTF8)?|RCPT TO:<[\x20-\x7e]+>|QUIT)\r$/;

const HOSTILE = [
  'plain@inject.test',
  'a\rRSET@inject.test',
  '"a\r\nRSET\r\n"@inject.test',
  '"x\r\n DATA"@inject.test',
  '(\r\nRSET\r\n)b@inject.test',
  'c\u0085d@inject.test',
  '"e\u0001f"@inject.test',
  '"g\\\rh"@inject.test',
  '(comment\u0007)i@inject.test',
  '"tab\there"@inject.test',
  'j@inject.test\r\nRSET',
  '"k\u007f"@inject.test',
  '\ufffd\ufffd@inject.test',
];

describe('check: hostile input never reaches an SMTP command', function () {
  this.timeout(30_000);
  let dns: FakeDns;
  let smtp: Awaited<ReturnType<typeof startRecordingSmtp>>;
  before(async () => {
    smtp = await startRecordingSmtp();
    dns = await startFakeDns({
      'inject.test': { mx: [{ priority: 10, exchange: 'mx.inject.test' }] },
      'mx.inject.test': { a: ['127.0.0.1'] },
    });
  });
  after(async () => {
    await dns.close();
    await smtp.close();
  });

  it('probes with envelope-safe commands only; addresses that cannot be sent are invalid with a reason', async () => {
    const t = tempDir();
    try {
      // CSV lets a quoted field hold CR and LF, as a hostile export would.
      const input = join(t.dir, 'in.csv');
      writeFileSync(
        input,
        `email\n${HOSTILE.map((a) => `"${a.replace(/"/g, '""')}"`).join('\n')}\n`,
        'utf8',
      );
      const o = baseOptions({
        paths: [input],
        column: 'email',
        out: join(t.dir, 'out.jsonl'),
        dnsServer: dns.server,
        smtpProbe: true,
        helo: 'probe.check.test',
        mailFrom: 'verify@check.test',
        smtpPort: smtp.port,
        allowPrivateMx: true,
        port25Check: `127.0.0.1:${smtp.port}`,
        greylistRetries: 1,
      });
      await runCheckCommand(o, baseIo());
      const rows = readFileSync(o.out!, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CheckResult);
      assert.equal(rows.length, HOSTILE.length);
      assert.ok(smtp.lines.length > 0);
      for (const line of smtp.lines)
        assert.match(line, ALLOWED_COMMAND, `the server received ${JSON.stringify(line)}`);
      const plain = rows.find((r) => r.address === 'plain@inject.test')!;
      assert.equal(plain.checks.smtp?.status, 'deliverable', 'the probe ran for the plain address');
      // Folding white space in a quoted string is header syntax: the envelope form drops the CRLF and keeps the space.
      const folded = rows.find((r) => r.address === '"x\r\n DATA"@inject.test')!;
      assert.equal(folded.normalized, '"x DATA"@inject.test');
      assert.equal(folded.verdict, 'risky');
      for (const r of rows) {
        if (r === plain || r === folded) continue;
        assert.equal(r.verdict, 'invalid', `${JSON.stringify(r.address)} is ${r.verdict}`);
        assert.ok(r.reasons.includes('syntax_invalid'), JSON.stringify(r));
        assert.match(r.checks.syntax.diagnosis, /^err_/, JSON.stringify(r.address));
        assert.equal(r.normalized, '', 'an invalid address has no envelope form');
      }
      const rcpts = smtp.lines.filter(
        (l) => l.startsWith('RCPT TO:<') && !/^RCPT TO:<ev-[a-z0-9]+@inject\.test>\r$/.test(l),
      );
      assert.deepEqual(
        rcpts.sort(),
        ['RCPT TO:<"x DATA"@inject.test>\r', 'RCPT TO:<plain@inject.test>\r'],
        'only the sendable addresses (and the catch-all probe) were sent',
      );
    } finally {
      t.cleanup();
    }
  });

  it('refuses invalid UTF-8 per line (line and CSV mode alike), keeping the rest of the file', async () => {
    const t = tempDir();
    try {
      const lines = Buffer.concat([
        Buffer.from('ok@example.com\n'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('@example.com\n'),
        Buffer.from('caf'),
        Buffer.from([0xc3]),
        Buffer.from('@example.com\n'),
      ]);
      const txt = join(t.dir, 'in.txt');
      writeFileSync(txt, lines);
      const csv = join(t.dir, 'in.csv');
      writeFileSync(csv, Buffer.concat([Buffer.from('email\n'), lines]));
      for (const [paths, column] of [
        [[txt], null],
        [[csv], 'email'],
      ] as const) {
        const o = baseOptions({
          paths: [...paths],
          column,
          offline: true,
          out: join(t.dir, `out-${column ?? 'lines'}.jsonl`),
        });
        const summary = await runCheckCommand(o, baseIo());
        const rows = readFileSync(o.out!, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as CheckResult);
        assert.deepEqual(
          rows.map((r) => r.verdict),
          ['valid', 'invalid', 'invalid'],
        );
        assert.deepEqual(
          rows.slice(1).map((r) => r.checks.syntax.diagnosis),
          ['err_invalid_utf8', 'err_invalid_utf8'],
        );
        assert.equal(summary.counts.invalid, 2);
      }
    } finally {
      t.cleanup();
    }
  });

  it('trims the same white space in line mode and CSV mode', async () => {
    const t = tempDir();
    try {
      const values = [
        '\u00a0nbsp@example.com',
        'bom\ufeff@example.com',
        ' \tspaced@example.com\t ',
      ];
      const txt = join(t.dir, 'in.txt');
      writeFileSync(txt, `${values.join('\n')}\n`);
      const csv = join(t.dir, 'in.csv');
      writeFileSync(csv, `email\n${values.map((v) => `"${v}"`).join('\n')}\n`);
      const outs: string[][] = [];
      for (const [p, column] of [
        [txt, null],
        [csv, 'email'],
      ] as const) {
        const o = baseOptions({
          paths: [p],
          column,
          offline: true,
          out: join(t.dir, `o-${column ?? 'l'}.jsonl`),
        });
        await runCheckCommand(o, baseIo());
        outs.push(
          readFileSync(o.out!, 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as CheckResult).address),
        );
      }
      assert.deepEqual(outs[0], [
        '\u00a0nbsp@example.com',
        'bom\ufeff@example.com',
        'spaced@example.com',
      ]);
      assert.deepEqual(outs[1], outs[0]);
    } finally {
      t.cleanup();
    }
  });
});
