import assert from 'node:assert/strict';
import { isEmailValidateError } from '../../../src/errors.ts';
import { matchRule, parseRules } from '../../../src/rules-schema.ts';
import {
  BUILTIN_ASYNCBOUNCE,
  BUILTIN_BOUNCE,
  BUILTIN_DEFER,
  MAX_GREYLIST_ENTRIES,
  RulesEngine,
} from '../../../sink/rules.ts';

/** A scripted RNG: returns the given values in turn. */
function rng(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

/** The message of the EV_ERR_RULES_INVALID `fn` throws. */
function rulesErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isEmailValidateError(err) && err.code === 'EV_ERR_RULES_INVALID', String(err));
    return err.message;
  }
  assert.fail('no error');
}

function rulesError(source: string): { line: unknown; field: unknown; message: string } {
  try {
    parseRules(source, 'rules.yaml');
  } catch (err) {
    assert.ok(isEmailValidateError(err));
    assert.equal(err.code, 'EV_ERR_RULES_INVALID');
    return { line: err.details?.line, field: err.details?.field, message: err.message };
  }
  assert.fail('expected EV_ERR_RULES_INVALID');
}

describe('rules schema', () => {
  it('parses every action with defaults', () => {
    const set = parseRules(`
rules:
  - name: hard
    match: { recipient: "*@hard.example" }
    reject: { code: 550, enhanced: 5.1.1, text: No such user }
  - name: soft
    stage: mail
    match: { sender: "/^spam/i" }
    defer: { attempts: 2 }
  - name: slow
    stage: connect
    delay: 1.5s
  - name: cut
    stage: data
    disconnect: true
  - name: dsn
    match: { recipient: "gone@*", header: { name: X-Campaign, value: "spring*" } }
    bounce: { status: 5.2.2, diagnostic: "smtp; 552 mailbox full" }
  - name: hook
    webhook: { url: "http://127.0.0.1:9/hook", format: sendgrid, event: delivered }
`);
    assert.equal(set.rules.length, 6);
    assert.deepEqual(set.rules[0].action, {
      kind: 'reject',
      code: 550,
      enhancedCode: '5.1.1',
      text: 'No such user',
    });
    assert.equal(set.rules[0].stage, 'rcpt');
    assert.deepEqual(set.rules[1].action, {
      kind: 'defer',
      attempts: 2,
      code: 451,
      enhancedCode: '4.7.1',
      text: 'Greylisted, please try again later',
    });
    assert.deepEqual(set.rules[2].action, { kind: 'delay', ms: 1500 });
    assert.deepEqual(set.rules[3].action, { kind: 'disconnect' });
    assert.equal(set.rules[4].stage, 'end');
    assert.deepEqual(set.rules[5].action, {
      kind: 'webhook',
      url: 'http://127.0.0.1:9/hook',
      format: 'sendgrid',
      event: 'delivered',
    });
    assert.ok(Object.isFrozen(set.rules));
  });

  it('an empty file means no rules', () => {
    assert.equal(parseRules('').rules.length, 0);
    assert.equal(parseRules('# nothing\n').rules.length, 0);
    assert.equal(parseRules('rules: []\n').rules.length, 0);
  });

  const invalid: Array<[string, string, number, string]> = [
    ['bad YAML', 'rules:\n  - name: a\n    stage: [rcpt\n', 4, ''],
    ['unknown top-level key', 'rulez: []\n', 1, 'rulez'],
    ['no action', 'rules:\n  - name: a\n    match: { recipient: "x" }\n', 2, 'rules[0]'],
    ['two actions', 'rules:\n  - reject: true\n    disconnect: true\n', 2, 'rules[0]'],
    ['bad stage', 'rules:\n  - name: a\n    stage: helo\n    reject: true\n', 3, 'rules[0].stage'],
    ['code class', 'rules:\n  - name: a\n    reject: { code: 451 }\n', 3, 'rules[0].reject.code'],
    [
      'enhanced class',
      'rules:\n  - name: a\n    defer: { enhanced: 5.1.1 }\n',
      3,
      'rules[0].defer.enhanced',
    ],
    [
      'header before end',
      'rules:\n  - name: a\n    stage: rcpt\n    match:\n      header: { name: X-A }\n    reject: true\n',
      5,
      'rules[0].match.header',
    ],
    [
      'recipient at mail',
      'rules:\n  - stage: mail\n    match: { recipient: "a*" }\n    reject: true\n',
      3,
      'rules[0].match.recipient',
    ],
    [
      'bad regex',
      'rules:\n  - match: { recipient: "/(/" }\n    reject: true\n',
      2,
      'rules[0].match.recipient',
    ],
    [
      'probability',
      'rules:\n  - match: { probability: 2 }\n    reject: true\n',
      2,
      'rules[0].match.probability',
    ],
    ['bounce at rcpt', 'rules:\n  - stage: rcpt\n    bounce: true\n', 2, 'rules[0].stage'],
    [
      'webhook format',
      'rules:\n  - webhook: { url: "http://x", format: mailgun }\n',
      2,
      'rules[0].webhook.format',
    ],
    [
      'webhook url',
      'rules:\n  - webhook: { url: "ftp://x", format: ses }\n',
      2,
      'rules[0].webhook.url',
    ],
    [
      'duplicate names',
      'rules:\n  - name: a\n    reject: true\n  - name: a\n    reject: true\n',
      4,
      'rules[1].name',
    ],
    ['delay too long', 'rules:\n  - delay: 10m\n', 2, 'rules[0].delay'],
  ];
  for (const [what, source, line, field] of invalid) {
    it(`rejects ${what} with the line and field`, () => {
      const e = rulesError(source);
      assert.equal(e.line, line, e.message);
      assert.equal(e.field, field || null, e.message);
      assert.match(e.message, new RegExp(`^rules\\.yaml:${line}: `));
    });
  }

  it('globs are case-insensitive and anchored; /regex/ is used as given', () => {
    const [glob, re] = parseRules(
      'rules:\n  - match: { recipient: "user+*@Example.com" }\n    reject: true\n  - match: { recipient: "/^a.c@/" }\n    reject: true\n',
    ).rules;
    const m = (rule: typeof glob, to: string) =>
      matchRule(rule, { sender: null, recipients: [to] }, () => 0) !== null;
    assert.ok(m(glob, 'USER+x@example.COM'));
    assert.ok(!m(glob, 'xuser+x@example.com'));
    assert.ok(!m(glob, 'user+x@example.com.evil'));
    assert.ok(m(re, 'abc@x'));
    assert.ok(!m(re, 'ABC@x'));
  });

  it('draws the RNG only when everything else matched', () => {
    const [rule] = parseRules(
      'rules:\n  - match: { sender: "a@*", probability: 0.5 }\n    stage: mail\n    reject: true\n',
    ).rules;
    let draws = 0;
    const random = () => {
      draws++;
      return 0.4;
    };
    assert.equal(matchRule(rule, { sender: 'b@x', recipients: [] }, random), null);
    assert.equal(draws, 0);
    assert.notEqual(matchRule(rule, { sender: 'a@x', recipients: [] }, random), null);
    assert.equal(draws, 1);
  });
});

describe('RulesEngine', () => {
  it('built-in conventions: bounce*, defer* (once), asyncbounce*', () => {
    const engine = new RulesEngine();
    const at = (to: string) => engine.evaluate('rcpt', { sender: 's@x', recipients: [to] }).verdict;
    assert.deepEqual(at('bounce-me@example.com'), {
      kind: 'reject',
      code: 550,
      enhancedCode: '5.1.1',
      text: 'The email account that you tried to reach does not exist',
      rule: BUILTIN_BOUNCE,
    });
    assert.equal(at('Bounce@example.com')?.kind, 'reject');
    assert.equal(at('defer1@example.com')?.rule, BUILTIN_DEFER);
    assert.equal(at('defer1@example.com'), null, 'second attempt accepted');
    assert.equal(at('defer2@example.com')?.kind, 'defer', 'another pair is greylisted on its own');
    assert.equal(at('asyncbounce@example.com'), null, 'asyncbounce is accepted at RCPT');
    assert.equal(at('user@example.com'), null);
    const plan = engine.afterAccept({
      sender: 's@x',
      recipients: ['asyncbounce+1@example.com', 'ok@example.com'],
    });
    assert.deepEqual(
      plan.bounces.map((b) => [b.recipient, b.rule, b.status]),
      [['asyncbounce+1@example.com', BUILTIN_ASYNCBOUNCE, '5.1.1']],
    );
  });

  it('greylists the first N attempts per sender/recipient pair', () => {
    const engine = new RulesEngine({
      source:
        'rules:\n  - name: grey\n    match: { recipient: "*@grey.example" }\n    defer: { attempts: 2, code: 450, enhanced: 4.2.0, text: Try later }\n',
    });
    const at = (from: string, to: string) =>
      engine.evaluate('rcpt', { sender: from, recipients: [to] }).verdict?.kind ?? 'accept';
    assert.equal(at('a@x', 'u@grey.example'), 'defer');
    assert.equal(at('b@x', 'u@grey.example'), 'defer');
    assert.equal(at('a@x', 'u@grey.example'), 'defer');
    assert.equal(at('a@x', 'u@grey.example'), 'accept');
    assert.equal(at('A@X', 'U@GREY.EXAMPLE'), 'accept', 'pairs compare case-insensitively');
    assert.equal(at('b@x', 'u@grey.example'), 'defer');
    assert.equal(at('b@x', 'u@grey.example'), 'accept');
  });

  it('probability rules follow the injected RNG', () => {
    const engine = new RulesEngine({
      random: rng(0.1, 0.9, 0.29, 0.3),
      source:
        'rules:\n  - name: chaos\n    stage: mail\n    match: { probability: 0.3 }\n    reject: { code: 554, enhanced: 5.7.1, text: Chaos }\n',
    });
    const kinds = [1, 2, 3, 4].map(
      () => engine.evaluate('mail', { sender: 'a@x', recipients: [] }).verdict?.kind ?? 'accept',
    );
    assert.deepEqual(kinds, ['reject', 'accept', 'reject', 'accept']);
  });

  it('reads delays in the one duration grammar: a bare number is seconds, { ms: N } is milliseconds', () => {
    const set = parseRules(
      'rules:\n  - { stage: rcpt, delay: 2 }\n  - { stage: rcpt, delay: "1m30s" }\n  - { stage: rcpt, delay: { ms: 1500 } }\n',
    );
    assert.deepEqual(
      set.rules.map((r) => r.action),
      [
        { kind: 'delay', ms: 2000 },
        { kind: 'delay', ms: 90_000 },
        { kind: 'delay', ms: 1500 },
      ],
    );
    assert.throws(
      () => parseRules('rules:\n  - { stage: rcpt, delay: 301 }\n'),
      /rules\[0\]\.delay.*at most 5m/,
    );
  });

  it('adds up delays and stops at the first terminal action, user rules before conventions', () => {
    const engine = new RulesEngine({
      source: `
rules:
  - { name: d1, stage: rcpt, delay: 100ms }
  - { name: d2, stage: rcpt, delay: 250ms }
  - { name: allow-bounce-domain, match: { recipient: "*@ok.example" }, reject: { code: 550, text: User rule wins } }
`,
    });
    const d = engine.evaluate('rcpt', { sender: null, recipients: ['bounce@ok.example'] });
    assert.equal(d.delayMs, 350);
    assert.equal(d.verdict?.kind === 'reject' && d.verdict.text, 'User rule wins');
    assert.equal(
      engine.evaluate('rcpt', { sender: null, recipients: ['bounce@other.example'] }).verdict?.rule,
      BUILTIN_BOUNCE,
    );
  });

  it('header rules match at end; bounce and webhook plans name their recipients', () => {
    const engine = new RulesEngine({
      source: `
rules:
  - name: spring
    stage: end
    match: { header: { name: X-Campaign, value: "spring*" } }
    reject: { code: 554, enhanced: 5.7.1, text: Campaign blocked }
  - name: full
    match: { recipient: "full@*" }
    bounce: { status: 5.2.2, diagnostic: "smtp; 552 5.2.2 Mailbox full" }
  - name: hook
    match: { recipient: "*@hook.example" }
    webhook: { url: "http://127.0.0.1:1/h", format: ses, event: bounce }
`,
    });
    const header = (values: Record<string, string[]>) => (name: string) => values[name] ?? [];
    assert.equal(
      engine.evaluate('end', {
        sender: 'a@x',
        recipients: ['u@x'],
        header: header({ 'x-campaign': ['Spring-2026'] }),
      }).verdict?.kind,
      'reject',
    );
    assert.equal(
      engine.evaluate('end', {
        sender: 'a@x',
        recipients: ['u@x'],
        header: header({ 'x-campaign': ['autumn'] }),
      }).verdict,
      null,
    );
    const plan = engine.afterAccept({
      sender: 'a@x',
      recipients: ['full@x', 'a@hook.example', 'b@hook.example'],
    });
    assert.deepEqual(
      plan.bounces.map((b) => b.recipient),
      ['full@x'],
    );
    assert.deepEqual(
      plan.webhooks.map((w) => [w.recipient, w.format, w.event]),
      [
        ['a@hook.example', 'ses', 'bounce'],
        ['b@hook.example', 'ses', 'bounce'],
      ],
    );
  });

  it('replace() swaps atomically and keeps the old rules on error', () => {
    const replaced: number[] = [];
    const engine = new RulesEngine({ onReplace: (n) => replaced.push(n) });
    engine.replace('rules:\n  - { stage: mail, reject: true }\n');
    assert.equal(engine.count(), 1);
    assert.throws(
      () => engine.replace('rules:\n  - { stage: nope, reject: true }\n'),
      (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_RULES_INVALID',
    );
    assert.equal(engine.count(), 1);
    assert.match(engine.source(), /stage: mail/);
    assert.deepEqual(replaced, [1]);
  });

  it('errors name the rules file, or the overlay; replace() and overlay() take effect at once', () => {
    const engine = new RulesEngine();
    assert.match(
      rulesErrorOf(() => engine.replace('rules:\n  - { stage: nope, reject: true }\n')),
      /^rules:2: /,
    );
    assert.match(
      rulesErrorOf(() => engine.overlay('rules:\n  - { stage: nope, reject: true }\n')),
      /^overlay:2: /,
    );
    const mail = () =>
      engine.evaluate('mail', { sender: 'a@x', recipients: [] }).verdict?.kind ?? 'accept';
    engine.replace('rules:\n  - { stage: mail, reject: true }\n');
    assert.equal(mail(), 'reject');
    engine.replace('rules: []\n');
    assert.equal(mail(), 'accept');
    engine.overlay('rules:\n  - { stage: mail, disconnect: true }\n');
    assert.equal(mail(), 'disconnect');
    engine.overlay(null);
    assert.equal(mail(), 'accept');
  });

  it('a rule answers only at its own stage, and the conventions only at RCPT', () => {
    const engine = new RulesEngine({
      source:
        'rules:\n  - { stage: mail, reject: true }\n  - { stage: rcpt, delay: { ms: 5 } }\n  - { stage: data, delay: { ms: 7 } }\n',
    });
    assert.deepEqual(engine.evaluate('rcpt', { sender: 'a@x', recipients: ['u@x'] }), {
      delayMs: 5,
      verdict: null,
    });
    assert.deepEqual(engine.evaluate('data', { sender: 'a@x', recipients: ['bounce@x'] }), {
      delayMs: 7,
      verdict: null,
    });
    assert.deepEqual(engine.evaluate('rcpt', { sender: 'a@x', recipients: [] }), {
      delayMs: 5,
      verdict: null,
    });
    assert.deepEqual(new RulesEngine().evaluate('rcpt', { sender: 'a@x', recipients: [] }), {
      delayMs: 0,
      verdict: null,
    });
    assert.equal(
      new RulesEngine().evaluate('rcpt', { sender: 'a@x', recipients: ['bounce'] }).verdict?.rule,
      BUILTIN_BOUNCE,
      'an address without a domain is its local part',
    );
  });

  it('greylist pairs: lower-cased (not upper-cased: ß is not ss), each recipient on its own', () => {
    const engine = new RulesEngine({
      source:
        'rules:\n  - name: grey\n    match: { recipient: "*@grey.example" }\n    defer: { attempts: 1 }\n',
    });
    const at = (from: string, to: string[]) =>
      engine.evaluate('rcpt', { sender: from, recipients: to }).verdict?.kind ?? 'accept';
    assert.equal(at('\u00df@x', ['u@grey.example']), 'defer');
    assert.equal(at('ss@x', ['u@grey.example']), 'defer', 'another sender');
    assert.equal(at('a@x', ['\u00df@grey.example']), 'defer');
    assert.equal(at('a@x', ['ss@grey.example']), 'defer', 'another recipient');
    assert.equal(at('b@x', ['a@grey.example', 'x@grey.example']), 'defer');
    assert.equal(
      at('b@x', ['a@grey.examplex@grey.example']),
      'defer',
      'not the two above run together',
    );
    assert.equal(at('b@x', ['a@grey.example', 'x@grey.example']), 'accept');
    const builtin = new RulesEngine();
    const defer = (from: string) =>
      builtin.evaluate('rcpt', { sender: from, recipients: ['defer@x'] }).verdict;
    assert.deepEqual(defer('\u00df@x'), {
      kind: 'defer',
      code: 451,
      enhancedCode: '4.7.1',
      text: 'Greylisted, please try again later',
      rule: BUILTIN_DEFER,
    });
    assert.equal(defer('ss@x')?.kind, 'defer');
    assert.equal(defer('ss@x'), null);
  });

  it(`the greylist remembers the ${MAX_GREYLIST_ENTRIES} most recently seen pairs`, () => {
    const engine = new RulesEngine();
    const at = (i: number) =>
      engine.evaluate('rcpt', { sender: 's@x', recipients: [`defer${i}@x`] }).verdict?.kind ??
      'accept';
    for (let i = 0; i < MAX_GREYLIST_ENTRIES; i++) at(i);
    assert.equal(at(0), 'accept', 'all of them fit: the first is remembered');
    at(MAX_GREYLIST_ENTRIES); // one more: the least recently seen (1, since 0 was just seen) is forgotten
    assert.equal(at(1), 'defer', 'forgotten, so greylisted again');
    assert.equal(at(0), 'accept');
  });

  it('a recipient bounces once, whether several rules or the convention would bounce it', () => {
    const engine = new RulesEngine({
      source:
        'rules:\n  - { name: one, match: { recipient: "*@b.example" }, bounce: { status: 5.1.1 } }\n  - { name: two, match: { recipient: "asyncbounce*" }, bounce: { status: 5.2.2 } }\n',
    });
    const plan = engine.afterAccept({
      sender: 's@x',
      recipients: [
        'asyncbounce@b.example',
        'asyncbounce@c.example',
        'asyncbounce@c.example',
        'u@b.example',
      ],
    });
    assert.deepEqual(
      plan.bounces.map((b) => [b.recipient, b.rule]),
      [
        ['asyncbounce@b.example', 'one'],
        ['u@b.example', 'one'],
        ['asyncbounce@c.example', 'two'],
      ],
    );
    const builtin = new RulesEngine().afterAccept({
      sender: 's@x',
      recipients: ['asyncbounce@x', 'asyncbounce@x'],
    });
    assert.deepEqual(builtin.bounces, [
      {
        recipient: 'asyncbounce@x',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 The email account that you tried to reach does not exist',
        rule: BUILTIN_ASYNCBOUNCE,
      },
    ]);
  });
});
