/**
 * The pure parts of the MailHog/Mailpit compatibility: the --release-to
 * allow-list, MailHog's release and Jim bodies decoded as Go decodes them, Jim
 * and Mailpit chaos as rules, and the Mailpit search syntax.
 */
import assert from 'node:assert/strict';
import { parseRules } from '../../../../src/rules-schema.ts';
import { resolveSinkConfig } from '../../../../sink/config.ts';
import { JIM_DEFAULTS, jimRules, parseJimBody } from '../../../../sink/http/mailhog/jim.ts';
import { parseReleaseBody } from '../../../../sink/http/mailhog/routes.ts';
import { chaosRules } from '../../../../sink/http/mailpit/routes.ts';
import {
  MAX_MAILPIT_QUERY_LENGTH,
  MAX_MAILPIT_QUERY_TERMS,
  matchesMailpitQuery,
  parseMailpitQuery,
} from '../../../../sink/http/mailpit/search.ts';
import { summary as summaryOf } from '../../../support/message-summary.ts';
import { RulesEngine } from '../../../../sink/rules.ts';
import {
  formatReleaseTarget,
  parseReleaseTargets,
  releaseAllowed,
} from '../../../../sink/release-targets.ts';
import type { MessageSummary } from '../../../../src/protocol.ts';

describe('MailHog/Mailpit compatibility helpers', () => {
  it('--release-to: HOST[:PORT] entries, IPv6 in brackets, case-insensitive hosts, no port = any port', () => {
    const targets = parseReleaseTargets('smtp.Example.com:25, relay.internal, [::1]:2525');
    assert.ok(Array.isArray(targets));
    assert.deepEqual(targets.map(formatReleaseTarget), [
      'smtp.example.com:25',
      'relay.internal:*',
      '[::1]:2525',
    ]);
    assert.equal(releaseAllowed(targets, 'SMTP.example.com', 25), true);
    assert.equal(releaseAllowed(targets, 'smtp.example.com', 587), false);
    assert.equal(releaseAllowed(targets, 'relay.internal', 587), true);
    assert.equal(releaseAllowed(targets, '::1', 2525), true);
    assert.equal(releaseAllowed(targets, 'evil.example', 25), false);
    assert.equal(releaseAllowed([], 'smtp.example.com', 25), false);
    for (const bad of ['host:99999', 'host:x', 'bad host', 'a:b:c'])
      assert.equal(typeof parseReleaseTargets(bad), 'string', bad);
    assert.throws(
      () => resolveSinkConfig({ releaseTo: 'a:b:c', noAuth: true }),
      (err: { code?: string; message: string }) =>
        err.code === 'EV_ERR_INVALID_OPTION' && /--release-to/.test(err.message),
    );
    // With --no-auth any web page could drive a release: refused, naming both options.
    assert.throws(
      () => resolveSinkConfig({ releaseTo: 'smtp.example.com:25', noAuth: true }),
      (err: { code?: string; message: string }) =>
        err.code === 'EV_ERR_CONFLICTING_OPTIONS' &&
        /--release-to/.test(err.message) &&
        /--no-auth/.test(err.message),
    );
    assert.equal(
      resolveSinkConfig({ releaseTo: 'smtp.example.com:25', token: 'x'.repeat(20) }).releaseTo
        .length,
      1,
    );
    assert.throws(
      () => resolveSinkConfig({ corsOrigin: 'https://a\r\nSet-Cookie: x', noAuth: true }),
      (err: { code?: string }) => err.code === 'EV_ERR_INVALID_OPTION',
    );
    assert.equal(resolveSinkConfig({ corsOrigin: '*', noAuth: true }).corsOrigin, '*');
  });

  it('release bodies decode like Go: keys in any case, strings only (a numeric port tolerated)', () => {
    assert.deepEqual(parseReleaseBody('{"host":"h","PORT":"25","Email":"a@b"}'), {
      Host: 'h',
      Port: '25',
      Email: 'a@b',
      Name: '',
      Save: false,
      Username: '',
      Password: '',
      Mechanism: '',
    });
    assert.equal(parseReleaseBody('{"host":"h","port":2525}')?.Port, '2525');
    assert.equal(parseReleaseBody('{"host":1}'), null);
    assert.equal(parseReleaseBody('x'), null);
    assert.equal(parseReleaseBody('[]'), null);
  });

  it("Jim: bodies decode from zero values; his settings become valid rules layered after the user's", () => {
    assert.deepEqual(parseJimBody('{"rejectrecipientchance":1}'), {
      ...Object.fromEntries(Object.keys(JIM_DEFAULTS).map((k) => [k, 0])),
      RejectRecipientChance: 1,
    });
    assert.equal(parseJimBody('not json'), null);
    assert.equal(parseJimBody('{"AcceptChance":"high"}'), null);
    const rules = parseRules(jimRules(JIM_DEFAULTS), 'jim').rules;
    assert.deepEqual(
      rules.map((r) => `${r.name}@${r.stage}:${r.action.kind}`),
      [
        'jim-refuse-connection@connect:disconnect',
        'jim-disconnect-mail@mail:disconnect',
        'jim-disconnect-rcpt@rcpt:disconnect',
        'jim-disconnect-data@data:disconnect',
        'jim-disconnect-end@end:disconnect',
        'jim-reject-sender@mail:reject',
        'jim-reject-recipient@rcpt:reject',
        'jim-link-speed@end:delay',
      ],
    );
    assert.equal(rules[0].match.probability?.toFixed(2), '0.01');
    assert.equal(
      parseRules(
        jimRules({
          ...JIM_DEFAULTS,
          DisconnectChance: 0,
          AcceptChance: 1,
          RejectSenderChance: 0,
          RejectRecipientChance: 0,
          LinkSpeedAffect: 0,
        }),
        'jim',
      ).rules.length,
      0,
    );
    // Overlays come after the user's rules, and removing one leaves the user's alone.
    const engine = new RulesEngine({
      source: 'rules:\n  - name: mine\n    match: { recipient: "x@y" }\n    reject: true\n',
      random: () => 0,
    });
    engine.overlay(
      jimRules({
        ...JIM_DEFAULTS,
        AcceptChance: 1,
        DisconnectChance: 0,
        LinkSpeedAffect: 0,
        RejectSenderChance: 0,
        RejectRecipientChance: 1,
      }),
      'jim',
    );
    assert.equal(
      engine.evaluate('rcpt', { sender: null, recipients: ['x@y'] }).verdict?.kind === 'reject' &&
        engine.evaluate('rcpt', { sender: null, recipients: ['x@y'] }).verdict?.rule,
      'mine',
    );
    assert.equal(
      engine.evaluate('rcpt', { sender: null, recipients: ['z@y'] }).verdict?.rule,
      'jim-reject-recipient',
    );
    engine.overlay(null, 'jim');
    assert.equal(engine.evaluate('rcpt', { sender: null, recipients: ['z@y'] }).verdict, null);
    assert.equal(engine.count(), 1);
  });

  it('Jim: a null body or null field is a zero; the link-speed delay is the time a 4 KiB message takes', () => {
    const zero = Object.fromEntries(Object.keys(JIM_DEFAULTS).map((k) => [k, 0]));
    assert.deepEqual(parseJimBody('null'), zero);
    assert.deepEqual(parseJimBody('{"AcceptChance":null}'), zero);
    const none = {
      ...JIM_DEFAULTS,
      AcceptChance: 1,
      DisconnectChance: 0,
      RejectSenderChance: 0,
      RejectRecipientChance: 0,
    };
    // 4096 bytes at the mean of 1024 and 3072 bytes a second: 2 s.
    assert.equal(
      jimRules({ ...none, LinkSpeedAffect: 0.5, LinkSpeedMin: 1024, LinkSpeedMax: 3072 }),
      'rules:\n  - name: jim-link-speed\n    stage: end\n    match: { probability: 0.5 }\n    delay: 2000ms\n',
    );
    // Speeds below 1 byte a second count as 1: capped at 5 minutes.
    assert.match(
      jimRules({ ...none, LinkSpeedAffect: 1, LinkSpeedMin: 0, LinkSpeedMax: -5 }),
      /delay: 300000ms/,
    );
    // So fast that the delay rounds to 0 ms: no rule.
    assert.equal(
      jimRules({ ...none, LinkSpeedAffect: 1, LinkSpeedMin: 1e9, LinkSpeedMax: 1e9 }),
      'rules: []\n',
    );
  });

  it('Mailpit chaos: percent probabilities, 5xx rejects, 4xx defers', () => {
    const rules = parseRules(
      chaosRules({
        Sender: { ErrorCode: 451, Probability: 50 },
        Recipient: { ErrorCode: 550, Probability: 100 },
        Authentication: { ErrorCode: 535, Probability: 10 },
      }),
      'chaos',
    ).rules;
    assert.deepEqual(
      rules.map((r) => [r.stage, r.action.kind, r.match.probability]),
      [
        ['mail', 'defer', 0.5],
        ['rcpt', 'reject', 1],
      ],
    );
  });

  it('Mailpit search: terms, phrases, fields, negation; unknown filters refused', () => {
    assert.deepEqual(
      parseMailpitQuery(
        'invoice "Order 7" -from:shop@x subject:"a b" tag:orders is:unread has:attachment',
      ).map((t) => [t.field, t.value, t.negate]),
      [
        ['any', 'invoice', false],
        ['any', 'order 7', false],
        ['from', 'shop@x', true],
        ['subject', 'a b', false],
        ['tag', 'orders', false],
        ['is:unread', '', false],
        ['has:attachment', '', false],
      ],
    );
    assert.throws(() => parseMailpitQuery('after:2024-01-01'), /after:/);
    assert.throws(() => parseMailpitQuery('x'.repeat(2000)), /longer than/);
    const summary = {
      id: '1',
      time: '',
      envelope: {
        helo: '',
        mailFrom: { address: 'shop@x', tag: null },
        rcptTo: [{ address: 'a+orders@y', tag: 'orders' }],
        clientAddress: '',
        tls: false,
        authUser: null,
      },
      from: 'Shop <shop@x>',
      to: ['a+orders@y'],
      subject: 'Order 7',
      messageId: null,
      size: 1,
      parsed: false,
      parseError: null,
    } satisfies MessageSummary;
    const subject = {
      summary,
      read: false,
      text: () => 'subject: order 7\r\n\r\nyour invoice',
      hasAttachment: () => false,
    };
    assert.equal(
      matchesMailpitQuery(parseMailpitQuery('invoice tag:orders subject:order'), subject),
      true,
    );
    assert.equal(matchesMailpitQuery(parseMailpitQuery('-from:shop'), subject), false);
    assert.equal(matchesMailpitQuery(parseMailpitQuery('has:attachment'), subject), false);
    assert.equal(matchesMailpitQuery(parseMailpitQuery('is:unread'), subject), true);
    // `to:` matches when any To address holds the text (Mailpit's internal/storage/search.go,
    // searchQueryBuilder: `ToJSON LIKE %term%` over the whole To list), here with an envelope
    // recipient that matches neither term.
    const twoTo = {
      ...subject,
      summary: {
        ...summary,
        to: ['first@one.test', 'second@two.test'],
        envelope: { ...summary.envelope, rcptTo: [{ address: 'env@three.test', tag: null }] },
      },
    };
    assert.equal(matchesMailpitQuery(parseMailpitQuery('to:one.test'), twoTo), true);
    assert.equal(matchesMailpitQuery(parseMailpitQuery('to:two.test'), twoTo), true);
    assert.equal(matchesMailpitQuery(parseMailpitQuery('to:four.test'), twoTo), false);
  });
  it('Mailpit search, the edges: bounds, quotes hiding a colon, lone "-", prefixes that are not filters', () => {
    const parsed = (q: string) => parseMailpitQuery(q).map((t) => [t.field, t.value, t.negate]);
    // At the bounds: accepted (a trailing space is no term); one more refused, naming the bound.
    assert.equal(parsed('a'.repeat(MAX_MAILPIT_QUERY_LENGTH)).length, 1);
    assert.throws(
      () => parseMailpitQuery('a'.repeat(MAX_MAILPIT_QUERY_LENGTH + 1)),
      /longer than 1024 characters/,
    );
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    assert.equal(parsed(`  ${words(MAX_MAILPIT_QUERY_TERMS)}  `).length, MAX_MAILPIT_QUERY_TERMS);
    assert.throws(
      () => parseMailpitQuery(words(MAX_MAILPIT_QUERY_TERMS + 1)),
      (err: { code?: string; message: string }) =>
        err.code === 'EV_ERR_BAD_REQUEST' && err.message === 'search query has more than 32 terms',
    );
    // A colon inside quotes (or after them) is part of the phrase, not a filter.
    assert.deepEqual(parsed('"a:b"'), [['any', 'a:b', false]]);
    assert.deepEqual(parsed('-"a:b"'), [['any', 'a:b', true]]);
    assert.deepEqual(parsed('x"a:b"'), [['any', 'xa:b', false]]);
    assert.deepEqual(parsed('"a"b:"c"'), [['any', 'ab:c', false]]);
    assert.deepEqual(parsed('a"":b'), [['any', 'a:b', false]]);
    assert.deepEqual(parsed('subject:"a b" "unclosed x'), [
      ['subject', 'a b', false],
      ['any', 'unclosed x', false],
    ]);
    assert.deepEqual(parsed('"" -'), [['any', '-', false]]);
    assert.deepEqual(parsed('IS:READ -is:read has:attachments Message-ID:<A@B> to:X'), [
      ['is:read', '', false],
      ['is:read', '', true],
      ['has:attachment', '', false],
      ['message-id', '<a@b>', false],
      ['to', 'x', false],
    ]);
    // Only letters and hyphens make a filter name; anything else is a word.
    assert.deepEqual(parsed(':x 1a:b a1:b x.y:z'), [
      ['any', ':x', false],
      ['any', '1a:b', false],
      ['any', 'a1:b', false],
      ['any', 'x.y:z', false],
    ]);
    assert.throws(
      () => parseMailpitQuery('before:2020'),
      (err: { hint?: string; message: string }) =>
        err.message === 'the sink does not support the Mailpit search filter "before:"' &&
        /from:, to:, subject:, message-id:, tag:/.test(err.hint ?? ''),
    );
  });

  it('Mailpit search, matching: from (header or envelope), to (header or envelope), message-id, tags, read state', () => {
    const m = summaryOf({
      from: 'Shop <shop@example.com>',
      to: ['Alice <alice@example.com>'],
      messageId: '<Order-42@shop.example>',
      envelope: {
        ...summaryOf().envelope,
        mailFrom: { address: 'bounce@mailer.example', tag: null },
        rcptTo: [
          { address: 'bcc@example.org', tag: null },
          { address: 'alice+Orders@example.com', tag: 'Orders' },
        ],
      },
    });
    const subject = (read: boolean) => ({
      summary: m,
      read,
      text: () => '',
      hasAttachment: () => true,
    });
    const matches = (q: string, read = false) =>
      matchesMailpitQuery(parseMailpitQuery(q), subject(read));
    for (const q of [
      'from:shop@',
      'from:bounce@mailer',
      'to:alice@example.com',
      'to:bcc@example.org',
      'message-id:order-42',
      'tag:orders',
      'is:unread',
      'has:attachment',
      '-is:read',
    ])
      assert.equal(matches(q), true, q);
    for (const q of ['from:nobody', 'to:carol', 'message-id:order-43', 'tag:order', 'is:read'])
      assert.equal(matches(q), false, q);
    assert.equal(matches('is:read', true), true);
    assert.equal(matches('is:unread', true), false);
    assert.equal(
      matchesMailpitQuery(parseMailpitQuery('from:x to:x'), {
        ...subject(false),
        summary: {
          ...m,
          from: null,
          to: [],
          messageId: null,
          envelope: { ...m.envelope, mailFrom: null, rcptTo: [] },
        },
      }),
      false,
    );
  });
});

describe('CompatStream (MailHog/Mailpit live feeds)', () => {
  it('subscribes to the event log only while a client is connected, and drops a client that falls too far behind', async () => {
    const { EventLog } = await import('../../../../sink/event-log.ts');
    const { CompatStream, COMPAT_STREAM_MAX_BUFFER } =
      await import('../../../../sink/http/compat-streams.ts');
    const { EventEmitter } = await import('node:events');
    const events = new EventLog({ window: 100 });
    const frames: string[] = [];
    const stream = new CompatStream(events, (e) =>
      e.type === 'rules.updated' ? `frame ${e.seq}` : undefined,
    );
    assert.equal(events.listenerCount, 0);
    // A stand-in for a ServerResponse: what CompatStream uses of it.
    class FakeResponse extends EventEmitter {
      writableLength = 0;
      destroyed = false;
      readonly backlog: () => number;
      constructor(backlog: () => number) {
        super();
        this.backlog = backlog;
      }
      write(chunk: string): boolean {
        frames.push(chunk);
        this.writableLength = this.backlog();
        return true;
      }
      destroy(): void {
        this.destroyed = true;
        this.emit('close');
      }
      end(): void {
        this.emit('close');
      }
    }
    const fakeRes = (backlog: () => number) => new FakeResponse(backlog);
    const fast = fakeRes(() => 0);
    stream.addResponse(fast as never);
    assert.equal(events.listenerCount, 1);
    events.append('rules.updated', { count: 1 });
    events.append('messages.cleared', { count: 0 }); // no frame for it
    assert.deepEqual(frames, ['frame 1']);
    const slow = fakeRes(() => COMPAT_STREAM_MAX_BUFFER + 1);
    stream.addResponse(slow as never);
    events.append('rules.updated', { count: 2 });
    events.append('rules.updated', { count: 3 });
    assert.equal(slow.destroyed, true);
    assert.equal(stream.size, 1);
    fast.emit('close');
    assert.equal(stream.size, 0);
    assert.equal(events.listenerCount, 0);
  });

  it('is full at COMPAT_STREAM_MAX_CLIENTS; keeps its subscription while a client remains; drops WebSockets that fall behind; close() ends every client', async () => {
    const { EventLog } = await import('../../../../sink/event-log.ts');
    const { CompatStream, COMPAT_STREAM_MAX_BUFFER, COMPAT_STREAM_MAX_CLIENTS } =
      await import('../../../../sink/http/compat-streams.ts');
    const { EventEmitter } = await import('node:events');
    const events = new EventLog({ window: 100 });
    const stream = new CompatStream(events, (e) =>
      e.type === 'rules.updated' ? `f${e.seq}` : undefined,
    );
    /** What CompatStream uses of a ws WebSocket. */
    class FakeSocket extends EventEmitter {
      readonly sent: string[] = [];
      closed: [number, string] | null = null;
      terminated = false;
      bufferedAmount: number;
      readyState = 1;
      constructor(bufferedAmount = 0) {
        super();
        this.bufferedAmount = bufferedAmount;
      }
      send(frame: string): void {
        this.sent.push(frame);
      }
      close(code: number, reason: string): void {
        this.closed = [code, reason];
        this.emit('close');
      }
      terminate(): void {
        this.terminated = true;
        this.emit('close');
      }
    }
    class FakeResponse extends EventEmitter {
      writableLength = COMPAT_STREAM_MAX_BUFFER;
      ended = false;
      readonly written: string[] = [];
      write(chunk: string): boolean {
        this.written.push(chunk);
        return true;
      }
      destroy(): void {
        this.emit('close');
      }
      end(): void {
        this.ended = true;
        this.emit('close');
      }
    }
    const sockets = Array.from({ length: COMPAT_STREAM_MAX_CLIENTS - 2 }, () => new FakeSocket());
    for (const ws of sockets) stream.addWebSocket(ws as never);
    // At exactly the buffer bound a client is still served.
    const atBound = new FakeSocket(COMPAT_STREAM_MAX_BUFFER);
    stream.addWebSocket(atBound as never);
    assert.equal(stream.full, false);
    const sse = new FakeResponse();
    stream.addResponse(sse as never);
    assert.equal(stream.full, true);
    events.append('rules.updated', { count: 1 });
    assert.deepEqual([atBound.sent, sse.written, sockets[0].sent], [['f1'], ['f1'], ['f1']]);
    // One past it: terminated and removed; a socket that is closing gets nothing.
    atBound.bufferedAmount = COMPAT_STREAM_MAX_BUFFER + 1;
    sockets[1].readyState = 2;
    events.append('rules.updated', { count: 2 });
    assert.equal(atBound.terminated, true);
    assert.deepEqual(
      [atBound.sent.length, sockets[1].sent.length, sockets[0].sent],
      [1, 1, ['f1', 'f2']],
    );
    assert.equal(stream.size, COMPAT_STREAM_MAX_CLIENTS - 1);
    // A client that leaves does not end the others' subscription.
    sockets[2].emit('close');
    assert.equal(stream.size, COMPAT_STREAM_MAX_CLIENTS - 2);
    assert.equal(events.listenerCount, 1);
    stream.close();
    assert.deepEqual(
      [sockets[0].closed, sse.ended, stream.size, events.listenerCount],
      [[1001, 'server shutting down'], true, 0, 0],
    );
  });
});
