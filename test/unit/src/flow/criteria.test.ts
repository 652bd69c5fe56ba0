import assert from 'node:assert/strict';
import {
  checkMessage,
  compileCriteria,
  compileEventCriteria,
  describeEvent,
  describeMessage,
  describeProbe,
  hasLevel,
  linkProbes,
  linksOf,
  MAX_LINKS_CHECKED_PER_MESSAGE,
  MAX_LINKS_EXTRACTED,
  passes,
  type CheckLevel,
} from '../../../../src/flow/criteria.ts';
import type { DeliveryEvent, TrackedMessage } from '../../../../src/flow/history.ts';
import type { TemplateVars } from '../../../../src/flow/template.ts';
import type { ExpectEventStep, MessageCriteria } from '../../../../src/flow/types.ts';
import type { MessageAnalysis, RejectionData } from '../../../../src/protocol.ts';
import { analysis, detail, type MessageInit } from './helpers.ts';

const vars: TemplateVars = { run: { id: 'r1' }, env: { DOMAIN: 'example.test' } };

function criteria(over: Partial<MessageCriteria>): MessageCriteria {
  return {
    to: null,
    from: null,
    subject: null,
    text: null,
    html: null,
    headers: [],
    links: [],
    attachments: [],
    dkim: null,
    listUnsubscribe: null,
    maxSpamScore: null,
    ...over,
  };
}

/** A tracked message with its detail fetched (and its analysis when given). */
function tracked(init: MessageInit = {}, fetched = true): TrackedMessage {
  const d = detail({ ...init, analysis: null });
  const { headers: _h, text: _t, html: _x, attachments: _a, analysis: _an, ...summary } = d;
  return {
    seq: 1,
    summary,
    detail: fetched ? d : null,
    detailError: null,
    analysis: init.analysis ?? null,
  };
}

/** field → [ok, actual] of every check, for exact comparisons. */
function run(
  spec: Partial<MessageCriteria>,
  m: TrackedMessage,
): Array<[string, string, boolean, string]> {
  return checkMessage(compileCriteria(criteria(spec), vars), m).map((r) => [
    r.field,
    r.expected,
    r.ok,
    r.actual,
  ]);
}

/** Both paths (passes and checkMessage) must agree; returns the verdict. */
function verdict(spec: Partial<MessageCriteria>, m: TrackedMessage): boolean {
  const c = compileCriteria(criteria(spec), vars);
  const fast = passes(c, m);
  const slow = checkMessage(c, m).every((r) => r.ok);
  assert.equal(fast, slow, 'passes() and checkMessage() disagree');
  return fast;
}

describe('flow criteria', () => {
  describe('recipients, senders and the list of actual values', () => {
    const cases: Array<[string, string[], boolean, string]> = [
      ['one recipient', ['a@example.test'], true, '"a@example.test"'],
      ['three', ['x@t', 'y@t', 'a@example.test'], true, '"x@t", "y@t", "a@example.test"'],
      [
        'four: one more',
        ['x@t', 'y@t', 'z@t', 'a@example.test'],
        true,
        '"x@t", "y@t", "z@t" and 1 more',
      ],
      [
        'five: two more',
        ['x@t', 'y@t', 'z@t', 'w@t', 'v@t'],
        false,
        '"x@t", "y@t", "z@t" and 2 more',
      ],
      ['none', [], false, '(none)'],
    ];
    for (const [name, to, ok, actual] of cases) {
      it(`to: ${name}`, () => {
        const m = tracked({ to });
        assert.deepEqual(run({ to: 'a@example' }, m), [['to', 'a@example', ok, actual]]);
        assert.equal(verdict({ to: 'a@example' }, m), ok);
      });
    }

    it('to: one of several recipients matching is enough (envelope and header, deduplicated)', () => {
      const m = tracked({ to: ['x@t', 'a@example.test'] });
      m.summary.to = ['"A" <a@example.test>', 'Other <o@t>'];
      assert.deepEqual(run({ to: 'o@t' }, m), [
        ['to', 'o@t', true, '"x@t", "a@example.test", "o@t"'],
      ]);
      assert.equal(verdict({ to: 'o@t' }, m), true);
      assert.equal(verdict({ to: 'x@t' }, m), true);
    });

    it('from: envelope sender and header From, deduplicated; either matching is enough', () => {
      const m = tracked({ from: 'bounce@mail.test' });
      m.summary.from = 'Shop <shop@example.test>';
      assert.deepEqual(run({ from: 'shop@' }, m), [
        ['from', 'shop@', true, '"bounce@mail.test", "shop@example.test"'],
      ]);
      assert.equal(verdict({ from: 'bounce@' }, m), true);
      assert.equal(verdict({ from: 'shop@' }, m), true);
      assert.equal(verdict({ from: 'nobody@' }, m), false);
      m.summary.envelope.mailFrom = null;
      const n = tracked();
      n.summary.envelope.mailFrom = null;
      n.summary.from = null;
      assert.deepEqual(run({ from: 'x' }, n), [['from', 'x', false, '(none)']]);
    });

    it('describes a message, with placeholders for no sender and no recipient', () => {
      const m = tracked({ id: 'm-d1', from: 's@t', to: ['a@t', 'b@t'], subject: 'Hi  there' });
      assert.equal(describeMessage(m), 'message m-d1 from s@t to a@t, b@t, subject "Hi there"');
      const n = tracked({ id: 'm-d2', to: [], subject: null });
      n.summary.envelope.mailFrom = null;
      n.summary.from = null;
      assert.equal(
        describeMessage(n),
        'message m-d2 from (no sender) to (no recipient), subject (none)',
      );
    });
  });

  describe('subject, text and html', () => {
    it('reports the value, or that the part is missing', () => {
      const m = tracked({ subject: null, text: null, html: null });
      assert.deepEqual(run({ subject: 'x', text: 'x', html: 'x' }, m), [
        ['subject', 'x', false, '(none)'],
        ['text', 'x', false, '(no text part)'],
        ['html', 'x', false, '(no HTML part)'],
      ]);
      assert.equal(verdict({ text: 'x' }, m), false);
      assert.equal(verdict({ html: 'x' }, m), false);
      assert.equal(verdict({ subject: 'x' }, m), false);
      const n = tracked({ subject: 'Your code', text: 'code 123', html: '<b>code</b>' });
      assert.deepEqual(run({ subject: 'code', text: '/\\d{3}/', html: '<b>' }, n), [
        ['subject', 'code', true, '"Your code"'],
        ['text', '/\\d{3}/', true, '"code 123"'],
        ['html', '<b>', true, '"<b>code</b>"'],
      ]);
      assert.equal(verdict({ subject: 'code', text: '/\\d{3}/', html: '<b>' }, n), true);
      assert.equal(verdict({ text: 'nope' }, n), false);
      assert.equal(verdict({ html: 'nope' }, n), false);
    });

    it('renders templates in matchers', () => {
      const m = tracked({ subject: 'run r1 on example.test' });
      assert.deepEqual(run({ subject: 'run {{ run.id }} on {{ env.DOMAIN }}' }, m), [
        ['subject', 'run r1 on example.test', true, '"run r1 on example.test"'],
      ]);
    });
  });

  describe('headers', () => {
    it('matches by name case-insensitively, any value matching; presence only', () => {
      const m = tracked({
        headers: [
          { name: 'X-Tag', value: 'one' },
          { name: 'x-tag', value: 'two' },
          { name: 'X-Other', value: 'three' },
        ],
      });
      assert.deepEqual(
        run(
          {
            headers: [
              { name: 'X-TAG', value: 'two' },
              { name: 'X-Tag', value: null },
              { name: 'X-Missing', value: null },
              { name: 'X-Missing', value: 'a' },
            ],
          },
          m,
        ),
        [
          ['headers.X-TAG', 'two', true, '"one", "two"'],
          ['headers.X-Tag', '(present)', true, '"one", "two"'],
          ['headers.X-Missing', '(present)', false, '(absent)'],
          ['headers.X-Missing', 'a', false, '(absent)'],
        ],
      );
      assert.equal(verdict({ headers: [{ name: 'x-other', value: 'three' }] }, m), true);
      assert.equal(verdict({ headers: [{ name: 'x-other', value: 'one' }] }, m), false);
    });
  });

  describe('links', () => {
    const html = (hrefs: string): MessageInit => ({ html: hrefs, text: null });
    const table: Array<[string, MessageInit, string[]]> = [
      ['double-quoted href', html('<a href="https://a.test/x?y=1">'), ['https://a.test/x?y=1']],
      ['single-quoted href', html("<a href='https://a.test/single'>"), ['https://a.test/single']],
      ['unquoted href', html('<a href=https://a.test/bare>x</a>'), ['https://a.test/bare']],
      ['unquoted, then space', html('<a href=https://a.test/sp title=x>'), ['https://a.test/sp']],
      ['spaces around =', html('<a HREF = "http://a.test/up">'), ['http://a.test/up']],
      ['trimmed', html('<a href="  https://a.test/t  ">'), ['https://a.test/t']],
      [
        'entities decoded',
        html('<a href="https:&#x2F;&#X2f;a.test&#47;p?a=1&amp;b=&quot;2&quot;">'),
        ['https://a.test/p?a=1&b="2"'],
      ],
      ['not http', html('<a href="mailto:a@t"><a href="/rel?u=http://x.test">'), []],
      ['empty href', html('<a href="">'), []],
      [
        'bare URLs in text, trailing punctuation dropped',
        {
          html: null,
          text: 'see https://a.test/one., and http://b.test/two!?\n(https://c.test/3)',
        },
        ['https://a.test/one', 'http://b.test/two', 'https://c.test/3'],
      ],
      [
        'duplicates once',
        { html: null, text: 'https://a.test https://a.test' },
        ['https://a.test'],
      ],
    ];
    for (const [name, init, want] of table) {
      it(`extracts: ${name}`, () => {
        const d = detail(init);
        assert.deepEqual(linksOf(d, null), want);
      });
    }

    it("puts the analysis's links first and adds the bodies'", () => {
      const d = detail({ html: '<a href="https://h.test">', text: 'https://t.test' });
      assert.deepEqual(linksOf(d, analysis({ links: ['https://a.test'] })), [
        'https://a.test',
        'https://h.test',
        'https://t.test',
      ]);
      assert.deepEqual(linksOf(null, null), []);
    });

    it(`extracts at most ${MAX_LINKS_EXTRACTED} links`, () => {
      const n = MAX_LINKS_EXTRACTED + 2;
      const hrefs = Array.from({ length: n }, (_, i) => `<a href="https://h.test/${i}">`).join('');
      const urls = Array.from({ length: n }, (_, i) => `https://t.test/${i}`).join(' ');
      const h = linksOf(detail({ html: hrefs, text: null }), null);
      assert.equal(h.length, MAX_LINKS_EXTRACTED);
      assert.equal(h.at(-1), `https://h.test/${MAX_LINKS_EXTRACTED - 1}`);
      const t = linksOf(detail({ html: null, text: urls }), null);
      assert.equal(t.length, MAX_LINKS_EXTRACTED);
      assert.equal(t.at(-1), `https://t.test/${MAX_LINKS_EXTRACTED - 1}`);
      const full = Array.from({ length: MAX_LINKS_EXTRACTED }, (_, i) => `https://a.test/${i}`);
      assert.equal(
        linksOf(
          detail({ html: '<a href="https://h.test">', text: 'https://t.test' }),
          analysis({ links: full }),
        ).length,
        MAX_LINKS_EXTRACTED,
      );
    });

    it('checks a link, with its status in the expectation, and probes the first matching ones', () => {
      const many = Array.from({ length: 7 }, (_, i) => `https://a.test/c/${i}`);
      const m = tracked({ html: null, text: `https://other.test ${many.join(' ')}` });
      const c = compileCriteria(
        criteria({
          links: [
            { url: '/c\\/\\d/', status: [200, '3xx'] },
            { url: 'other.test', status: null },
          ],
        }),
        vars,
      );
      assert.equal(c.probesLinks, true);
      assert.deepEqual(
        checkMessage(c, m).map((r) => [r.field, r.expected, r.ok, r.actual]),
        [
          [
            'link',
            '/c\\/\\d/ answering 200 or 3xx',
            true,
            '"https://other.test", "https://a.test/c/0", "https://a.test/c/1" and 5 more',
          ],
          [
            'link',
            'other.test',
            true,
            '"https://other.test", "https://a.test/c/0", "https://a.test/c/1" and 5 more',
          ],
        ],
      );
      assert.deepEqual(linkProbes(c, m), [
        {
          field: 'link',
          expected: '/c\\/\\d/ answering 200 or 3xx',
          status: [200, '3xx'],
          urls: many.slice(0, MAX_LINKS_CHECKED_PER_MESSAGE),
        },
      ]);
      const none = tracked({ html: null, text: 'no links here' });
      assert.deepEqual(run({ links: [{ url: 'a.test', status: null }] }, none), [
        ['link', 'a.test', false, '(no links)'],
      ]);
      assert.equal(verdict({ links: [{ url: 'a.test', status: null }] }, none), false);
      assert.equal(verdict({ links: [{ url: 'other.test', status: null }] }, m), true);
      assert.equal(
        compileCriteria(criteria({ links: [{ url: 'x', status: null }] }), vars).probesLinks,
        false,
      );
    });

    it('sees links of a detail fetched or an analysis that arrived after a first check', () => {
      const m = tracked({ html: null, text: 'https://late.test/x' }, false);
      const d = detail({ html: null, text: 'https://late.test/x' });
      const c = compileCriteria(criteria({ links: [{ url: 'late.test', status: null }] }), vars);
      assert.equal(passes(c, m), false);
      m.detail = d;
      assert.equal(passes(c, m), true);
      const c2 = compileCriteria(
        criteria({ links: [{ url: 'analysed.test', status: null }] }),
        vars,
      );
      assert.equal(passes(c2, m), false);
      m.analysis = analysis({ links: ['https://analysed.test'] });
      assert.equal(passes(c2, m), true);
    });
  });

  describe('attachments', () => {
    const m = (): TrackedMessage =>
      tracked({
        attachments: [
          { filename: 'invoice.pdf', contentType: 'application/pdf' },
          { filename: null, contentType: 'image/png' },
        ],
      });
    const actual = '"invoice.pdf (application/pdf)", "(unnamed) (image/png)"';
    const table: Array<[string, string | null, string | null, string, boolean]> = [
      ['both on one attachment', 'invoice', 'pdf', 'filename invoice, type pdf', true],
      ['name of one, type of the other', 'invoice', 'png', 'filename invoice, type png', false],
      ['type only', null, 'image/png', 'type image/png', true],
      ['name only', 'pdf', null, 'filename pdf', true],
      ['name only, none matching', 'png', null, 'filename png', false],
      ['type only, none matching', null, 'text/', 'type text/', false],
      ['any', null, null, '(any)', true],
    ];
    for (const [name, filename, contentType, expected, ok] of table) {
      it(name, () => {
        assert.deepEqual(run({ attachments: [{ filename, contentType }] }, m()), [
          ['attachment', expected, ok, actual],
        ]);
        assert.equal(verdict({ attachments: [{ filename, contentType }] }, m()), ok);
      });
    }
    it('none at all', () => {
      assert.deepEqual(run({ attachments: [{ filename: null, contentType: null }] }, tracked()), [
        ['attachment', '(any)', false, '(no attachments)'],
      ]);
    });
  });

  describe('List-Unsubscribe', () => {
    const noAnalysis: Array<[string, Array<{ name: string; value: string }>, string]> = [
      [
        'absent',
        [{ name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' }],
        'absent',
      ],
      ['present', [{ name: 'list-unsubscribe', value: '<https://u.test>' }], 'present'],
      [
        'present, Post without one-click',
        [
          { name: 'List-Unsubscribe', value: '<https://u.test>' },
          { name: 'List-Unsubscribe-Post', value: 'other' },
        ],
        'present',
      ],
      [
        'one-click (one Post header of two)',
        [
          { name: 'List-Unsubscribe', value: '<https://u.test>' },
          { name: 'List-Unsubscribe-Post', value: 'other' },
          { name: 'list-unsubscribe-post', value: 'list-unsubscribe=one-click' },
        ],
        'one-click',
      ],
    ];
    const wants = ['absent', 'present', 'one-click'] as const;
    for (const [name, headers, actual] of noAnalysis) {
      it(`from the headers: ${name}`, () => {
        const m = tracked({ headers });
        for (const want of wants) {
          const ok =
            want === 'absent'
              ? actual === 'absent'
              : want === 'present'
                ? actual !== 'absent'
                : actual === 'one-click';
          assert.deepEqual(
            run({ listUnsubscribe: want }, m),
            [['listUnsubscribe', want, ok, actual]],
            want,
          );
        }
      });
    }
    it('from the analysis, which wins over the headers', () => {
      const m = tracked({
        headers: [{ name: 'List-Unsubscribe', value: '<https://u.test>' }],
        analysis: analysis({
          listUnsubscribe: { present: true, oneClick: true, urls: [], mailto: [] },
        }),
      });
      assert.deepEqual(run({ listUnsubscribe: 'one-click' }, m), [
        ['listUnsubscribe', 'one-click', true, 'one-click'],
      ]);
      const n = tracked({
        headers: [{ name: 'List-Unsubscribe', value: '<https://u.test>' }],
        analysis: analysis(),
      });
      assert.deepEqual(run({ listUnsubscribe: 'present' }, n), [
        ['listUnsubscribe', 'present', false, 'absent'],
      ]);
    });
  });

  describe('DKIM and spam score', () => {
    it('reports "(not analysed)" without an analysis', () => {
      assert.deepEqual(run({ dkim: 'pass', maxSpamScore: 5 }, tracked()), [
        ['dkim', 'pass', false, '(not analysed)'],
        ['spamScore', '<= 5', false, '(not analysed)'],
      ]);
    });
    it('compares the DKIM result and the score (at the boundary), listing the positive reasons', () => {
      const a: MessageAnalysis = analysis({
        dkim: { result: 'fail', signatures: [] },
        spamScore: 3,
        reasons: [
          { code: 'A', score: 2, message: '' },
          { code: 'Z', score: 0, message: '' },
          { code: 'N', score: -1, message: '' },
          { code: 'B', score: 1, message: '' },
        ],
      });
      const m = tracked({ analysis: a });
      assert.deepEqual(run({ dkim: 'fail', maxSpamScore: 3 }, m), [
        ['dkim', 'fail', true, 'fail'],
        ['spamScore', '<= 3', true, '3 (A +2, B +1)'],
      ]);
      assert.deepEqual(run({ dkim: 'pass', maxSpamScore: 2 }, m), [
        ['dkim', 'pass', false, 'fail'],
        ['spamScore', '<= 2', false, '3 (A +2, B +1)'],
      ]);
      const quiet = tracked({ analysis: analysis({ spamScore: 0, reasons: [] }) });
      assert.deepEqual(run({ maxSpamScore: 0 }, quiet), [['spamScore', '<= 0', true, '0']]);
    });
  });

  describe('levels', () => {
    const table: Array<[string, Partial<MessageCriteria>, CheckLevel]> = [
      ['nothing', {}, 'summary'],
      ['summary fields', { to: 'a', from: 'b', subject: 'c' }, 'summary'],
      ['a body', { subject: 'c', text: 'x' }, 'detail'],
      ['analysis first, then detail', { dkim: 'pass', html: 'x', maxSpamScore: 1 }, 'analysis'],
      ['detail then analysis', { headers: [{ name: 'a', value: null }], dkim: 'pass' }, 'analysis'],
    ];
    for (const [name, spec, level] of table) {
      it(`the deepest level: ${name}`, () => {
        assert.equal(compileCriteria(criteria(spec), vars).level, level);
      });
    }

    it('knows when a message holds enough for a level', () => {
      const m = tracked({}, false);
      const rows: Array<[boolean, string | null, boolean, boolean[]]> = [
        [false, null, false, [true, false, false]],
        [true, null, false, [true, true, false]],
        [false, 'boom', false, [true, true, true]],
        [false, null, true, [true, false, true]],
        [true, null, true, [true, true, true]],
      ];
      const d = detail();
      for (const [hasDetail, err, hasAnalysis, want] of rows) {
        m.detail = hasDetail ? d : null;
        m.detailError = err;
        m.analysis = hasAnalysis ? analysis() : null;
        assert.deepEqual(
          (['summary', 'detail', 'analysis'] as const).map((l) => hasLevel(m, l)),
          want,
          JSON.stringify([hasDetail, err, hasAnalysis]),
        );
      }
    });

    it('runs only the checks up to a level', () => {
      const m = tracked({ subject: 'Hi', text: 'body' });
      const c = compileCriteria(criteria({ subject: 'Hi', text: 'nope', dkim: 'pass' }), vars);
      assert.equal(passes(c, m, 'summary'), true);
      assert.equal(passes(c, m, 'detail'), false);
      assert.deepEqual(
        checkMessage(c, m, 'summary').map((r) => r.field),
        ['subject'],
      );
      assert.deepEqual(
        checkMessage(c, m, 'detail').map((r) => r.field),
        ['subject', 'text'],
      );
      assert.deepEqual(
        checkMessage(c, m).map((r) => r.field),
        ['subject', 'text', 'dkim'],
      );
      const ok = compileCriteria(criteria({ subject: 'Hi', text: 'body' }), vars);
      assert.equal(passes(ok, m, 'detail'), true);
      assert.equal(passes(ok, m), true);
    });

    it('fails the checks past the summary when the message could not be read, unless analysed', () => {
      const m = tracked({ subject: 'Hi', text: 'body' }, false);
      m.detailError = 'HTTP 500';
      const c = compileCriteria(criteria({ subject: 'Hi', text: 'body', maxSpamScore: 5 }), vars);
      assert.deepEqual(
        checkMessage(c, m).map((r) => [r.field, r.ok, r.actual]),
        [
          ['subject', true, '"Hi"'],
          ['text', false, '(could not read the message: HTTP 500)'],
          ['spamScore', false, '(could not read the message: HTTP 500)'],
        ],
      );
      assert.equal(passes(c, m), false);
      assert.equal(passes(c, m, 'summary'), true);
      const onlyScore = compileCriteria(criteria({ subject: 'Hi', maxSpamScore: 5 }), vars);
      assert.equal(passes(onlyScore, m), false);
      m.analysis = analysis({ spamScore: 1 });
      assert.equal(passes(onlyScore, m), true);
      assert.deepEqual(
        checkMessage(onlyScore, m).map((r) => [r.field, r.ok, r.actual]),
        [
          ['subject', true, '"Hi"'],
          ['spamScore', true, '1'],
        ],
      );
      const textOnly = compileCriteria(criteria({ text: 'body' }), vars);
      assert.equal(passes(textOnly, m), false);
      assert.deepEqual(
        checkMessage(textOnly, m).map((r) => r.actual),
        ['(could not read the message: HTTP 500)'],
      );
    });
  });

  describe('messages not (yet) read', () => {
    it('fails every check past the summary of a message that could not be read, even "absent" ones', () => {
      const m = tracked({}, false);
      m.detailError = 'HTTP 500';
      const absent = compileCriteria(criteria({ listUnsubscribe: 'absent' }), vars);
      assert.equal(passes(absent, m), false);
      m.analysis = analysis();
      assert.equal(
        passes(absent, m),
        false,
        'a detail-level check is not answered by the analysis',
      );
    });

    it('reports what a detail-level check sees before the detail is fetched', () => {
      assert.deepEqual(run({ headers: [{ name: 'X-A', value: null }] }, tracked({}, false)), [
        ['headers.X-A', '(present)', false, '(absent)'],
      ]);
    });
  });

  describe('delivery events', () => {
    const rejection = (over: Partial<RejectionData> = {}): RejectionData => ({
      stage: 'rcpt',
      code: 550,
      enhancedCode: '5.1.1',
      text: 'No  such\nuser',
      from: 's@t',
      to: 'r@t',
      clientAddress: '127.0.0.1',
      rule: null,
      ...over,
    });
    const bounce = (diagnostic: string, sender: string | null = 's@t'): DeliveryEvent => ({
      seq: 3,
      type: 'bounced',
      data: {
        messageId: 'm1',
        dsnId: 'd1',
        recipient: 'r@t',
        sender,
        status: '5.2.2',
        diagnostic,
        rule: null,
      },
    });
    const webhook = (status: number | null, error: string | null = null): DeliveryEvent => ({
      seq: 4,
      type: 'webhook',
      data: { url: 'https://app.test/hook', format: 'sendgrid', status, error, messageId: 'm1' },
    });

    it('describes each kind of event', () => {
      const table: Array<[DeliveryEvent, string]> = [
        [
          { seq: 1, type: 'rejected', data: rejection() },
          'rejected at RCPT: s@t -> r@t: 550 5.1.1 "No such user"',
        ],
        [
          {
            seq: 2,
            type: 'deferred',
            data: rejection({ stage: 'data', code: 451, enhancedCode: null, from: null, to: null }),
          },
          'deferred at DATA: (no sender) -> (no recipient): 451 "No such user"',
        ],
        [
          bounce('  550 5.2.2 mailbox full'),
          'bounced after delivery: s@t -> r@t: 550 5.2.2 "550 5.2.2 mailbox full"',
        ],
        [
          bounce('x550 full', null),
          'bounced after delivery: (no sender) -> r@t: 5.2.2 "x550 full"',
        ],
        [bounce('5501 odd'), 'bounced after delivery: s@t -> r@t: 5.2.2 "5501 odd"'],
        [webhook(202), 'webhook sendgrid to https://app.test/hook answered 202'],
        [
          webhook(null, 'ECONNREFUSED'),
          'webhook sendgrid to https://app.test/hook answered nothing (ECONNREFUSED)',
        ],
        [webhook(null), 'webhook sendgrid to https://app.test/hook answered nothing (no response)'],
      ];
      for (const [e, want] of table) assert.equal(describeEvent(e), want);
    });

    it('describes a link probe', () => {
      assert.equal(
        describeProbe('https://a.test', { status: 404, error: null }),
        '"https://a.test" answered 404',
      );
      assert.equal(
        describeProbe('https://a.test', { status: null, error: 'timeout' }),
        '"https://a.test" answered nothing (timeout)',
      );
      assert.equal(
        describeProbe('https://a.test', { status: null, error: null }),
        '"https://a.test" answered nothing (no response)',
      );
    });

    function step(over: Partial<ExpectEventStep>): ExpectEventStep {
      const s: ExpectEventStep = {
        kind: 'expectEvent',
        type: 'rejected',
        to: null,
        from: null,
        code: null,
        url: null,
        format: null,
        status: null,
        count: 1,
        ...over,
      };
      return s;
    }
    const rows = (s: Partial<ExpectEventStep>, e: DeliveryEvent) =>
      compileEventCriteria(step(s), vars)
        .check(e)
        .map((r) => [r.field, r.expected, r.ok, r.actual]);

    it('checks a rejection field by field', () => {
      const e: DeliveryEvent = { seq: 1, type: 'rejected', data: rejection() };
      assert.deepEqual(rows({ to: 'r@', from: 'nobody', code: 550 }, e), [
        ['type', 'rejected', true, 'rejected'],
        ['to', 'r@', true, '"r@t"'],
        ['from', 'nobody', false, '"s@t"'],
        ['code', '550', true, '550 5.1.1'],
      ]);
      assert.deepEqual(rows({ type: 'deferred', to: 'x', from: 's@', code: '5.1.1' }, e), [
        ['type', 'deferred', false, 'rejected'],
        ['to', 'x', false, '"r@t"'],
        ['from', 's@', true, '"s@t"'],
        ['code', '5.1.1', true, '550 5.1.1'],
      ]);
      const bare: DeliveryEvent = {
        seq: 1,
        type: 'rejected',
        data: rejection({ enhancedCode: null, to: null, from: null }),
      };
      assert.deepEqual(rows({ to: 'r', from: 's', code: '5.1.1' }, bare), [
        ['type', 'rejected', true, 'rejected'],
        ['to', 'r', false, '(none)'],
        ['from', 's', false, '(none)'],
        ['code', '5.1.1', false, '550'],
      ]);
      assert.deepEqual(rows({ code: 551 }, e), [
        ['type', 'rejected', true, 'rejected'],
        ['code', '551', false, '550 5.1.1'],
      ]);
    });

    it("checks a bounce's code read from its diagnostic", () => {
      assert.deepEqual(rows({ type: 'bounced', code: 550 }, bounce(' 550 full')), [
        ['type', 'bounced', true, 'bounced'],
        ['code', '550', true, '550 5.2.2'],
      ]);
      assert.deepEqual(rows({ type: 'bounced', code: 550 }, bounce('x 550 full')), [
        ['type', 'bounced', true, 'bounced'],
        ['code', '550', false, '(none) 5.2.2'],
      ]);
      assert.deepEqual(
        rows({ type: 'bounced', code: '5.2.2', to: 'r@t', from: 's@t' }, bounce('550')),
        [
          ['type', 'bounced', true, 'bounced'],
          ['to', 'r@t', true, '"r@t"'],
          ['from', 's@t', true, '"s@t"'],
          ['code', '5.2.2', true, '550 5.2.2'],
        ],
      );
    });

    it('checks a webhook: url, format and status; and a rejection expected as a webhook', () => {
      const spec = {
        type: 'webhook' as const,
        url: 'app.test',
        format: 'sendgrid',
        status: ['2xx'],
      };
      assert.deepEqual(rows(spec, webhook(202)), [
        ['type', 'webhook', true, 'webhook'],
        ['url', 'app.test', true, '"https://app.test/hook"'],
        ['format', 'sendgrid', true, 'sendgrid'],
        ['status', '2xx', true, '202'],
      ]);
      assert.deepEqual(
        rows({ ...spec, url: 'other', format: 'mailgun', status: [500] }, webhook(null, 'reset')),
        [
          ['type', 'webhook', true, 'webhook'],
          ['url', 'other', false, '"https://app.test/hook"'],
          ['format', 'mailgun', false, 'sendgrid'],
          ['status', '500', false, 'reset'],
        ],
      );
      assert.deepEqual(rows(spec, webhook(null)), [
        ['type', 'webhook', true, 'webhook'],
        ['url', 'app.test', true, '"https://app.test/hook"'],
        ['format', 'sendgrid', true, 'sendgrid'],
        ['status', '2xx', false, '(no response)'],
      ]);
      const e: DeliveryEvent = { seq: 1, type: 'rejected', data: rejection() };
      assert.deepEqual(rows(spec, e), [
        ['type', 'webhook', false, 'rejected'],
        ['url', 'app.test', false, '(none)'],
        ['format', 'sendgrid', false, '(none)'],
        ['status', '2xx', false, '(none)'],
      ]);
      // A webhook that arrives where a rejection is expected: only the rejection's fields.
      assert.deepEqual(
        rows({ url: 'app.test', format: 'sendgrid', status: ['2xx'] }, webhook(202)),
        [
          ['type', 'rejected', false, 'webhook'],
          ['url', 'app.test', true, '"https://app.test/hook"'],
          ['format', 'sendgrid', true, 'sendgrid'],
          ['status', '2xx', true, '202'],
        ],
      );
      assert.deepEqual(rows({ url: 'app.test', format: 'sendgrid', status: ['2xx'] }, e), [
        ['type', 'rejected', true, 'rejected'],
      ]);
      assert.deepEqual(rows({ format: null, status: null, url: null }, e), [
        ['type', 'rejected', true, 'rejected'],
      ]);
    });

    it('describes an accepted message as what arrived instead', () => {
      const m = tracked({ from: 's@t', to: ['x@t', 'r@t'] });
      const c = compileEventCriteria(step({ to: 'r@t', from: 'nobody' }), vars);
      assert.deepEqual(
        c.checkMessage(m).map((r) => [r.field, r.expected, r.ok, r.actual]),
        [
          ['type', 'rejected', false, 'accepted'],
          ['to', 'r@t', true, '"x@t", "r@t"'],
          ['from', 'nobody', false, '"s@t"'],
        ],
      );
      const c2 = compileEventCriteria(step({ from: 's@' }), vars);
      assert.deepEqual(
        c2.checkMessage(m).map((r) => [r.field, r.ok, r.actual]),
        [
          ['type', false, 'accepted'],
          ['from', true, '"s@t"'],
        ],
      );
      const two = tracked({ from: 'bounce@mail.test' });
      two.summary.from = 'Shop <shop@example.test>';
      assert.deepEqual(
        compileEventCriteria(step({ from: 'shop@' }), vars)
          .checkMessage(two)
          .map((r) => [r.field, r.ok, r.actual]),
        [
          ['type', false, 'accepted'],
          ['from', true, '"bounce@mail.test", "shop@example.test"'],
        ],
      );
      assert.deepEqual(compileEventCriteria(step({}), vars).checkMessage(m).length, 1);
    });
  });
});
