import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DIAGNOSES,
  diagnose,
  diagnoseSlow,
  isDotAtom,
  isIPv4,
  utf8Length,
  type Diagnosis,
  type SyntaxResult,
} from '../../../../src/address/syntax.ts';

interface Case {
  group: string;
  address: string;
  diagnosis: Diagnosis;
  category: string;
}
const corpus = JSON.parse(
  readFileSync(new URL('../../../fixtures/addresses/syntax-corpus.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

describe('address/syntax: corpus (is_email categories)', () => {
  for (const c of corpus.cases) {
    it(`${c.group} ${JSON.stringify(c.address).slice(0, 70)} -> ${c.diagnosis}`, () => {
      const r = diagnose(c.address);
      assert.equal(r.diagnosis, c.diagnosis);
      assert.equal(r.category, DIAGNOSES[c.diagnosis]);
    });
  }

  it('covers every diagnosis code and every is_email group we handle', () => {
    const seen = new Set(corpus.cases.map((c) => c.diagnosis));
    // err_not_envelope_safe is the last gate behind the scanner: no input reaches it unless the scanner has a bug.
    const missing = Object.keys(DIAGNOSES).filter(
      (d) => !seen.has(d as Diagnosis) && d !== 'err_not_envelope_safe',
    );
    assert.deepEqual(missing, []);
    assert.deepEqual([...new Set(corpus.cases.map((c) => c.group))].sort(), [
      'CFWS',
      'DEPREC',
      'ERR',
      'RFC5321',
      'RFC5322',
      'VALID',
    ]);
  });

  it('the fast path agrees with the full scanner on every case', () => {
    for (const c of corpus.cases)
      assert.deepEqual(diagnose(c.address), diagnoseSlow(c.address), c.address);
  });
});

describe('address/syntax: normalisation and flags', () => {
  it('lower-cases the domain, keeps the local part case', () => {
    const r = diagnose('John.Smith@Example.COM');
    assert.equal(r.local, 'John.Smith');
    assert.equal(r.domain, 'example.com');
  });

  it('unquotes a quoted local part that is a plain dot-atom (same mailbox)', () => {
    assert.equal(diagnose('"john"@example.com').local, 'john');
    assert.equal(
      diagnose('"john"@example.com').diagnosis,
      'rfc5321_quoted_string',
      'unusual as written, though the mailbox is john@',
    );
    assert.equal(diagnose('"john smith"@example.com').local, '"john smith"');
    assert.equal(diagnose('"a\\"b"@example.com').local, '"a\\"b"');
  });

  it('strips comments and folding white space from the envelope form', () => {
    const r = diagnose('(hi) john@example.com (there)');
    assert.equal(r.local, 'john');
    assert.equal(r.domain, 'example.com');
  });

  it('converts IDN domains with strict IDNA and flags them', () => {
    const r = diagnose('a@Bücher.DE');
    assert.equal(r.domain, 'xn--bcher-kva.de');
    assert.equal(r.idn, true);
    assert.equal(r.domainInput, 'Bücher.DE');
  });

  it('rejects what lenient IDNA (url.domainToASCII) accepts', () => {
    for (const d of [
      'ex_ample.com',
      '-iana.org',
      'a..b.com',
      'x'.repeat(64) + '.com',
      'xn--zz.com',
      'a.b-',
    ]) {
      assert.equal(diagnose(`u@${d}`).category, 'invalid', d);
    }
  });

  it('flags UTF-8 local parts as needing SMTPUTF8', () => {
    const r = diagnose('josé@example.com');
    assert.equal(r.smtputf8, true);
    assert.equal(r.category, 'valid');
    assert.equal(diagnose('jose@example.com').smtputf8, false);
  });

  it('counts octets, not characters, for the 64-octet local part limit', () => {
    assert.equal(diagnose(`${'é'.repeat(32)}@example.com`).category, 'valid');
    assert.equal(diagnose(`${'é'.repeat(33)}@example.com`).diagnosis, 'rfc5322_local_too_long');
    assert.equal(utf8Length('é€😀'), 2 + 3 + 4);
  });

  it('keeps address literals as the domain', () => {
    const r = diagnose('a@[192.0.2.1]');
    assert.equal(r.literal, true);
    assert.equal(r.domain, '[192.0.2.1]');
  });

  it('parses dotted-quad IPv4 strictly', () => {
    assert.equal(isIPv4('1.2.3.4'), true);
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.1.1.1', '1..2.3', ''])
      assert.equal(isIPv4(bad), false, bad);
  });

  it('stays linear on hostile input (no backtracking)', () => {
    const hostile = [
      '('.repeat(1000),
      '"'.repeat(1000),
      `${'a.'.repeat(500)}@`,
      `a@${'['.repeat(1000)}`,
      '\\'.repeat(1000),
    ];
    for (const h of hostile) assert.equal(diagnose(h).category, 'invalid');
  });
});

describe('address/syntax: address literals', () => {
  it('isIPv4: four decimal parts of 0-255, no leading zero, nothing else', () => {
    for (const ok of ['1.2.3.4', '0.0.0.0', '255.255.255.255', '10.0.10.100'])
      assert.equal(isIPv4(ok), true, ok);
    for (const bad of [
      '256.1.1.1',
      '1.2.3.256',
      '01.2.3.4',
      '1.2.3.00',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.',
      '.1.2.3',
      '1..2.3',
      '1.2.3.4 ',
      '1.2.3.1000',
      '1.2.3.0255',
      '',
      '1.2.3.a',
      '1.2.3.25a',
      '1.2.3/4',
    ])
      assert.equal(isIPv4(bad), false, bad);
  });

  const literals: readonly (readonly [string, Diagnosis])[] = [
    ['1.2.3.4', 'rfc5321_address_literal'],
    ['IPv6:::1', 'rfc5321_address_literal'],
    ['ipv6:1:2:3:4:5:6:7:8', 'rfc5321_address_literal'],
    ['IPV6:1::1', 'rfc5321_address_literal'],
    ['IPv6:aBcD::EfF0', 'rfc5321_address_literal'],
    ['IPv6:0:0:0:0:0:0:0:0', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:8888', 'rfc5321_address_literal'],
    ['IPv6:::', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6::', 'rfc5321_address_literal'], // :: stands for the last two groups
    ['IPv6:1:2:3:4:5:6:1.2.3.4', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4::1.2.3.4', 'rfc5321_address_literal'],
    ['IPv6:::1.2.3.4', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7', 'rfc5322_ipv6_group_count'],
    ['IPv6:1:2:3:4:5:6:7:8:9', 'rfc5322_ipv6_group_count'],
    ['IPv6:1:2:3:4:5:1.2.3.4', 'rfc5322_ipv6_group_count'],
    ['IPv6:1:2:3:4:5:6:7:1.2.3.4', 'rfc5322_ipv6_group_count'],
    ['IPv6:1', 'rfc5322_ipv6_group_count'],
    ['IPv6:', 'rfc5322_ipv6_group_count'],
    ['IPv6:1::2::3', 'rfc5322_ipv6_2x2x_colon'],
    ['IPv6:12345::1', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7:88888', 'rfc5322_ipv6_bad_char'],
    ['IPv6:g::1', 'rfc5322_ipv6_bad_char'],
    // The characters just outside 0-9, a-f and A-F.
    ['IPv6:1:2:3:4:5:6:7:/', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7::', 'rfc5322_ipv6_max_groups'],
    ['IPv6:1:2:3:4:5:6:7:@', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7:`', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7:G', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7:g', 'rfc5322_ipv6_bad_char'],
    ['IPv6:1:2:3:4:5:6:7:0', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:9', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:a', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:f', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:A', 'rfc5321_address_literal'],
    ['IPv6:1:2:3:4:5:6:7:F', 'rfc5321_address_literal'],
    ['IPv6::1:2:3:4:5:6:7', 'rfc5322_ipv6_colon_start'],
    ['IPv6::1::', 'rfc5322_ipv6_colon_start'],
    ['IPv6::', 'rfc5322_ipv6_colon_start'],
    ['IPv6:1:2:3:4:5:6:7:', 'rfc5322_ipv6_colon_end'],
    ['IPv6:1:2:3:4:5::1.2.3.4', 'rfc5322_ipv6_max_groups'],
    ['IPv6', 'rfc5322_domain_literal'],
    ['IPv6x1::1', 'rfc5322_domain_literal'],
    ['abc', 'rfc5322_domain_literal'],
    ['!', 'rfc5322_domain_literal'],
    // Inside the brackets: quoted pairs, whitespace and controls are obsolete dtext, non-ASCII
    // and `[` are not dtext at all.
    ['1.2\\.3.4', 'rfc5322_domlit_obsdtext'],
    ['a\\b', 'rfc5322_domlit_obsdtext'],
    ['1.2 .3.4', 'rfc5322_domlit_obsdtext'],
    ['1.2\t3', 'rfc5322_domlit_obsdtext'],
    ['\x01', 'rfc5322_domlit_obsdtext'],
    ['\x1f', 'rfc5322_domlit_obsdtext'],
    ['1.2\x7f.3', 'rfc5322_domlit_obsdtext'],
    ['1.2\x80.3', 'err_expecting_dtext'],
    ['1.2é.3', 'err_expecting_dtext'],
    ['1.2[.3', 'err_expecting_dtext'],
  ];
  for (const [literal, diagnosis] of literals) {
    it(`a@[${JSON.stringify(literal).slice(1, -1)}] -> ${diagnosis}`, () => {
      const r = diagnose(`a@[${literal}]`);
      assert.equal(r.diagnosis, diagnosis);
      assert.equal(r.category, DIAGNOSES[diagnosis]);
      assert.equal(r.literal, r.category !== 'invalid');
      assert.equal(r.domain, r.category === 'invalid' ? '' : `[${literal}]`);
    });
  }

  it('an unclosed literal, a backslash at its end, and text after it', () => {
    assert.equal(diagnose('a@[1.2.3.4').diagnosis, 'err_unclosed_domain_literal');
    assert.equal(diagnose('a@[1.2.3.4\\]').diagnosis, 'err_unclosed_domain_literal');
    assert.equal(diagnose('a@[1.2.3.4\\').diagnosis, 'err_backslash_end');
    assert.equal(diagnose('a@[IPv6:1::1]x').diagnosis, 'err_atext_after_domlit');
  });
});

describe('address/syntax: the fast path and its bounds', () => {
  it('lower-cases a domain whose only capital is A or Z (the ends of the range)', () => {
    assert.equal(diagnose('x@Abc.com').domain, 'abc.com');
    assert.equal(diagnose('x@abZ.com').domain, 'abz.com');
    assert.equal(diagnose('x@Abc.com').domainInput, 'Abc.com');
    // Capitals in the local part are kept and do not make the domain change.
    assert.deepEqual(diagnose('AB@c.com'), {
      category: 'valid',
      diagnosis: 'valid',
      local: 'AB',
      domain: 'c.com',
      domainInput: 'c.com',
      smtputf8: false,
      idn: false,
      literal: false,
    });
  });

  it('refuses input over MAX_INPUT_CHARS before scanning it, and only over it', () => {
    assert.equal(diagnose('a'.repeat(1025)).diagnosis, 'err_too_long_input');
    assert.equal(diagnose('a'.repeat(1024)).diagnosis, 'err_no_at');
  });

  it('an early refusal carries empty parts', () => {
    assert.deepEqual(diagnose(''), {
      category: 'invalid',
      diagnosis: 'err_empty',
      local: '',
      domain: '',
      domainInput: '',
      smtputf8: false,
      idn: false,
      literal: false,
    });
  });

  it('utf8Length counts 1, 2, 3 and 4 bytes at each boundary', () => {
    const cases: readonly (readonly [string, number])[] = [
      ['\x7f', 1],
      ['\x80', 2],
      ['\u07ff', 2],
      ['\u0800', 3],
      ['\ud7ff', 3],
      ['\ud800\udc00', 4],
      ['\udbff\udfff', 4],
      ['\udc00', 3], // a lone low surrogate is one unit (3 bytes once replaced)
      ['\ue000', 3],
      ['\uffff', 3],
      ['a\u{1F600}b', 6],
    ];
    for (const [s, bytes] of cases) assert.equal(utf8Length(s), bytes, JSON.stringify(s));
  });
});

describe('address/syntax: controls and surrogates in each part', () => {
  // [character, in a dot-atom local part, in a quoted local part, in the domain]
  const cases: readonly (readonly [string, Diagnosis, Diagnosis, Diagnosis])[] = [
    ['\x1f', 'err_control_char', 'err_control_char', 'err_expecting_atext'],
    ['\x7f', 'err_control_char', 'err_control_char', 'err_expecting_atext'],
    ['\x80', 'err_control_char', 'err_control_char', 'err_control_char'],
    ['\x9f', 'err_control_char', 'err_control_char', 'err_control_char'],
    ['\xa0', 'unusual_invisible_char', 'unusual_invisible_char', 'err_idna'],
    ['\ufffd', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\ud7ff', 'valid', 'rfc5321_quoted_string', 'err_idna'],
    ['\ue000', 'valid', 'rfc5321_quoted_string', 'err_idna'],
    ['\ud800\udc00', 'valid', 'rfc5321_quoted_string', 'valid'],
    ['\udbff\udfff', 'valid', 'rfc5321_quoted_string', 'err_idna'],
    ['\ud800', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\udbff', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\udc00', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\udfff', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\ud800\ue000', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\ud800\udbff', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\udc00\ud800', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
    ['\ud800x', 'err_invalid_utf8', 'err_invalid_utf8', 'err_invalid_utf8'],
  ];
  for (const [x, local, quoted, domain] of cases) {
    const name = [...x].map((c) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(' ');
    it(`${name}: ${local} in a local part, ${quoted} quoted, ${domain} in the domain`, () => {
      assert.equal(diagnose(`a${x}b@example.com`).diagnosis, local);
      assert.equal(diagnose(`"a${x}b"@example.com`).diagnosis, quoted);
      assert.equal(diagnose(`ab@ex${x}ample.com`).diagnosis, domain);
    });
  }
});

describe('address/syntax: the full scanner, case by case', () => {
  const q40 = `"${'\\a'.repeat(40)}"`; // 82 octets as written, 40 unquoted
  const dom253 = `${`${'b'.repeat(63)}.`.repeat(3)}${'c'.repeat(61)}`;
  const badAce253 = `xn--a.${`${'b'.repeat(63)}.`.repeat(3)}${'c'.repeat(55)}`;
  // [address, diagnosis, the parts of the result that matter]
  const cases: ReadonlyArray<readonly [string, Diagnosis, Partial<SyntaxResult>?]> = [
    // Folding white space before the local part: a tab, CRLF then a tab or a space; a comment
    // anywhere in the run makes it a comment.
    ['\ta@example.com', 'cfws_fws', { local: 'a' }],
    ['\r\n\ta@example.com', 'cfws_fws'],
    ['\r\n a@example.com', 'cfws_fws'],
    ['(c) a@example.com', 'cfws_comment'],
    ['(c)\r\n a@example.com', 'cfws_comment'],
    // A low surrogate is paired only right after a high one.
    ['a\ud800\udc00\udc00b@example.com', 'err_invalid_utf8'],
    ['a\ud800\ud800\udc00b@example.com', 'err_invalid_utf8'],
    // Comments: quoted pairs (a quoted tab is allowed, a quoted control is not), folding, a tab.
    ['(a\\', 'err_backslash_end'],
    ['(\\\t)a@example.com', 'cfws_comment', { local: 'a', domain: 'example.com' }],
    ['(\\\x01)a@example.com', 'err_control_char'],
    ['(a\tb)a@example.com', 'cfws_comment'],
    ['(a\rb)a@example.com', 'err_cr_no_lf'],
    ['(a\r\nb)a@example.com', 'err_fws_crlf_end'],
    ['(a\r\n\tb)a@example.com', 'cfws_comment'],
    ['(a\r\n b)a@example.com', 'cfws_comment'],
    // Quoted strings: folding, and a tab after the fold is still a control character.
    ['"a\r\nb"@example.com', 'err_fws_crlf_end'],
    ['"a\r\n b"@example.com', 'cfws_fws', { local: '"a b"' }],
    ['"a\r\n\tb"@example.com', 'err_control_char'],
    ['"a"@example.com', 'rfc5321_quoted_string', { local: 'a', smtputf8: false }],
    ['"é"@example.com', 'rfc5321_quoted_string', { local: 'é', smtputf8: true }],
    ['"a"."b"@example.com', 'deprec_local_part', { local: 'a.b' }],
    ['".a"@example.com', 'rfc5321_quoted_string', { local: '".a"' }],
    ['"a..b"@example.com', 'rfc5321_quoted_string', { local: '"a..b"' }],
    ['"a."@example.com', 'rfc5321_quoted_string', { local: '"a."' }],
    // The 64-octet limit counts the local part as written, from its first word to its last.
    [`${q40}."b"@example.com`, 'rfc5322_local_too_long'],
    [`${q40}.b@example.com`, 'rfc5322_local_too_long'],
    [`${'a'.repeat(30)}."${'\\b'.repeat(20)}"@example.com`, 'rfc5322_local_too_long'],
    // What follows a word.
    ['a"b"@example.com', 'err_expecting_atext'],
    ['a (c)"b"@example.com', 'err_atext_after_cfws'],
    ['"a"b@example.com', 'err_atext_after_qs'],
    ['"a" b@example.com', 'err_atext_after_cfws'],
    ['a b@example.com', 'err_atext_after_cfws'],
    ['a,b@example.com', 'err_expecting_atext'],
    [',a@example.com', 'err_expecting_atext'],
    ['\x80a@example.com', 'err_control_char'],
    ['(c)', 'err_no_local_part'],
    // After the '@'.
    ['a@(x', 'err_unclosed_comment', { local: 'a' }],
    ['a@,com', 'err_expecting_atext', { local: 'a' }],
    ['a@b.c(x', 'err_unclosed_comment', { domainInput: 'b.c' }],
    ['a@b.c.(x', 'err_unclosed_comment', { domainInput: 'b.c' }],
    ['a@b.(x', 'err_unclosed_comment', { domainInput: 'b' }],
    ['a@b(c).com', 'deprec_comment', { domain: 'b.com' }],
    ['a@b .com', 'deprec_fws', { domain: 'b.com' }],
    ['a@b. com', 'deprec_fws', { domain: 'b.com' }],
    ['a@b.(c)com', 'deprec_comment', { domain: 'b.com' }],
    ['a@b.com x', 'err_atext_after_cfws', { domainInput: 'b.com' }],
    ['a@b.com é', 'err_atext_after_cfws'],
    ['a@b.com \x80', 'err_atext_after_cfws'],
    ['a@b.com ,', 'err_expecting_atext'],
    ['a@b.com,', 'err_expecting_atext'],
    ['a@b.c.', 'err_dot_end'],
    // Which labels are LDH: the ends of each range (a full-scanner path, through the quotes).
    ['"a"@Zz.com', 'rfc5321_quoted_string', { domain: 'zz.com', domainInput: 'Zz.com' }],
    ['"a"@a0.com', 'rfc5321_quoted_string', { domain: 'a0.com' }],
    ['"a"@a9.com', 'rfc5321_quoted_string', { domain: 'a9.com' }],
    ['a@a_b.com', 'rfc5322_domain', { domain: '', domainInput: 'a_b.com' }],
    ['a@a~b.com', 'rfc5322_domain', { domainInput: 'a~b.com' }],
    ['a@a{b.com', 'rfc5322_domain'],
    // A non-LDH domain still counts towards the whole address's length.
    [
      `${'x'.repeat(60)}@a_b.${`${'c'.repeat(60)}.`.repeat(4)}com`,
      'rfc5322_too_long',
      { domain: '' },
    ],
    // A non-ASCII label over 63 characters is an IDNA failure, not an ASCII length finding.
    [`a@${'ä'.repeat(64)}.com`, 'err_idna'],
    // An A-label is internationalised too.
    ['a@xn--bcher-kva.example', 'valid', { domain: 'xn--bcher-kva.example', idn: true }],
    ['"a"@xn--bcher-kva.example', 'rfc5321_quoted_string', { idn: true }],
    // Exactly 253 octets of domain is not too long a domain (the address is too long).
    [`a@${dom253}`, 'rfc5322_too_long'],
    [`x@${badAce253}`, 'err_idna'],
    // Numeric top-level labels: every digit, nothing else.
    ['a@x.0', 'rfc5321_tld_numeric'],
    ['a@x.9', 'rfc5321_tld_numeric'],
    ['a@x.10', 'rfc5321_tld_numeric'],
    ['a@x.1-2', 'valid'],
    // Address literals: what may follow, and the text of an obsolete one.
    ['a@[1.2.3.4](x', 'err_unclosed_comment', { domainInput: '[1.2.3.4]' }],
    ['a@[1.2.3.4](c)', 'cfws_comment', { domain: '[1.2.3.4]', literal: true }],
    ['a@[1.2.3.4] ', 'cfws_fws', { domain: '[1.2.3.4]' }],
    ['a@[a\\]b]', 'rfc5322_domlit_obsdtext', { domainInput: '[a]b]' }],
    ['a@[1\\.2]', 'rfc5322_domlit_obsdtext', { domainInput: '[1.2]' }],
    ['a@[IPv6:1.2.3.4]', 'rfc5322_ipv6_bad_char'],
  ];
  for (const [address, diagnosis, parts] of cases) {
    it(`${JSON.stringify(address).slice(0, 60)} -> ${diagnosis}`, () => {
      const r = diagnose(address);
      assert.equal(r.diagnosis, diagnosis);
      assert.equal(r.category, DIAGNOSES[diagnosis]);
      for (const [k, v] of Object.entries(parts ?? {}))
        assert.equal(r[k as keyof SyntaxResult], v, k);
      assert.deepEqual(diagnoseSlow(address), r, 'the fast path agrees');
    });
  }

  it('isDotAtom: atext or UTF-8 runs separated by single dots', () => {
    for (const yes of ['a', 'a.b', 'é', '\x80', "!#$%&'*+-/=?^_`{|}~"])
      assert.equal(isDotAtom(yes), true, yes);
    for (const no of ['', '.a', 'a.', 'a..b', 'a b', '"a"']) assert.equal(isDotAtom(no), false, no);
  });

  it('isIPv4 refuses a trailing dot after four parts', () => {
    assert.equal(isIPv4('1.2.3.4.'), false);
  });
});
