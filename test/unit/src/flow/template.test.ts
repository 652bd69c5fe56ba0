import assert from 'node:assert/strict';
import { bareAddress, statusMatches, textMatcher } from '../../../../src/flow/matchers.ts';
import {
  renderDeep,
  PLACEHOLDER_VARS,
  renderTemplate,
  templateVariables,
  TemplateError,
  type TemplateVars,
} from '../../../../src/flow/template.ts';

const vars: TemplateVars = {
  run: { id: 'k3x9' },
  env: { APP: 'http://app.test', EMPTY: '' },
  index: 4,
  sink: { url: 'http://127.0.0.1:8025', smtp: '127.0.0.1:1025', host: '127.0.0.1', port: 1025 },
  mock: { url: 'http://127.0.0.1:9' },
};

describe('flow templates', () => {
  it('renders run.id, env, index, sink and mock variables, with spaces allowed', () => {
    assert.equal(
      renderTemplate('signup+{{run.id}}-{{ index }}@example.test', vars),
      'signup+k3x9-4@example.test',
    );
    assert.equal(
      renderTemplate('{{env.APP}}/confirm?x={{env.EMPTY}}', vars),
      'http://app.test/confirm?x=',
    );
    assert.equal(
      renderTemplate('{{sink.url}} {{sink.smtp}} {{sink.host}}:{{sink.port}} {{mock.url}}', vars),
      'http://127.0.0.1:8025 127.0.0.1:1025 127.0.0.1:1025 http://127.0.0.1:9',
    );
    assert.equal(renderTemplate('no templates', vars), 'no templates');
  });

  it('reads env only from what it is given, never process.env', () => {
    process.env.EV_FLOW_TEST_ONLY_IN_PROCESS = 'leak';
    assert.throws(
      () => renderTemplate('{{env.EV_FLOW_TEST_ONLY_IN_PROCESS}}', vars),
      /EV_FLOW_TEST_ONLY_IN_PROCESS is not set/,
    );
    delete process.env.EV_FLOW_TEST_ONLY_IN_PROCESS;
  });

  it('refuses unknown variables and broken syntax', () => {
    assert.throws(() => templateVariables('{{run.uuid}}'), TemplateError);
    assert.throws(() => templateVariables('{{env.1BAD}}'), /unknown template variable/);
    assert.throws(() => templateVariables('{{run.id'), /unclosed/);
    assert.throws(
      () => renderTemplate('{{index}}', { run: { id: 'x' }, env: {} }),
      /only available in a send step/,
    );
    assert.deepEqual(templateVariables('{{run.id}} {{env.A}} {{index}}'), [
      'run.id',
      'env.A',
      'index',
    ]);
  });

  it('renders inside JSON bodies, keys included', () => {
    assert.deepEqual(
      renderDeep({ 'u-{{run.id}}': ['{{index}}', 1, true, null, { e: '{{env.APP}}' }] }, vars),
      { 'u-k3x9': ['4', 1, true, null, { e: 'http://app.test' }] },
    );
  });
});

describe('flow matchers', () => {
  it('text: case-insensitive substring or /regex/flags (g and y dropped so .test is stateless)', () => {
    assert.equal(textMatcher('Welcome').test('Welcome aboard'), true);
    assert.equal(textMatcher('welcome').test('Welcome aboard'), true, 'case is ignored');
    assert.equal(textMatcher('farewell').test('Welcome aboard'), false);
    const re = textMatcher('/^welcome/g');
    assert.equal(re.isRegex, true);
    assert.equal(re.test('WELCOME'), true);
    assert.equal(re.test('WELCOME'), true);
    assert.equal(textMatcher('//').isRegex, false, 'an empty regex is text');
    assert.throws(() => textMatcher('/(/'), /invalid regular expression/);
  });

  it('address: the same rule as tail and messages list (substring, + and . literal); anchor /…/ for an exact address', () => {
    const m = textMatcher('User+42@Example.test');
    assert.equal(m.test('user+42@example.test'), true);
    assert.equal(m.test('userr42@example.test'), false, 'the + is literal');
    assert.equal(m.test('other.user+42@example.test'), true, 'a substring');
    const exact = textMatcher('/^user@example\\.test$/');
    assert.equal(exact.test('USER@example.test'), true);
    assert.equal(exact.test('otheruser@example.test'), false);
    assert.equal(textMatcher('/@example\\.test$/').test('a@example.test'), true);
    assert.equal(bareAddress('"Doe, John" <john@x.test>'), 'john@x.test');
  });

  it('status: numbers, classes and lists', () => {
    assert.equal(statusMatches(204, ['2xx']), true);
    assert.equal(statusMatches(302, ['2xx', 302]), true);
    assert.equal(statusMatches(404, [200, '201']), false);
  });
});

describe('flow templates: exact scanning and errors', () => {
  const v: TemplateVars = { run: { id: 'r1' }, env: { A: 'a' }, index: 7 };
  const known =
    'run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME';

  it('finds templates by a linear scan: boundaries and stray braces', () => {
    const table: Array<[string, string[] | string]> = [
      ['plain', []],
      ['ab}}', []],
      ['x}} y {', []],
      ['{{run.id}}', ['run.id']],
      ['{{ run.id }}{{index}}', ['run.id', 'index']],
      ['{{run.id}}ab}}', ['run.id']],
      ['{{run.id}', 'unclosed "{{" in template'],
      ['{{run.id}x', 'unclosed "{{" in template'],
      ['{{run.id{}', 'unclosed "{{" in template'],
      ['{{ {{run.id}} }}', 'unclosed "{{" in template'],
      ['a {{', 'unclosed "{{" in template'],
      ['{{}}', `unknown template variable "{{}}" (known: ${known})`],
      ['{{ foo }}', `unknown template variable "{{foo}}" (known: ${known})`],
    ];
    for (const [text, want] of table) {
      if (typeof want === 'string') {
        assert.throws(
          () => templateVariables(text),
          (err: unknown) =>
            err instanceof TemplateError &&
            err.name === 'TemplateError' &&
            err.message === want &&
            // An unclosed "{{" names no variable (the runner reads `variable` for env.* hints).
            (!want.startsWith('unclosed') || err.variable === ''),
          text,
        );
      } else {
        assert.deepEqual(templateVariables(text), want, text);
      }
    }
  });

  it('cuts a long unknown name in the message', () => {
    const n60 = 'x'.repeat(60);
    const msg = (name: string): string => {
      try {
        templateVariables(`{{${name}}}`);
      } catch (err) {
        return err instanceof TemplateError
          ? `${err.variable.length} ${err.message.split(' (')[0]}`
          : '';
      }
      return '';
    };
    assert.equal(msg(n60), `60 unknown template variable "{{${n60}}}"`);
    assert.equal(msg(`${n60}y`), `61 unknown template variable "{{${n60}…}}"`);
  });

  it('renders, and says exactly why a variable has no value', () => {
    assert.equal(renderTemplate('{{run.id}}ab}}', v), 'r1ab}}');
    assert.equal(renderTemplate('{{ run.id }}-{{index}}-{{env.A}}', v), 'r1-7-a');
    assert.equal(renderTemplate('no braces}}', v), 'no braces}}');
    const table: Array<[string, TemplateVars, string]> = [
      ['{{env.NOPE}}', v, 'environment variable NOPE is not set (used as {{env.NOPE}})'],
      ['{{index}}', { run: { id: 'r' }, env: {} }, '{{index}} is only available in a send step'],
      ['{{sink.url}}', v, '{{sink.url}} is not known yet'],
      [
        '{{sink.namespace}}',
        { ...v, sink: { url: 'u', smtp: 's', host: 'h', port: 1 } },
        '{{sink.namespace}} is only known in a cluster run',
      ],
      ['{{mock.url}}', v, '{{mock.url}} is not available in this run'],
      ['{{ foo }}', v, `unknown template variable "{{foo}}" (known: ${known})`],
      ['a {{ b', v, 'unclosed "{{" in template'],
    ];
    for (const [text, vars, want] of table) {
      assert.throws(
        () => renderTemplate(text, vars),
        (err: unknown) => err instanceof TemplateError && err.message === want,
        text,
      );
    }
    assert.equal(
      renderTemplate('{{sink.port}} {{sink.namespace}}', {
        ...v,
        sink: { url: 'u', smtp: 's', host: 'h', port: 25, namespace: 'ns' },
      }),
      '25 ns',
    );
  });

  it('placeholder values make a templated regex compile as the real one would', () => {
    assert.equal(renderTemplate('/^{{env.ANY}}+$/', PLACEHOLDER_VARS), '/^x+$/');
  });
});
