import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { colored, painterFor, plain, shouldColor } from '../../../../../plugin/lib/render/color.ts';
import {
  clean,
  clockTime,
  formatEventLine,
  formatGapWarning,
} from '../../../../../plugin/lib/render/event-line.ts';
import {
  MAX_CELL,
  renderTable,
  tableWidth,
  uniquePrefixes,
} from '../../../../../plugin/lib/render/table.ts';
import type { SinkEvent } from '../../../../../src/protocol.ts';

const ESC = '\u001b[';

function received(
  overrides: Partial<{ subject: string | null; to: string[] }> = {},
): SinkEvent<'message.received'> {
  return {
    seq: 7,
    time: '2026-11-28T10:11:12.345Z',
    type: 'message.received',
    data: {
      id: 'm1',
      time: '2026-11-28T10:11:12.345Z',
      envelope: {
        helo: 'client',
        mailFrom: { address: 'app@example.com', tag: null },
        rcptTo: (overrides.to ?? ['user@example.com']).map((address) => ({ address, tag: null })),
        clientAddress: '127.0.0.1',
        tls: false,
        authUser: null,
      },
      from: 'app@example.com',
      to: overrides.to ?? ['user@example.com'],
      subject: overrides.subject === undefined ? 'Welcome' : overrides.subject,
      messageId: '<x@y>',
      size: 321,
      parsed: false,
      parseError: null,
    },
  };
}

const rejected: SinkEvent<'message.rejected'> = {
  seq: 8,
  time: '2026-11-28T10:11:13.000Z',
  type: 'message.rejected',
  data: {
    stage: 'rcpt',
    code: 550,
    enhancedCode: '5.1.1',
    text: 'No such user',
    from: 'app@example.com',
    to: 'bounce@example.com',
    clientAddress: '127.0.0.1',
    rule: 'builtin:bounce',
  },
};

describe('render: colour decision', () => {
  it('colours only a TTY without NO_COLOR', () => {
    assert.equal(shouldColor({ isTTY: true }, {}), true);
    assert.equal(shouldColor({ isTTY: false }, {}), false);
    assert.equal(shouldColor({}, {}), false);
    assert.equal(shouldColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(
      shouldColor({ isTTY: true }, { NO_COLOR: '' }),
      true,
      'an empty NO_COLOR does not count (no-color.org)',
    );
    assert.equal(shouldColor({ isTTY: true }, { TERM: 'dumb' }), false);
    assert.equal(painterFor({ isTTY: false }, {}), plain);
    assert.equal(painterFor({ isTTY: true }, {}), colored);
  });

  it('prints no escape sequences when colour is off, and some when on', () => {
    const off = formatEventLine(rejected, { paint: plain, utc: true });
    assert.ok(!off.includes(ESC), off);
    const on = formatEventLine(rejected, { paint: colored, utc: true });
    assert.ok(on.includes(`${ESC}31m`), 'rejections are red');
    assert.ok(on.includes(`${ESC}1m`), 'rejections are bold');
  });
});

describe('render: event lines', () => {
  it('formats a received message as time, verdict, from -> to, subject', () => {
    const line = formatEventLine(received(), { utc: true });
    assert.equal(
      line,
      '10:11:12.345  RECEIVED  app@example.com -> user@example.com  "Welcome"  321B id=m1',
    );
  });

  it('formats rejections with the SMTP reply, stage and rule', () => {
    assert.equal(
      formatEventLine(rejected, { utc: true }),
      '10:11:13.000  REJECTED  app@example.com -> bounce@example.com  550 5.1.1 No such user at rcpt rule=builtin:bounce',
    );
  });

  it('formats deferrals and bounces distinctly', () => {
    const deferred = {
      ...rejected,
      type: 'message.deferred' as const,
      data: { ...rejected.data, code: 451, enhancedCode: '4.7.1', text: 'Try again later' },
    };
    assert.match(
      formatEventLine(deferred, { utc: true }),
      /DEFERRED {2}app@example.com -> bounce@example.com {2}451 4\.7\.1 Try again later/,
    );
    const bounced: SinkEvent<'message.bounced'> = {
      seq: 9,
      time: '2026-11-28T10:11:14.000Z',
      type: 'message.bounced',
      data: {
        messageId: 'm2',
        dsnId: 'm3',
        recipient: 'asyncbounce@example.com',
        sender: 'app@example.com',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 mailbox unavailable',
        rule: 'builtin:asyncbounce',
      },
    };
    assert.match(
      formatEventLine(bounced, { utc: true }),
      /BOUNCED {3}app@example.com -> asyncbounce@example.com {2}5\.1\.1 smtp; 550/,
    );
  });

  it('shortens many recipients, marks a missing subject and prefixes the source', () => {
    const line = formatEventLine(
      received({ subject: null, to: ['a@x', 'b@x', 'c@x', 'd@x', 'e@x'] }),
      { utc: true, source: 'pod-1' },
    );
    assert.ok(line.startsWith('pod-1 10:11:12.345'), line);
    assert.match(line, /a@x, b@x, c@x \+2 {2}\(no subject\)/);
  });

  it('neutralises control characters and cuts long fields', () => {
    const line = formatEventLine(
      received({ subject: `evil\u001b[2J\r\nsubject${'x'.repeat(500)}` }),
      { utc: true },
    );
    assert.ok(!line.includes('\u001b'));
    assert.ok(!line.includes('\n'));
    assert.ok(line.includes('…'));
    assert.equal(clean(null), '');
    assert.equal(clean('a\u202eb'), 'a b', 'bidi overrides are removed');
  });

  it('falls back to the raw time when it is not a date', () => {
    assert.equal(clockTime('not-a-date'), 'not-a-date');
  });

  it('describes gaps with the number of lost events', () => {
    const gap: SinkEvent<'gap'> = {
      seq: 100,
      time: '2026-11-28T10:00:00.000Z',
      type: 'gap',
      data: { from: 1, to: 99, missed: 99 },
    };
    assert.match(formatEventLine(gap, { utc: true }), /GAP {7}99 event\(s\) lost \(seq 1\.\.99\)/);
    assert.match(formatGapWarning(gap, 'pod-a'), /^warning: 99 event\(s\) from pod-a were lost/);
  });
});

describe('render: table', () => {
  it('pads columns and leaves the last one unpadded', () => {
    assert.equal(
      renderTable(
        ['ID', 'NAME'],
        [
          ['1', 'a'],
          ['22', 'bbb'],
        ],
      ),
      'ID  NAME\n1   a\n22  bbb',
    );
  });
  it('caps a long cell at MAX_CELL unless wide', () => {
    const long = 'x'.repeat(MAX_CELL + 10);
    assert.equal(renderTable(['A'], [[long]]), `A\n${'x'.repeat(MAX_CELL - 1)}…`);
    assert.equal(renderTable(['A'], [[long]], { wide: true }), `A\n${long}`);
  });

  it('fits a width by cutting the truncatable columns, widest first, never the others', () => {
    const rows = [
      ['abcdef12', 'someone.with.a.long.name@example.com', 'A subject long enough to need cutting'],
    ];
    const cols = [
      'ID',
      { header: 'FROM', truncate: true },
      { header: 'SUBJECT', truncate: true },
    ] as const;
    const out = renderTable(cols, rows, { width: 50 });
    const lines = out.split('\n');
    for (const l of lines) assert.ok(l.length <= 50, `${JSON.stringify(l)} is ${l.length}`);
    assert.equal(lines[1].length, 50, 'uses the whole width');
    assert.ok(lines[1].startsWith('abcdef12  '), 'the id is whole');
    assert.match(lines[1], /…\s+A subject.*…$/, 'both free-text columns cut with an ellipsis');
    assert.equal(
      renderTable(cols, rows, { width: 200 }),
      renderTable(cols, rows),
      'room: nothing cut',
    );
    assert.equal(
      renderTable(cols, rows, { width: 20, wide: true }),
      renderTable(cols, rows, { wide: true }),
    );
  });

  it('leaves out optional columns, lowest dropOrder first, when cutting is not enough', () => {
    const cols = [
      'NAMESPACE',
      { header: 'TTL', dropOrder: 1 },
      { header: 'AGE', dropOrder: 2 },
      'READY',
    ];
    const rows = [['email-validation-20261206-040000-abcde', '2h', '45m', '1/1']];
    assert.match(renderTable(cols, rows, { width: 120 }), /^NAMESPACE +TTL +AGE +READY$/m);
    const at54 = renderTable(cols, rows, { width: 54 });
    assert.match(at54, /^NAMESPACE +AGE +READY$/m, 'TTL goes first');
    const at45 = renderTable(cols, rows, { width: 45 });
    assert.match(at45, /^NAMESPACE +READY$/m);
    assert.match(at45, /^email-validation-20261206-040000-abcde {2}1\/1$/m);
  });

  it('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    const out = renderTable(['A', { header: 'B', truncate: true }], [['x', '😀'.repeat(20)]], {
      width: 14,
    });
    const row = out.split('\n')[1];
    assert.equal(Array.from(row).length, 14);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(row), 'no lone high surrogate');
  });

  it('short ids: the shortest prefix of at least N characters unique among the ids, ignoring case', () => {
    const ids = ['abcdef0011', 'ABCDEF0022', 'abcdef1000', '12345678ff'];
    const short = uniquePrefixes(ids, 4);
    assert.equal(short.get('abcdef0011'), 'abcdef001');
    assert.equal(short.get('ABCDEF0022'), 'ABCDEF002');
    assert.equal(short.get('abcdef1000'), 'abcdef1');
    assert.equal(short.get('12345678ff'), '1234');
    for (const [id, p] of short) {
      assert.ok(id.startsWith(p));
      const clash = ids.filter((o) => o.toLowerCase().startsWith(p.toLowerCase()));
      assert.deepEqual(clash, [id], `${p} names one id`);
    }
    assert.equal(uniquePrefixes(['abc'], 8).get('abc'), 'abc', 'never longer than the id');
  });

  it('the terminal width: $COLUMNS wins, then the terminal, else no limit', () => {
    assert.equal(tableWidth({ isTTY: true, columns: 100 }, { COLUMNS: '60' }), 60);
    assert.equal(tableWidth({ isTTY: true, columns: 100 }, {}), 100);
    assert.equal(tableWidth({ isTTY: false, columns: undefined }, { COLUMNS: 'x' }), null);
    assert.equal(tableWidth({}, {}), null);
  });
});

describe('render: message detail', () => {
  it('keeps line breaks of the body but neutralises escape sequences', async () => {
    const { formatMessageDetail } = await import('../../../../../plugin/lib/render/messages.ts');
    const base = received().data;
    const text = formatMessageDetail(
      {
        ...base,
        headers: [{ name: 'Subject', value: 'Welcome' }],
        text: 'line 1\r\nline\u001b[31m 2\n',
        html: null,
        attachments: [],
        analysis: null,
      },
      { utc: true },
    );
    assert.match(text, /^ID: +m1$/m);
    assert.match(text, /^ {2}Subject: Welcome$/m);
    assert.ok(text.endsWith('line 1\nline\ufffd[31m 2'), JSON.stringify(text.slice(-30)));
  });
});
