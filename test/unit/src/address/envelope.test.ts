/**
 * The RFC 5321 envelope grammar, character by character: what may go into `RCPT TO:<…>` as it
 * is, and what a command line may never carry (the last gate before an SMTP dialogue).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { isCommandSafe, isEnvelopeMailbox, isInvisible } from '../../../../src/address/envelope.ts';

const HIGH = '\u{1F600}'; // a surrogate pair
const LONE_HIGH = '\ud83d';
const LONE_LOW = '\ude00';

describe('address/envelope: isEnvelopeMailbox', () => {
  const accepted = [
    'a@b',
    'a.b.c@example.com',
    "!#$%&'*+-/=?^_`{|}~@example.com",
    'AZaz09@EXAMPLE-1.com',
    'user@a-b.c-d.e',
    'user@0.9',
    'ü@example.com',
    '\u00a0x@example.com',
    `${HIGH}@example.com`,
    `a${HIGH}b@example.com`,
    '"a b"@example.com',
    '"a\\"b"@example.com',
    '"a\\\\b"@example.com',
    '"a\\ b"@example.com',
    '"a\\~b"@example.com',
    '""@example.com',
    '"!#[]^~"@example.com',
    '"ü"@example.com',
    `"${HIGH}"@example.com`,
    '"a@b"@example.com',
    'a@[127.0.0.1]',
    'a@[IPv6:::1]',
    'a@[!~]',
    'a@[Z^]',
    // The ends of each range.
    'a@Z.com',
    'a@[x]',
    '\ud800\udc00@example.com',
    '\udbff\udfff@example.com',
  ];
  for (const mailbox of accepted) {
    it(`accepts ${JSON.stringify(mailbox)}`, () => {
      assert.equal(isEnvelopeMailbox(mailbox), true);
    });
  }

  const refused: readonly (readonly [string, string])[] = [
    ['', 'empty'],
    ['@example.com', 'no local part'],
    ['a@', 'no domain'],
    ['ab', 'no @'],
    ['.a@b', 'leading dot'],
    ['a.@b', 'trailing dot'],
    ['a..b@c', 'two dots'],
    ['.@b', 'only a dot'],
    ['a b@c', 'space in a dot-string'],
    ['a"b@c', 'quote inside a dot-string'],
    ['a(b@c', 'parenthesis'],
    ['a,b@c', 'comma'],
    ['a:b@c', 'colon'],
    ['a;b@c', 'semicolon'],
    ['a<b@c', 'angle bracket'],
    ['a>b@c', 'angle bracket'],
    ['a[b@c', 'bracket'],
    ['a\\b@c', 'backslash'],
    ['a\x7fb@c', 'DEL'],
    ['a\rb@c', 'CR'],
    ['a\nb@c', 'LF'],
    ['a\x00b@c', 'NUL'],
    ['a\x85b@c', 'C1 control'],
    ['a\x9fb@c', 'C1 control (last)'],
    ['a\ufffdb@c', 'U+FFFD'],
    [`a${LONE_HIGH}b@c`, 'lone high surrogate'],
    [`a${LONE_HIGH}@c`, 'lone high surrogate at the end of the local part'],
    [`a${LONE_LOW}b@c`, 'lone low surrogate'],
    [`${LONE_LOW}${LONE_HIGH}@c`, 'surrogates in the wrong order'],
    ['"a@c', 'unterminated quote'],
    ['"@c', 'a lone quote'],
    ['"a"b"@c', 'quote inside a quoted string'],
    ['"a\\"@c', 'escape eats the closing quote'],
    ['"a\rb"@c', 'CR in a quoted string'],
    ['"a\x1fb"@c', 'unit separator in a quoted string'],
    ['"a\x7fb"@c', 'DEL in a quoted string'],
    ['"a\\\rb"@c', 'escaped CR'],
    ['"a\\\x7fb"@c', 'escaped DEL'],
    ['"a\\\u00e9b"@c', 'escaped non-ASCII'],
    ['"a\x85b"@c', 'C1 control in a quoted string'],
    ['"a\ufffdb"@c', 'U+FFFD in a quoted string'],
    [`"a${LONE_LOW}"@c`, 'lone surrogate in a quoted string'],
    ['a@b..c', 'empty label'],
    ['a@.b', 'leading dot in the domain'],
    ['a@b.', 'trailing dot in the domain'],
    ['a@-b.c', 'label starting with a hyphen'],
    ['a@b-.c', 'label ending with a hyphen'],
    ['a@b.c-', 'last label ending with a hyphen'],
    ['a@b_c', 'underscore in the domain'],
    ['a@b c', 'space in the domain'],
    ['a@b\r\nRCPT TO:<x@y>', 'a command smuggled after the domain'],
    ['a@ü.com', 'U-label (only A-labels are sent)'],
    ['a@/', 'slash in the domain'],
    ['a@:', 'colon in the domain'],
    ['a@@', 'at sign in the domain'],
    ['a@[', 'literal too short'],
    ['a@[]', 'empty literal'],
    ['a@[1.2.3.4', 'unterminated literal'],
    ['a@[a[b]', 'bracket inside a literal'],
    ['a@[a\\b]', 'backslash inside a literal'],
    ['a@[a]b]', 'closing bracket inside a literal'],
    ['a@[a b]', 'space inside a literal'],
    ['a@[a\x7fb]', 'DEL inside a literal'],
    ['a@[é]', 'non-ASCII inside a literal'],
    // The ends of the surrogate ranges, and what follows a non-ASCII character.
    ['a\ud800\ue000b@c', 'a high surrogate followed by a character past the low range'],
    ['a\udc00b@c', 'lone low surrogate (first)'],
    ['a\udfffb@c', 'lone low surrogate (last)'],
    ['é,b@c', 'comma right after a non-ASCII character'],
    ['"é\x01"@c', 'control right after a non-ASCII character in a quoted string'],
    ['"a\x80b"@c', 'first C1 control in a quoted string'],
  ];
  for (const [mailbox, why] of refused) {
    it(`refuses ${JSON.stringify(mailbox)} (${why})`, () => {
      assert.equal(isEnvelopeMailbox(mailbox), false);
    });
  }

  it('takes the last @ as the separator (a quoted local part may hold one)', () => {
    assert.equal(isEnvelopeMailbox('"a@b"@c'), true);
    assert.equal(isEnvelopeMailbox('a@b@c'), false);
  });
});

describe('address/envelope: isCommandSafe', () => {
  it('passes printable ASCII, non-ASCII letters and surrogate pairs', () => {
    assert.equal(isCommandSafe('RCPT TO:<a@b> SIZE=10 ~'), true);
    assert.equal(isCommandSafe(''), true);
    assert.equal(isCommandSafe('MAIL FROM:<ü@b> SMTPUTF8'), true);
    assert.equal(isCommandSafe(`RCPT TO:<${HIGH}@b>`), true);
    assert.equal(isCommandSafe('\u00a0'), true);
  });

  for (const [ch, why] of [
    ['\r', 'CR'],
    ['\n', 'LF'],
    ['\x00', 'NUL'],
    ['\x1f', 'unit separator'],
    ['\t', 'tab'],
    ['\x7f', 'DEL'],
    ['\x80', 'first C1 control'],
    ['\x9f', 'last C1 control'],
    ['\ufffd', 'U+FFFD'],
    [LONE_HIGH, 'lone high surrogate'],
    [LONE_LOW, 'lone low surrogate'],
  ] as const) {
    it(`refuses a line holding ${why}, wherever it is`, () => {
      assert.equal(isCommandSafe(`RCPT TO:<a@b>${ch}`), false);
      assert.equal(isCommandSafe(`${ch}RCPT TO:<a@b>`), false);
      assert.equal(isCommandSafe(`RCPT${ch} TO:<a@b>`), false);
    });
  }

  it('checks what follows a surrogate pair too', () => {
    assert.equal(isCommandSafe(`${HIGH}\r`), false);
    assert.equal(isCommandSafe(`${HIGH}${HIGH}x`), true);
    assert.equal(isCommandSafe(`é\n`), false);
  });
});

describe('address/envelope: isInvisible', () => {
  const invisible = [
    0x00a0, 0x00ad, 0x034f, 0x061c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x200b, 0x200d, 0x200f,
    0x202a, 0x202c, 0x202e, 0x2060, 0x2062, 0x2064, 0x2066, 0x206a, 0x206f, 0x3164, 0xfeff, 0xffa0,
    0xfff0, 0xfff4, 0xfff8,
  ];
  const visible = [
    0x0041, 0x00a1, 0x00ac, 0x00ae, 0x034e, 0x0350, 0x061b, 0x061d, 0x115e, 0x1161, 0x17b3, 0x17b6,
    0x180d, 0x180f, 0x200a, 0x2010, 0x2029, 0x202f, 0x205f, 0x2065, 0x2070, 0x3163, 0x3165, 0xfefe,
    0xff00, 0xff9f, 0xffa1, 0xffef, 0xfff9,
  ];
  it('flags each zero-width, invisible or bidi control character, bounds included', () => {
    for (const c of invisible) assert.equal(isInvisible(c), true, c.toString(16));
  });
  it('lets the characters just outside each range through', () => {
    for (const c of visible) assert.equal(isInvisible(c), false, c.toString(16));
  });
});
