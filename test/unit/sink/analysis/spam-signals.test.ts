/**
 * spamSignals on its own, one signal at a time from a clean message: the exact reasons (code,
 * message, points) and the score, with the thresholds of each heuristic on both sides.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  FUTURE_DATE_TOLERANCE_MS,
  MAX_PHRASE_POINTS,
  MAX_SIGNAL_SCAN_CHARS,
  REASON_POINTS,
  spamSignals,
  type SignalInput,
} from '../../../../sink/analysis/spam-signals.ts';

const NOW = new Date('2026-11-28T02:00:00Z');
const clean = (): SignalInput => ({
  required: { from: true, date: true, messageId: true },
  subject: 'Your order',
  date: 'Sat, 28 Nov 2026 01:00:00 +0000',
  text: 'Hello, your order has shipped.',
  html: null,
  hasText: true,
  hasHtml: false,
  links: [],
  mismatchedLinks: [],
  listUnsubscribe: {
    present: false,
    oneClick: false,
    urls: [],
    mailto: [],
    postHeader: false,
    postValid: false,
    hasHttps: false,
  },
  bulk: false,
  dkim: 'pass',
  oneClickDkimCovered: false,
  dkimBodyLength: false,
  parseError: false,
  truncated: false,
  now: NOW,
});

const signals = (change: Partial<SignalInput>) => spamSignals({ ...clean(), ...change });
const only = (change: Partial<SignalInput>) => signals(change).reasons.map((r) => r.message);
const codes = (change: Partial<SignalInput>) => signals(change).reasons.map((r) => r.code);

describe('sink/analysis/spam-signals', () => {
  it('a clean message has no reason and a score of 0', () => {
    assert.deepEqual(spamSignals(clean()), { score: 0, reasons: [] });
  });

  it('says what each missing or bad header is', () => {
    assert.deepEqual(
      signals({ required: { from: false, date: false, messageId: false } }).reasons,
      [
        { code: 'missing-from', score: 3, message: 'no From header (RFC 5322 requires it)' },
        { code: 'missing-date', score: 1, message: 'no Date header (RFC 5322 requires it)' },
        { code: 'missing-message-id', score: 1, message: 'no Message-ID header' },
      ],
    );
    assert.deepEqual(only({ date: 'yesterday-ish' }), ['the Date header is not a valid date']);
    assert.deepEqual(only({ date: null }), []);
    assert.deepEqual(only({ parseError: true }), ['the MIME structure could not be parsed']);
  });

  it('a Date more than a day ahead is in the future; exactly a day is not', () => {
    const at = (ms: number) => new Date(NOW.getTime() + ms).toUTCString();
    assert.deepEqual(only({ date: at(FUTURE_DATE_TOLERANCE_MS) }), []);
    assert.deepEqual(only({ date: at(FUTURE_DATE_TOLERANCE_MS + 1000) }), [
      'the Date header is more than a day in the future',
    ]);
  });

  it('subject: missing or blank, and capitals from 8 letters', () => {
    assert.deepEqual(only({ subject: null }), ['no Subject or an empty one']);
    assert.deepEqual(only({ subject: '  \t' }), ['no Subject or an empty one']);
    assert.deepEqual(only({ subject: 'ABCDEFGH' }), ['the Subject is written in capitals']);
    assert.deepEqual(only({ subject: ' ABCD 1234 EFGH ' }), ['the Subject is written in capitals']);
    assert.deepEqual(only({ subject: 'ABCDEFG 1234' }), []); // 7 letters
    assert.deepEqual(only({ subject: 'ABCDEFGh' }), []);
    assert.deepEqual(only({ subject: '12345678 ?' }), []); // no letters at all
    assert.deepEqual(only({ subject: 'ÉCOLE ÉTÉ' }), ['the Subject is written in capitals']);
  });

  it('bodies: empty, HTML only, blank text does not count', () => {
    assert.deepEqual(only({ text: null, hasText: false }), ['neither a text nor an HTML body']);
    assert.deepEqual(only({ text: '  \n ', hasText: true }), ['neither a text nor an HTML body']);
    assert.deepEqual(only({ text: null, hasText: false, html: '<p>Hi</p>', hasHtml: true }), [
      'HTML without a plain-text alternative',
    ]);
    assert.deepEqual(only({ text: null, hasText: false, html: ' ', hasHtml: true }), [
      'neither a text nor an HTML body',
    ]);
    assert.deepEqual(only({ html: '<p>Hi</p>', hasHtml: true }), []);
    // A part the caller says is absent does not count, whatever the string.
    assert.deepEqual(only({ text: 'Hi', hasText: false }), ['neither a text nor an HTML body']);
  });

  it('exclamation marks: two in the subject, three in a row, or five in all', () => {
    const many = ['many exclamation marks in the Subject or body'];
    assert.deepEqual(only({ subject: 'Hi!' }), []);
    assert.deepEqual(only({ subject: 'Hi! You!' }), many);
    assert.deepEqual(only({ subject: 'Hi!', text: 'a!! b!! c!!' }), []); // 1 + 3 runs = 4
    assert.deepEqual(only({ subject: 'Hi!', text: 'a!! b!! c!! d!!' }), many); // 1 + 4 = 5
    assert.deepEqual(only({ text: 'a!! b!! c!! d!! e!!' }), many);
    assert.deepEqual(only({ text: 'a! b! c! d! e! f!' }), []); // single marks in the body do not count
  });

  it('suspicious phrases: each counted once, case-insensitive, points capped', () => {
    const one = signals({ text: 'Please CLICK HERE today.' }).reasons;
    assert.deepEqual(one, [
      {
        code: 'suspicious-phrases',
        score: REASON_POINTS['suspicious-phrases'],
        message: 'phrases often used in spam: click here',
      },
    ]);
    const two = signals({ subject: 'Act now', text: 'act now and click here' }).reasons;
    assert.deepEqual(
      two.map((r) => [r.score, r.message]),
      [
        [
          2 * REASON_POINTS['suspicious-phrases'],
          'phrases often used in spam: act now, click here',
        ],
      ],
    );
    const six = signals({
      text: 'act now, limited time, click here, buy now, order now, winner',
    }).reasons;
    assert.deepEqual(
      six.map((r) => [r.score, r.message]),
      [
        [
          MAX_PHRASE_POINTS,
          'phrases often used in spam: act now, limited time, click here, buy now, order now',
        ],
      ],
    );
    assert.deepEqual(only({ text: 'clicker heresy, winners' }), []);
    // HTML is read when there is no text.
    assert.deepEqual(codes({ text: null, html: 'winner', hasHtml: true }), [
      'html-only',
      'suspicious-phrases',
    ]);
  });

  it('reads only the first MAX_SIGNAL_SCAN_CHARS of a body', () => {
    const pad = 'x'.repeat(MAX_SIGNAL_SCAN_CHARS);
    assert.deepEqual(codes({ text: `${pad} winner` }), []);
    assert.deepEqual(codes({ text: `winner ${pad}` }), ['suspicious-phrases']);
  });

  it('links: shorteners (with or without www.), bare IPv4 and IPv6 hosts, mismatched text', () => {
    assert.deepEqual(only({ links: ['https://example.com/a', 'https://www.bit.ly/x'] }), [
      'links through a URL shortener hide their target (https://www.bit.ly/x)',
    ]);
    assert.deepEqual(only({ links: ['https://notbit.ly/x', 'https://bit.ly.example/x'] }), []);
    assert.deepEqual(only({ links: ['http://192.0.2.1/x'] }), [
      'links to a bare IP address (http://192.0.2.1/x)',
    ]);
    assert.deepEqual(only({ links: ['http://[2001:db8::1]/x'] }), [
      'links to a bare IP address (http://[2001:db8::1]/x)',
    ]);
    assert.deepEqual(only({ links: ['http://192.0.2.1.example/x', 'http://1.2.3/x'] }), []);
    assert.deepEqual(
      only({ mismatchedLinks: [{ href: 'https://evil.example/x', text: 'bank.example' }] }),
      ['a link shows "bank.example" but goes to evil.example'],
    );
    assert.deepEqual(only({ mismatchedLinks: [{ href: 'mailto:x@y', text: 'bank.example' }] }), [
      'a link shows "bank.example" but goes to mailto:x@y',
    ]);
  });

  it('list headers: bulk without List-Unsubscribe, and each one-click problem', () => {
    const lu = clean().listUnsubscribe;
    assert.deepEqual(only({ bulk: true }), [
      'looks like bulk mail but has no List-Unsubscribe header (RFC 2369, RFC 8058)',
    ]);
    assert.deepEqual(only({ bulk: true, listUnsubscribe: { ...lu, present: true } }), []);
    assert.deepEqual(only({ listUnsubscribe: { ...lu, postHeader: true } }), [
      'List-Unsubscribe-Post must be exactly "List-Unsubscribe=One-Click" (RFC 8058)',
    ]);
    assert.deepEqual(only({ listUnsubscribe: { ...lu, postHeader: true, postValid: true } }), [
      'List-Unsubscribe-Post without a List-Unsubscribe header (RFC 8058)',
    ]);
    assert.deepEqual(
      only({ listUnsubscribe: { ...lu, postHeader: true, postValid: true, present: true } }),
      ['one-click unsubscribe needs an https URI in List-Unsubscribe (RFC 8058)'],
    );
    const oneClick = {
      ...lu,
      postHeader: true,
      postValid: true,
      present: true,
      hasHttps: true,
      oneClick: true,
    };
    assert.deepEqual(only({ listUnsubscribe: oneClick }), [
      'List-Unsubscribe and List-Unsubscribe-Post are not both covered by a passing DKIM signature (RFC 8058 section 4)',
    ]);
    assert.deepEqual(only({ listUnsubscribe: oneClick, oneClickDkimCovered: true }), []);
    // Without the Post header there is no one-click claim to check.
    assert.deepEqual(only({ listUnsubscribe: { ...oneClick, postHeader: false } }), []);
  });

  it('DKIM and analysis bounds', () => {
    assert.deepEqual(only({ dkim: 'fail' }), ['a DKIM signature failed verification']);
    assert.deepEqual(only({ dkim: 'none' }), ['the message is not DKIM-signed']);
    assert.deepEqual(only({ dkim: 'permerror' }), []);
    assert.deepEqual(only({ dkimBodyLength: true }), [
      'a DKIM signature uses l=: content past that length is unsigned',
    ]);
    assert.deepEqual(only({ truncated: true }), [
      'the message exceeded an analysis bound; part of it was not examined',
    ]);
  });

  it('the score is the sum of the points, rounded to a tenth', () => {
    const r = signals({ dkim: 'none', subject: null, bulk: true });
    assert.equal(r.score, 0.5 + 0.5 + 1.5);
    assert.equal(signals({ required: { from: false, date: true, messageId: true } }).score, 3);
  });
});

describe('sink/analysis/spam-signals: more edges', () => {
  it('a subject in a script without capitals is not shouting', () => {
    assert.deepEqual(only({ subject: '日本語のテキストです' }), []);
  });

  it(`an HTML body blank in its first ${MAX_SIGNAL_SCAN_CHARS} characters, or absent, is no HTML`, () => {
    const late = `${' '.repeat(MAX_SIGNAL_SCAN_CHARS)}<p>Hi</p>`;
    assert.deepEqual(codes({ text: null, hasText: false, html: late, hasHtml: true }), [
      'empty-body',
    ]);
    assert.deepEqual(codes({ text: null, hasText: false, html: null, hasHtml: true }), [
      'empty-body',
    ]);
  });

  it('a shortener or an IP address must be the whole host', () => {
    assert.deepEqual(codes({ links: ['https://bit.www.ly/x', 'https://x1.2.3.4/'] }), []);
  });
});
