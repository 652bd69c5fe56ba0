import assert from 'node:assert/strict';
import { terminalBlock, terminalLine } from '../../../src/terminal-text.ts';

describe('terminal-safe text (src/terminal-text.ts)', () => {
  const lines: Array<[string, string, string]> = [
    // input, as spaces, as escapes
    ['plain', 'plain', 'plain'],
    ['evil\u001b[2Jsubject', 'evil [2Jsubject', 'evil\\u001b[2Jsubject'],
    ['a\r\nb\tc', 'a b c', 'a\\u000d b c'],
    ['nul\u0000del\u007fc1\u009b', 'nul del c1 ', 'nul\\u0000del\\u007fc1\\u009b'],
    ['admin\u202e\u2066txt.exe\u2069', 'admin txt.exe ', 'admin\\u202e\\u2066txt.exe\\u2069'],
    ['lrm\u200erlm\u200falm\u061c', 'lrm rlm alm ', 'lrm\\u200erlm\\u200falm\\u061c'],
    ['ünïcödé ✓ 日本', 'ünïcödé ✓ 日本', 'ünïcödé ✓ 日本'],
  ];
  for (const [input, spaced, escaped] of lines) {
    it(`one line: ${JSON.stringify(input)}`, () => {
      assert.equal(terminalLine(input), spaced);
      assert.equal(terminalLine(input, { show: 'escape' }), escaped);
    });
  }

  it('cuts long lines and takes null', () => {
    assert.equal(terminalLine('x'.repeat(10), { max: 5 }), 'xxxx…');
    assert.equal(terminalLine(null), '');
    assert.equal(terminalLine(undefined), '');
  });

  it('a block keeps its lines and tabs and marks everything else unsafe', () => {
    assert.equal(
      terminalBlock('one\r\ntwo\n\tthree\u001b[31m\u202eend'),
      'one\ntwo\n\tthree\ufffd[31m\ufffdend',
    );
  });

  it('cuts only text longer than max, to exactly max characters', () => {
    assert.equal(terminalLine('abcde', { max: 5 }), 'abcde');
    assert.equal(terminalLine('abcdef', { max: 5 }), 'abcd…');
  });
});
