import { describe, it } from 'mocha';
import { analysis } from '../../../src/flow/helpers.ts';
import assert from 'node:assert/strict';
import {
  EventFilter,
  buildFilterSpec,
  compileValueMatcher,
  parseTypes,
} from '../../../../../plugin/lib/tail/event-filter.ts';
import { isEmailValidateError } from '../../../../../src/errors.ts';
import type { SinkEvent } from '../../../../../src/protocol.ts';

const T = '2026-11-28T10:00:00.000Z';
function received(id: string, to: string, subject: string, from = 'app@example.com'): SinkEvent {
  return {
    seq: 1,
    time: T,
    type: 'message.received',
    data: {
      id,
      time: T,
      envelope: {
        helo: 'h',
        mailFrom: { address: from, tag: null },
        rcptTo: [{ address: to, tag: null }],
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      from,
      to: [to],
      subject,
      messageId: null,
      size: 1,
      parsed: false,
      parseError: null,
    },
  };
}
const rejected = (to: string): SinkEvent => ({
  seq: 2,
  time: T,
  type: 'message.rejected',
  data: {
    stage: 'rcpt',
    code: 550,
    enhancedCode: '5.1.1',
    text: 'no',
    from: 'app@example.com',
    to,
    clientAddress: '127.0.0.1',
    rule: null,
  },
});
const analyzed = (id: string): SinkEvent => ({
  seq: 3,
  time: T,
  type: 'message.analyzed',
  data: { id, parseError: null, analysis: analysis() },
});
const gap: SinkEvent = { seq: 4, time: T, type: 'gap', data: { from: 1, to: 2, missed: 2 } };

describe('tail filters', () => {
  it('rejects a bad regular expression with a usage error naming the flag', () => {
    assert.throws(
      () => compileValueMatcher('--to', '/(unclosed/'),
      (err: unknown) => {
        assert.ok(isEmailValidateError(err));
        assert.equal(err.code, 'EV_ERR_INVALID_OPTION');
        assert.match(err.message, /^--to is not a valid regular expression/);
        assert.ok(err.hint?.includes('--to'));
        return true;
      },
    );
    assert.throws(() => compileValueMatcher('--subject', 'x'.repeat(2000)), /longer than/);
    assert.equal(compileValueMatcher('--to', undefined), undefined);
  });

  it('matches in linear time against hostile mail, and refuses what needs backtracking (issue 10, item 2)', () => {
    assert.equal(
      compileValueMatcher('--subject', '/^(a+)+$/')!.test(`${'a'.repeat(50_000)}!`),
      false,
    );
    assert.equal(
      compileValueMatcher('--to', '/ALICE@/')!.test('alice@example.com'),
      true,
      'case-insensitive',
    );
    assert.throws(
      () => compileValueMatcher('--from', '/(?<=x)y/'),
      /--from is not a valid regular expression: it uses lookbehind/,
    );
  });

  it('maps short and full type names and rejects unknown ones', () => {
    assert.deepEqual(
      [...parseTypes(['received', 'message.bounced', 'rejected,deferred'])!],
      ['message.received', 'message.bounced', 'message.rejected', 'message.deferred'],
    );
    assert.equal(parseTypes([]), undefined);
    assert.throws(() => parseTypes(['recieved']), /--type "recieved" is not an event type/);
  });

  it('matches --to against recipients of received and rejected events, case-insensitively', () => {
    const f = new EventFilter(buildFilterSpec({ to: '/^bounce/' }, { kind: 'all' }, 0));
    assert.equal(f.matches(received('a', 'user@x', 's')), false);
    assert.equal(f.matches(received('b', 'Bounce1@x', 's')), true);
    assert.equal(f.matches(rejected('bounce2@x')), true);
    assert.equal(f.matches(rejected('user@x')), false);
  });

  it('takes plain text as a case-insensitive substring (a + or . is literal), /…/ as an expression', () => {
    const plain = new EventFilter(
      buildFilterSpec({ to: 'User+42@Example.com' }, { kind: 'all' }, 0),
    );
    assert.equal(
      plain.matches(received('a', 'user+42@example.com', 's')),
      true,
      'the + of a plus address is literal text',
    );
    assert.equal(plain.matches(received('b', 'userr42@example.com', 's')), false);
    assert.equal(
      plain.matches(rejected('someuser+42@example.com')),
      true,
      'substring, like messages list --to',
    );
    const dot = new EventFilter(buildFilterSpec({ subject: 'v1.2' }, { kind: 'all' }, 0));
    assert.equal(dot.matches(received('c', 'u@x', 'Release v1x2')), false, 'a dot is a dot');
    assert.equal(dot.matches(received('d', 'u@x', 'Release V1.2 out')), true);
    const re = new EventFilter(buildFilterSpec({ to: '/^user\\+\\d+@/' }, { kind: 'all' }, 0));
    assert.equal(re.matches(received('e', 'USER+7@x', 's')), true);
    assert.equal(re.matches(received('f', 'someuser+7@x', 's')), false);
    assert.throws(
      () => buildFilterSpec({ from: '/(unclosed/' }, { kind: 'all' }, 0),
      /--from is not a valid regular expression/,
    );
    assert.throws(
      () => buildFilterSpec({ from: 'x'.repeat(2000) }, { kind: 'all' }, 0),
      /--from is longer than/,
    );
  });

  it('lets follow-up events of a matching message through, and always lets gaps through', () => {
    const f = new EventFilter(
      buildFilterSpec({ subject: 'welcome', type: ['received', 'analyzed'] }, { kind: 'all' }, 0),
    );
    assert.equal(f.matches(received('m1', 'u@x', 'Welcome aboard')), true);
    assert.equal(f.matches(analyzed('m1')), true);
    assert.equal(f.matches(analyzed('m2')), false);
    assert.equal(f.matches(rejected('u@x')), false, 'rejections have no subject');
    assert.equal(f.matches(gap), true);
  });

  it('filters by type alone, and by --from', () => {
    const f = new EventFilter(buildFilterSpec({ type: ['rejected'] }, { kind: 'all' }, 0));
    assert.equal(f.matches(received('m1', 'u@x', 's')), false);
    assert.equal(f.matches(rejected('u@x')), true);
    const g = new EventFilter(buildFilterSpec({ from: 'billing@' }, { kind: 'all' }, 0));
    assert.equal(g.matches(received('m1', 'u@x', 's', 'billing@shop.test')), true);
    assert.equal(g.matches(received('m2', 'u@x', 's')), false);
  });

  it('drops events older than a --since duration', () => {
    const now = Date.parse(T) + 10 * 60_000;
    const f = new EventFilter(buildFilterSpec({}, { kind: 'duration', ms: 5 * 60_000 }, now));
    assert.equal(f.matches(received('m1', 'u@x', 's')), false);
    const g = new EventFilter(buildFilterSpec({}, { kind: 'duration', ms: 15 * 60_000 }, now));
    assert.equal(g.matches(received('m1', 'u@x', 's')), true);
  });
});
