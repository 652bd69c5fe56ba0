import assert from 'node:assert/strict';
import { isEmailValidateError } from '../../../src/errors.ts';
import {
  MAX_DEFER_ATTEMPTS,
  MAX_PATTERN_LENGTH,
  MAX_REPLY_TEXT_LENGTH,
  MAX_RULES,
  MAX_RULES_SOURCE_BYTES,
  matchRule,
  parseRules,
  type MatchInput,
  type Rule,
} from '../../../src/rules-schema.ts';

/** The error a rules file gets: the whole message, the line and field details, the hint. */
function rulesError(
  source: string,
  fileName?: string,
): { message: string; line: unknown; field: unknown; hint: string | undefined } {
  try {
    if (fileName === undefined) parseRules(source);
    else parseRules(source, fileName);
  } catch (err) {
    assert.ok(isEmailValidateError(err), String(err));
    assert.equal(err.code, 'EV_ERR_RULES_INVALID');
    return {
      message: err.message,
      line: err.details?.line,
      field: err.details?.field,
      hint: err.hint,
    };
  }
  assert.fail(`expected EV_ERR_RULES_INVALID for ${JSON.stringify(source.slice(0, 200))}`);
}

/** The message for a one-rule file `rules:\n  - <rule>` (flow style). */
function ruleError(rule: string): string {
  return rulesError(`rules:\n  - ${rule}\n`, 'r.yaml').message;
}

/** The one rule of a one-rule file. */
function onlyRule(rule: string): Rule {
  const set = parseRules(`rules:\n  - ${rule}\n`, 'r.yaml');
  assert.equal(set.rules.length, 1);
  return set.rules[0];
}

const to = (...recipients: string[]): MatchInput => ({ sender: 's@x', recipients });

describe('rules schema: the file', () => {
  it('names the file "rules" when no name is given, and carries the hint', () => {
    const e = rulesError('rulez: []\n');
    assert.equal(e.message, 'rules:1: rulez is not a known key (expected `rules`)');
    assert.equal(
      e.hint,
      'Fix the rules file (see docs/sink.md, "Rules"); the previous rules stay in force.',
    );
  });

  it('takes a file of exactly the size limit, in bytes, and refuses one byte more without a line', () => {
    const exact = `#${'x'.repeat(MAX_RULES_SOURCE_BYTES - 2)}\n`;
    assert.equal(Buffer.byteLength(exact), MAX_RULES_SOURCE_BYTES);
    assert.equal(parseRules(exact).rules.length, 0);
    // Two bytes a character: fewer characters than the limit, more bytes.
    const wide = `#${'é'.repeat(MAX_RULES_SOURCE_BYTES / 2)}`;
    assert.ok(wide.length < MAX_RULES_SOURCE_BYTES);
    const e = rulesError(wide, 'r.yaml');
    assert.equal(e.message, `r.yaml: is larger than ${MAX_RULES_SOURCE_BYTES} bytes`);
    assert.equal(e.line, null);
    assert.equal(e.field, null);
  });

  it('reports bad YAML with its first line only, and refuses a repeated key', () => {
    assert.deepEqual(rulesError('rules:\n  - name: a\n    stage: [rcpt\n', 'r.yaml'), {
      message:
        'r.yaml:4: is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      line: 4,
      field: null,
      hint: 'Fix the rules file (see docs/sink.md, "Rules"); the previous rules stay in force.',
    });
    assert.equal(
      rulesError('rules: []\nrules: []\n', 'r.yaml').message,
      'r.yaml:2: is not valid YAML: Map keys must be unique',
    );
  });

  it('a file of white space only, Unicode spaces included, is no rules (YAML would read some as text)', () => {
    for (const source of ['\u00a0\u00a0\n', '\u3000', '\ufeff', '\v\f', '\u2028\u2029']) {
      const set = parseRules(source);
      assert.deepEqual(set.rules, [], JSON.stringify(source));
      assert.equal(set.source, source);
    }
  });

  it('an empty document (no content, `---`, `~`) is no rules', () => {
    for (const source of ['---\n', '~\n', 'rules:\n', 'version: 1\n', '\n\n  \n']) {
      const set = parseRules(source);
      assert.deepEqual(set.rules, [], JSON.stringify(source));
      assert.equal(set.source, source);
    }
  });

  it('the top level is a mapping of `rules` and `version: 1`', () => {
    assert.deepEqual(rulesError('- a\n', 'r.yaml'), {
      message: 'r.yaml:1: must be a mapping with a `rules:` list',
      line: 1,
      field: null,
      hint: 'Fix the rules file (see docs/sink.md, "Rules"); the previous rules stay in force.',
    });
    assert.equal(parseRules('version: 1\nrules:\n  - reject: true\n').rules.length, 1);
    const v2 = rulesError('version: 2\nrules: []\n', 'r.yaml');
    assert.equal(v2.message, 'r.yaml:1: version must be 1');
    assert.equal(v2.field, 'version');
    assert.equal(
      rulesError('rules: {}\n', 'r.yaml').message,
      'r.yaml:1: rules must be a list of rules',
    );
    assert.equal(
      rulesError('rules:\n  - 5\n', 'r.yaml').message,
      'r.yaml:2: rules[0] must be a mapping',
    );
  });

  it(`takes ${MAX_RULES} rules and refuses one more`, () => {
    const file = (n: number) => `rules:\n${'  - disconnect: true\n'.repeat(n)}`;
    const set = parseRules(file(MAX_RULES));
    assert.equal(set.rules.length, MAX_RULES);
    assert.equal(set.rules[MAX_RULES - 1].name, `rule-${MAX_RULES}`);
    assert.equal(
      rulesError(file(MAX_RULES + 1), 'r.yaml').message,
      `r.yaml:2: rules has more than ${MAX_RULES} rules`,
    );
  });

  it('the line of a problem in a field that is not written is the nearest written one', () => {
    // The second rule's default name repeats the first's: it has no `name:` line, so its own.
    assert.deepEqual(
      rulesError('rules:\n  - name: rule-2\n    reject: true\n  - reject: true\n', 'r.yaml'),
      {
        message: 'r.yaml:4: rules[1].name repeats the rule name "rule-2"',
        line: 4,
        field: 'rules[1].name',
        hint: 'Fix the rules file (see docs/sink.md, "Rules"); the previous rules stay in force.',
      },
    );
  });
});

describe('rules schema: a rule', () => {
  it('is named rule-N (its place from 1) when unnamed', () => {
    const set = parseRules(
      'rules:\n  - reject: true\n  - name: b\n    reject: true\n  - reject: true\n',
    );
    assert.deepEqual(
      set.rules.map((r) => r.name),
      ['rule-1', 'b', 'rule-3'],
    );
  });

  it('has a name of 1 to 100 characters', () => {
    assert.equal(onlyRule(`{ name: ${'n'.repeat(100)}, reject: true }`).name, 'n'.repeat(100));
    const message = 'must be a non-empty string of at most 100 characters';
    assert.equal(
      ruleError(`{ name: ${'n'.repeat(101)}, reject: true }`),
      `r.yaml:2: rules[0].name ${message}`,
    );
    assert.equal(ruleError('{ name: "  ", reject: true }'), `r.yaml:2: rules[0].name ${message}`);
    assert.equal(ruleError('{ name: 7, reject: true }'), `r.yaml:2: rules[0].name ${message}`);
  });

  it('has only the known keys and exactly one action', () => {
    assert.equal(
      ruleError('{ reject: true, when: now }'),
      'r.yaml:2: rules[0].when is not a known key (expected name, stage, match and one of reject, defer, delay, disconnect, bounce, webhook)',
    );
    assert.equal(
      ruleError('{ name: a }'),
      'r.yaml:2: rules[0] must have exactly one action (reject, defer, delay, disconnect, bounce, webhook), found 0',
    );
    assert.equal(
      ruleError('{ reject: true, bounce: true }'),
      'r.yaml:2: rules[0] must have exactly one action (reject, defer, delay, disconnect, bounce, webhook), found 2',
    );
  });

  it('runs at rcpt by default, at end for bounce and webhook, which may say so but not otherwise', () => {
    assert.equal(onlyRule('{ reject: true }').stage, 'rcpt');
    assert.equal(onlyRule('{ bounce: true }').stage, 'end');
    assert.equal(onlyRule('{ webhook: { url: "http://h/", format: ses } }').stage, 'end');
    assert.equal(onlyRule('{ stage: end, bounce: true }').stage, 'end');
    assert.equal(
      onlyRule('{ stage: end, webhook: { url: "http://h/", format: ses } }').stage,
      'end',
    );
    assert.equal(onlyRule('{ stage: data, reject: true }').stage, 'data');
    assert.equal(
      ruleError('{ stage: helo, reject: true }'),
      'r.yaml:2: rules[0].stage must be one of connect, mail, rcpt, data, end',
    );
    assert.equal(
      ruleError('{ stage: data, webhook: { url: "http://h/", format: ses } }'),
      'r.yaml:2: rules[0].stage must be "end" for a webhook action (it runs after the message is accepted)',
    );
  });
});

describe('rules schema: match', () => {
  it('an empty or null match matches everything', () => {
    for (const rule of ['{ match: , reject: true }', '{ match: null, reject: true }']) {
      const r = onlyRule(rule);
      assert.deepEqual(r.match, { recipient: null, sender: null, header: null, probability: null });
      assert.deepEqual(
        matchRule(r, to('a@x', 'b@y'), () => 0),
        ['a@x', 'b@y'],
      );
    }
  });

  it('is a mapping of recipient, sender, header and probability', () => {
    assert.equal(
      ruleError('{ match: [a], reject: true }'),
      'r.yaml:2: rules[0].match must be a mapping (recipient, sender, header, probability)',
    );
    assert.equal(
      ruleError('{ match: { subject: x }, reject: true }'),
      'r.yaml:2: rules[0].match.subject is not a known key (expected recipient, sender, header or probability)',
    );
  });

  it('recipients from rcpt on, the sender from mail on, headers at end only', () => {
    for (const stage of ['connect', 'mail']) {
      assert.equal(
        ruleError(`{ stage: ${stage}, match: { recipient: "a*" }, reject: true }`),
        `r.yaml:2: rules[0].match.recipient cannot be matched at stage "${stage}" (recipients are known from rcpt on)`,
      );
    }
    assert.equal(
      ruleError('{ stage: connect, match: { sender: "a*" }, reject: true }'),
      'r.yaml:2: rules[0].match.sender cannot be matched at stage "connect" (the sender is known from mail on)',
    );
    assert.ok(onlyRule('{ stage: mail, match: { sender: "a*" }, reject: true }').match.sender);
    assert.equal(
      ruleError('{ stage: data, match: { header: { name: X-A } }, reject: true }'),
      'r.yaml:2: rules[0].match.header can only be matched at stage "end" (headers arrive with the message)',
    );
  });

  it('a bad sender pattern is reported at the sender', () => {
    assert.equal(
      ruleError('{ stage: mail, match: { sender: "" }, reject: true }'),
      `r.yaml:2: rules[0].match.sender must be a glob or /regex/ of 1 to ${MAX_PATTERN_LENGTH} characters`,
    );
  });

  it('a header is a printable name without a colon, of 1 to 100 characters, and an optional value', () => {
    const header = (h: string) => `{ stage: end, match: { header: ${h} }, reject: true }`;
    const refused =
      'r.yaml:2: rules[0].match.header must be a mapping with a header `name` and an optional `value` pattern';
    for (const h of [
      '{ name: "X A" }',
      '{ name: "X-A:" }',
      '{ name: ":X-A" }',
      `{ name: ${'h'.repeat(101)} }`,
      '{ name: 5 }',
      '[X-A]',
    ])
      assert.equal(ruleError(header(h)), refused, h);
    assert.equal(
      onlyRule(header(`{ name: ${'H'.repeat(100)} }`)).match.header?.name,
      'h'.repeat(100),
    );
    assert.equal(
      ruleError(header('{ name: X-A, values: x }')),
      'r.yaml:2: rules[0].match.header.values is not a known key (expected name, value)',
    );
    assert.equal(
      ruleError(header('{ name: X-A, value: "/(/" }')),
      'r.yaml:2: rules[0].match.header.value is not a valid regular expression: missing closing ): `(`',
    );
  });

  it('a header without a value matches when the header is present, with a value when any one matches', () => {
    const any = onlyRule('{ match: { header: { name: X-Campaign } }, bounce: true }');
    assert.deepEqual(any.match.header, { name: 'x-campaign', value: null });
    const headers =
      (values: Record<string, string[]>) =>
      (name: string): readonly string[] =>
        values[name] ?? [];
    const input = (values: Record<string, string[]>): MatchInput => ({
      ...to('u@x'),
      header: headers(values),
    });
    assert.deepEqual(
      matchRule(any, input({ 'x-campaign': [''] }), () => 0),
      ['u@x'],
    );
    assert.equal(
      matchRule(any, input({}), () => 0),
      null,
    );
    assert.equal(
      matchRule(any, to('u@x'), () => 0),
      null,
      'no headers known yet',
    );
    const spring = onlyRule(
      '{ match: { header: { name: X-Campaign, value: "spring*" } }, bounce: true }',
    );
    assert.deepEqual(
      matchRule(spring, input({ 'x-campaign': ['autumn', 'Spring-1'] }), () => 0),
      ['u@x'],
    );
    assert.equal(
      matchRule(spring, input({ 'x-campaign': ['autumn'] }), () => 0),
      null,
    );
  });

  it('a probability is a number from 0 to 1, both included', () => {
    assert.equal(onlyRule('{ match: { probability: 0 }, reject: true }').match.probability, 0);
    assert.equal(onlyRule('{ match: { probability: 1 }, reject: true }').match.probability, 1);
    for (const p of ['-0.1', '1.01', '"0.5"'])
      assert.equal(
        ruleError(`{ match: { probability: ${p} }, reject: true }`),
        'r.yaml:2: rules[0].match.probability must be a number from 0 to 1',
        p,
      );
  });
});

describe('rules schema: patterns', () => {
  const recipientRule = (pattern: string) =>
    onlyRule(`{ match: { recipient: ${JSON.stringify(pattern)} }, reject: true }`);
  const matches = (rule: Rule, address: string) => matchRule(rule, to(address), () => 0) !== null;

  it(`are 1 to ${MAX_PATTERN_LENGTH} characters`, () => {
    const long = `${'a'.repeat(MAX_PATTERN_LENGTH - 1)}*`;
    assert.ok(matches(recipientRule(long), `${'a'.repeat(MAX_PATTERN_LENGTH)}@x`));
    const message = `r.yaml:2: rules[0].match.recipient must be a glob or /regex/ of 1 to ${MAX_PATTERN_LENGTH} characters`;
    assert.equal(
      ruleError(`{ match: { recipient: "${'a'.repeat(MAX_PATTERN_LENGTH + 1)}" }, reject: true }`),
      message,
    );
    assert.equal(ruleError('{ match: { recipient: "" }, reject: true }'), message);
    assert.equal(ruleError('{ match: { recipient: 5 }, reject: true }'), message);
  });

  it('/regex/ takes the flags i, m, s and u; anything else slash-shaped is a glob', () => {
    const insensitive = recipientRule('/^abc@/i');
    assert.ok(matches(insensitive, 'ABC@x'));
    assert.ok(!matches(insensitive, 'xabc@x'));
    // Not /regex/flags: globs, matched as written (whole value).
    const tail = recipientRule('/a/b');
    assert.ok(matches(tail, '/a/b'));
    assert.ok(!matches(tail, 'a'));
    const head = recipientRule('x/a/');
    assert.ok(matches(head, 'x/a/'));
    assert.ok(!matches(head, 'a'));
    const badFlag = recipientRule('/a/g');
    assert.ok(matches(badFlag, '/a/g'));
    assert.ok(!matches(badFlag, 'a'));
  });

  it('tells an invalid regular expression from one refused for linear-time matching', () => {
    assert.equal(
      ruleError('{ match: { recipient: "/(/" }, reject: true }'),
      'r.yaml:2: rules[0].match.recipient is not a valid regular expression: missing closing ): `(`',
    );
    assert.match(
      ruleError('{ match: { recipient: "/a(?=b)/" }, reject: true }'),
      /^r\.yaml:2: rules\[0\]\.match\.recipient is refused \(linear-time matching\): it /,
    );
  });

  it('a null sender (<>) is matched as the empty string', () => {
    const rule = onlyRule('{ stage: mail, match: { sender: "/^$/" }, reject: true }');
    assert.notEqual(
      matchRule(rule, { sender: null, recipients: [] }, () => 0),
      null,
    );
    assert.equal(
      matchRule(rule, { sender: 'a@x', recipients: [] }, () => 0),
      null,
    );
  });
});

describe('rules schema: actions', () => {
  it('reject: 5.1.1 by default at rcpt, 5.7.1 elsewhere; a code alone gets class.0.0', () => {
    assert.deepEqual(onlyRule('{ reject: true }').action, {
      kind: 'reject',
      code: 550,
      enhancedCode: '5.1.1',
      text: 'Rejected by rule',
    });
    assert.deepEqual(onlyRule('{ stage: mail, reject: }').action, {
      kind: 'reject',
      code: 550,
      enhancedCode: '5.7.1',
      text: 'Rejected by rule',
    });
    assert.deepEqual(onlyRule('{ reject: { code: 554 } }').action, {
      kind: 'reject',
      code: 554,
      enhancedCode: '5.0.0',
      text: 'Rejected by rule',
    });
    assert.equal(onlyRule('{ reject: { code: 599 } }').action.kind, 'reject');
    assert.equal(onlyRule('{ reject: { code: 500 } }').action.kind, 'reject');
  });

  it('reject: the code, enhanced code and text are checked', () => {
    assert.equal(
      ruleError('{ reject: { code: 450 } }'),
      'r.yaml:2: rules[0].reject.code must be a 5xx SMTP reply code',
    );
    assert.equal(
      ruleError('{ reject: { code: 550.5 } }'),
      'r.yaml:2: rules[0].reject.code must be a 5xx SMTP reply code',
    );
    assert.equal(
      ruleError('{ reject: { enhanced: 4.1.1 } }'),
      'r.yaml:2: rules[0].reject.enhanced must be an enhanced status code of class 5, such as 5.1.1',
    );
    assert.equal(
      onlyRule(`{ reject: { text: ${'t'.repeat(MAX_REPLY_TEXT_LENGTH)} } }`).action.kind,
      'reject',
    );
    for (const text of ['""', 't'.repeat(MAX_REPLY_TEXT_LENGTH + 1), '"a\\nb"', '5'])
      assert.equal(
        ruleError(`{ reject: { text: ${text} } }`),
        `r.yaml:2: rules[0].reject.text must be one line of 1 to ${MAX_REPLY_TEXT_LENGTH} characters`,
        text,
      );
    assert.equal(
      ruleError('{ reject: [550] }'),
      'r.yaml:2: rules[0].reject must be a mapping (code, enhanced, text) or `true`',
    );
    assert.equal(
      ruleError('{ reject: { status: 5.1.1 } }'),
      'r.yaml:2: rules[0].reject.status is not a known key (expected code, enhanced, text)',
    );
  });

  it(`defer: attempts from 1 to ${MAX_DEFER_ATTEMPTS}, whole`, () => {
    const attempts = (n: number) => {
      const a = onlyRule(`{ defer: { attempts: ${n} } }`).action;
      return a.kind === 'defer' ? a.attempts : null;
    };
    assert.equal(attempts(1), 1);
    assert.equal(attempts(MAX_DEFER_ATTEMPTS), MAX_DEFER_ATTEMPTS);
    for (const n of ['0', String(MAX_DEFER_ATTEMPTS + 1), '1.5', '"2"'])
      assert.equal(
        ruleError(`{ defer: { attempts: ${n} } }`),
        `r.yaml:2: rules[0].defer.attempts must be an integer from 1 to ${MAX_DEFER_ATTEMPTS}`,
        n,
      );
    assert.equal(
      ruleError('{ defer: { tries: 2 } }'),
      'r.yaml:2: rules[0].defer.tries is not a known key (expected attempts, code, enhanced, text)',
    );
  });

  it('delay: { duration } or { ms }, up to 5 minutes included', () => {
    assert.deepEqual(onlyRule('{ delay: { duration: 2s } }').action, { kind: 'delay', ms: 2000 });
    assert.deepEqual(onlyRule('{ delay: { ms: 250 } }').action, { kind: 'delay', ms: 250 });
    assert.deepEqual(onlyRule('{ delay: 5m }').action, { kind: 'delay', ms: 300_000 });
    assert.match(
      ruleError('{ delay: 5m1s }'),
      /^r\.yaml:2: rules\[0\]\.delay must be a duration of at most 5m: /,
    );
  });

  it('disconnect: only `true`', () => {
    assert.deepEqual(onlyRule('{ disconnect: true }').action, { kind: 'disconnect' });
    assert.equal(
      ruleError('{ disconnect: yes please }'),
      'r.yaml:2: rules[0].disconnect must be `true`',
    );
  });

  it('bounce: 5.1.1 and a DSN diagnostic by default; a given status and diagnostic are kept', () => {
    assert.deepEqual(onlyRule('{ bounce: true }').action, {
      kind: 'bounce',
      status: '5.1.1',
      diagnostic: 'smtp; 550 5.1.1 Recipient address rejected',
    });
    assert.deepEqual(onlyRule('{ bounce: { status: 5.2.2 } }').action, {
      kind: 'bounce',
      status: '5.2.2',
      diagnostic: 'smtp; 550 5.2.2 Recipient address rejected',
    });
    assert.deepEqual(
      onlyRule('{ bounce: { status: 5.123.456, diagnostic: "smtp; 552 full" } }').action,
      {
        kind: 'bounce',
        status: '5.123.456',
        diagnostic: 'smtp; 552 full',
      },
    );
    const d = 'd'.repeat(MAX_REPLY_TEXT_LENGTH);
    assert.deepEqual(onlyRule(`{ bounce: { diagnostic: ${d} } }`).action, {
      kind: 'bounce',
      status: '5.1.1',
      diagnostic: d,
    });
  });

  it('bounce: a permanent status of three numbers, a diagnostic of one line', () => {
    for (const status of ['4.1.1', '5.1', 'x5.1.1', '5.1.1x', '5.1234.1', '5.1.1234', '5'])
      assert.equal(
        ruleError(`{ bounce: { status: "${status}" } }`),
        'r.yaml:2: rules[0].bounce.status must be a permanent enhanced status code such as 5.1.1',
        status,
      );
    for (const diagnostic of ['"a\\rb"', 'd'.repeat(MAX_REPLY_TEXT_LENGTH + 1), '[x]'])
      assert.equal(
        ruleError(`{ bounce: { diagnostic: ${diagnostic} } }`),
        `r.yaml:2: rules[0].bounce.diagnostic must be one line of at most ${MAX_REPLY_TEXT_LENGTH} characters`,
      );
  });

  it('webhook: an http or https URL, a known format, the event delivered by default', () => {
    assert.deepEqual(onlyRule('{ webhook: { url: "https://h.example/x", format: ses } }').action, {
      kind: 'webhook',
      url: 'https://h.example/x',
      format: 'ses',
      event: 'delivered',
    });
    assert.deepEqual(
      onlyRule('{ webhook: { url: "http://h/", format: sendgrid, event: complaint } }').action,
      { kind: 'webhook', url: 'http://h/', format: 'sendgrid', event: 'complaint' },
    );
    for (const url of ['"ftp://h/"', '"not a url"', '5'])
      assert.equal(
        ruleError(`{ webhook: { url: ${url}, format: ses } }`),
        'r.yaml:2: rules[0].webhook.url must be an http:// or https:// URL',
      );
    assert.equal(
      ruleError('{ webhook: { url: "http://h/", format: mailgun } }'),
      'r.yaml:2: rules[0].webhook.format must be one of sendgrid, ses',
    );
    assert.equal(
      ruleError('{ webhook: { url: "http://h/", format: ses, event: open } }'),
      'r.yaml:2: rules[0].webhook.event must be one of delivered, bounce, dropped, complaint',
    );
  });
});
