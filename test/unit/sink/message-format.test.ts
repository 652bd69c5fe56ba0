import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { simpleParser } from 'mailparser';
import type { MessageSummary } from '../../../src/protocol.ts';
import { MAX_DSN_ORIGINAL_HEADER_BYTES, buildDsn } from '../../../sink/dsn.ts';
import {
  MAX_INGEST_HEADER_FIELDS,
  decodeEncodedWords,
  parseHeaderBlock,
  splitAddressList,
  summaryHeaders,
} from '../../../sink/message-headers.ts';
import { generateSelfSigned } from '../../../sink/smtp-tls.ts';

describe('ingest header parse', () => {
  it('unfolds, lower-cases names, stops at the blank line, with any line ending', () => {
    for (const eol of ['\r\n', '\n', '\r']) {
      const raw = Buffer.from(
        ['Subject: a', '  folded', 'From: x@y', 'garbage line', '', 'Body: not a header'].join(eol),
      );
      assert.deepEqual(parseHeaderBlock(raw), [
        { name: 'subject', value: 'a folded' },
        { name: 'from', value: 'x@y' },
      ]);
    }
  });

  it('bounds the number of fields', () => {
    const raw = Buffer.from(
      Array.from({ length: 5000 }, (_, i) => `X-${i}: v`).join('\r\n') + '\r\n\r\n',
    );
    assert.equal(parseHeaderBlock(raw).length, MAX_INGEST_HEADER_FIELDS);
  });

  it('decodes RFC 2047 words and leaves broken ones as they are', () => {
    assert.equal(decodeEncodedWords('=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?B?IOKYgw==?='), 'Grüße ☃');
    assert.equal(decodeEncodedWords('=?iso-8859-1?q?caf=E9_ok?='), 'café ok');
    assert.equal(decodeEncodedWords('=?x-unknown?B?YQ==?='), '=?x-unknown?B?YQ==?=');
  });

  it('splits address lists outside quotes and brackets', () => {
    assert.deepEqual(splitAddressList('"Doe, John" <j@x>, a@y (c, d), <b@z>'), [
      '"Doe, John" <j@x>',
      'a@y (c, d)',
      '<b@z>',
    ]);
    assert.deepEqual(
      summaryHeaders(parseHeaderBlock(Buffer.from('To: a@x, b@y\r\nMessage-ID: <m@x>\r\n\r\n'))),
      { from: null, to: ['a@x', 'b@y'], subject: null, messageId: '<m@x>' },
    );
  });
});

describe('DSN (RFC 3464)', () => {
  it('is a multipart/report to the envelope sender with the delivery status and original headers', async () => {
    const original: MessageSummary = {
      id: 'orig-1',
      time: '2026-11-28T00:00:00.000Z',
      from: 'a@x',
      to: ['asyncbounce@y'],
      subject: 'Hi',
      messageId: '<m1@x>',
      size: 10,
      parsed: false,
      parseError: null,
      envelope: {
        helo: 'c',
        mailFrom: { address: 'sender@x', tag: null },
        rcptTo: [{ address: 'asyncbounce@y', tag: null }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
    };
    const raw = buildDsn({
      reportingMta: 'sink.test',
      original,
      originalRaw: Buffer.from('Subject: Hi\r\nMessage-ID: <m1@x>\r\n\r\nbody'),
      recipient: 'asyncbounce@y',
      status: '5.1.1',
      diagnostic: 'smtp; 550 5.1.1 no such user',
      now: new Date('2026-11-28T00:00:01Z'),
    });
    const text = raw.toString();
    assert.match(
      text,
      /^From: Mail Delivery System <MAILER-DAEMON@sink\.test>\r\nTo: <sender@x>\r\n/,
    );
    assert.match(text, /Content-Type: multipart\/report; report-type=delivery-status; boundary=/);
    assert.match(
      text,
      /Content-Type: message\/delivery-status\r\n\r\nReporting-MTA: dns; sink\.test\r\n/,
    );
    assert.match(
      text,
      /Final-Recipient: rfc822; asyncbounce@y\r\nAction: failed\r\nStatus: 5\.1\.1\r\nDiagnostic-Code: smtp; 550 5\.1\.1 no such user\r\n/,
    );
    assert.match(
      text,
      /Content-Type: text\/rfc822-headers\r\n\r\nSubject: Hi\r\nMessage-ID: <m1@x>\r\n/,
    );
    assert.doesNotMatch(text, /body/);
    const parsed = await simpleParser(raw);
    assert.equal(parsed.subject, 'Undelivered Mail Returned to Sender');
  });

  describe('line by line', () => {
    const original = (over: Partial<MessageSummary> = {}): MessageSummary => ({
      id: 'orig-1',
      time: '2026-11-28T00:00:00.000Z',
      from: 'a@x',
      to: ['r@y'],
      subject: 'Hi',
      messageId: '<m1@x>',
      size: 10,
      parsed: false,
      parseError: null,
      envelope: {
        helo: 'c',
        mailFrom: { address: 'sender@x', tag: null },
        rcptTo: [{ address: 'r@y', tag: null }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      ...over,
    });
    const dsn = (raw: string | Buffer, over: Partial<MessageSummary> = {}): string => {
      const text = buildDsn({
        reportingMta: 'sink.test',
        original: original(over),
        originalRaw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
        recipient: 'r@y\r\nBcc: evil@z',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1\n\n no such user',
        now: new Date('2026-11-28T00:00:01Z'),
      }).toString('utf8');
      const boundary = /boundary="(=_dsn_[0-9a-f]{24})"/.exec(text)?.[1];
      assert.ok(boundary, 'a random boundary');
      assert.match(text, /\r\nMessage-ID: <dsn\.[0-9a-f]{16}@sink\.test>\r\n/);
      return text
        .split(boundary)
        .join('B')
        .replace(/<dsn\.[0-9a-f]{16}@/, '<dsn.ID@');
    };

    it('is exactly the RFC 3464 report, with the original headers only', () => {
      assert.equal(
        dsn('Subject: Hi\nMessage-ID: <m1@x>\rX-Nul: a\0b\n\nbody'),
        [
          'From: Mail Delivery System <MAILER-DAEMON@sink.test>',
          'To: <sender@x>',
          'Subject: Undelivered Mail Returned to Sender',
          'Date: Sat, 28 Nov 2026 00:00:01 +0000',
          'Message-ID: <dsn.ID@sink.test>',
          'Auto-Submitted: auto-replied',
          'MIME-Version: 1.0',
          'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
          '',
          '--B',
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 8bit',
          '',
          'This is the mail system at host sink.test.',
          '',
          'Your message could not be delivered to one or more recipients.',
          '',
          '<r@y Bcc: evil@z>: smtp; 550 5.1.1  no such user',
          '',
          '--B',
          'Content-Type: message/delivery-status',
          '',
          'Reporting-MTA: dns; sink.test',
          'X-Original-Message-ID: <m1@x>',
          'Arrival-Date: Sat, 28 Nov 2026 00:00:00 +0000',
          '',
          'Final-Recipient: rfc822; r@y Bcc: evil@z',
          'Action: failed',
          'Status: 5.1.1',
          'Diagnostic-Code: smtp; 550 5.1.1  no such user',
          '',
          '--B',
          'Content-Type: text/rfc822-headers',
          '',
          'Subject: Hi',
          'Message-ID: <m1@x>',
          'X-Nul: ab',
          '',
          '--B--',
          '',
        ].join('\r\n'),
      );
    });

    it('uses the id without a Message-ID, an empty sender for a null return path, and the whole text without a blank line', () => {
      const text = dsn('Subject: only headers\r\nX: y', {
        messageId: null,
        envelope: { ...original().envelope, mailFrom: null },
      });
      assert.match(text, /\r\nTo: <>\r\n/);
      assert.match(text, /\r\nX-Original-Message-ID: orig-1\r\n/);
      assert.match(text, /text\/rfc822-headers\r\n\r\nSubject: only headers\r\nX: y\r\n\r\n--B--/);
    });

    it(`keeps at most MAX_DSN_ORIGINAL_HEADER_BYTES (${MAX_DSN_ORIGINAL_HEADER_BYTES}) bytes of the original`, () => {
      const long = `X-Long: ${'a'.repeat(MAX_DSN_ORIGINAL_HEADER_BYTES)}\r\n\r\nbody`;
      const text = dsn(long);
      const kept = /X-Long: (a*)/.exec(text)?.[1] ?? '';
      assert.equal(kept.length, MAX_DSN_ORIGINAL_HEADER_BYTES - 'X-Long: '.length);
      assert.match(
        dsn('\r\n\r\nbody'),
        /text\/rfc822-headers\r\n\r\n\r\n\r\n--B--/,
        'no headers at all',
      );
      const short = dsn('S: 1\r\n\r\n');
      assert.match(short, /text\/rfc822-headers\r\n\r\nS: 1\r\n\r\n--B--/);
    });
  });
});

describe('self-signed certificate', () => {
  it('is a valid X.509 certificate for the given names, signed by its own key', () => {
    const pair = generateSelfSigned(
      ['sink.test', 'localhost', '127.0.0.1'],
      new Date('2026-11-28T00:00:00Z'),
    );
    const cert = new X509Certificate(pair.cert);
    assert.equal(cert.subject, 'CN=sink.test');
    assert.equal(cert.subjectAltName, 'DNS:sink.test, DNS:localhost, IP Address:127.0.0.1');
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(cert.checkHost('localhost'));
    assert.equal(cert.ca, false);
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 2027);
  });
});
