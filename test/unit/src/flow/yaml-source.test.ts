import assert from 'node:assert/strict';
import {
  childPath,
  MAX_FLOW_ALIAS_COUNT,
  MAX_FLOW_NESTING,
  MAX_FLOW_VALUES,
  parseLocatedYaml,
  type YamlProblem,
} from '../../../../src/flow/yaml-source.ts';

const TOO_DEEP = `nested more than ${MAX_FLOW_NESTING} levels deep (MAX_FLOW_NESTING); a flow needs far fewer`;
const open = (n: number): string => '['.repeat(n);

/** `- &a [1,…k]`, then `m` aliases of it, then `extra` plain items: 1 + (1 + k) + m·(2 + k) + extra values. */
function aliasedList(k: number, m: number, extra: number): string {
  return `- &a [${Array<string>(k).fill('1').join(',')}]\n${'- *a\n'.repeat(m)}${'- 1\n'.repeat(extra)}`;
}

describe('flow YAML source (yaml-source)', () => {
  it('builds child paths: identifiers dotted, other keys quoted in brackets', () => {
    const cases: Array<[string, string | number, string]> = [
      ['', 'steps', 'steps'],
      ['', 'a-b_1', 'a-b_1'],
      ['', '_x', '_x'],
      ['', 'a b', '["a b"]'],
      ['', '1a', '["1a"]'],
      ['', 'ab!', '["ab!"]'],
      ['', '!ab', '["!ab"]'],
      ['', '', '[""]'],
      ['', 0, '[0]'],
      ['steps', 2, 'steps[2]'],
      ['steps[2]', 'expect', 'steps[2].expect'],
      ['steps[2]', 'x.y', 'steps[2]["x.y"]'],
      ['a', '<<', 'a["<<"]'],
    ];
    for (const [parent, key, want] of cases)
      assert.equal(childPath(parent, key), want, `${parent} + ${String(key)}`);
  });

  it('parses to plain data and locates values, keys and missing paths by their closest ancestor', () => {
    const y = parseLocatedYaml('x: 1\na:\nb: {c: [1, 2]}\n"a b": {c: 1}\n');
    assert.deepEqual(y.problems, []);
    assert.deepEqual(y.value, { x: 1, a: null, b: { c: [1, 2] }, 'a b': { c: 1 } });
    const at = (line: number, col: number) => ({ line, col });
    assert.deepEqual(y.locate('x'), at(1, 4));
    assert.deepEqual(y.locate('a'), at(2, 3), 'an empty value: just after its key');
    assert.deepEqual(y.locate('b.c[1]'), at(3, 12));
    assert.deepEqual(y.locate('b.c[5]'), at(3, 8), 'a missing item: its list');
    assert.deepEqual(y.locate('b.zz.q'), at(3, 4), 'a missing key two levels down: the map');
    assert.deepEqual(y.locate('["a b"].c'), at(4, 12));
    assert.deepEqual(y.locate('["a b"].d'), at(4, 8));
    assert.deepEqual(y.locate('["a b"]["x y"]'), at(4, 8));
    assert.deepEqual(y.locate('nope'), at(1, 1), 'nothing: the document start');
    assert.deepEqual(y.locate(''), at(1, 1));
    assert.deepEqual(y.locateKey('b.c'), at(3, 5));
    assert.deepEqual(y.locateKey('["a b"].c'), at(4, 9));
    assert.deepEqual(y.locateKey('b.c[1]'), at(3, 12), 'no key: the value');
  });

  it('turns syntax errors and warnings into located problems, with no value', () => {
    const cases: Array<[string, YamlProblem[]]> = [
      [
        'x: 1\nx: 2\n',
        [{ path: '', line: 2, col: 1, message: 'YAML syntax error: Map keys must be unique' }],
      ],
      [
        'x: !foo 1\n',
        [{ path: '', line: 1, col: 4, message: 'YAML warning: Unresolved tag: !foo' }],
      ],
      [
        'x: 1\n  y: 2\nz: 3\n',
        [
          {
            path: '',
            line: 1,
            col: 4,
            message: 'YAML syntax error: Nested mappings are not allowed in compact mappings',
          },
          {
            path: '',
            line: 1,
            col: 4,
            message: 'YAML syntax error: Implicit keys need to be on a single line',
          },
        ],
      ],
    ];
    for (const [source, want] of cases) {
      const y = parseLocatedYaml(source);
      assert.deepEqual(y.problems, want, source);
      assert.equal(y.value, null, source);
    }
  });

  it('refuses merge keys with the key position and keeps the rest', () => {
    const y = parseLocatedYaml('a: &x {k: 1}\nb:\n  <<: *x\n  c: 2\n');
    assert.deepEqual(y.problems, [
      { path: 'b["<<"]', line: 3, col: 3, message: 'merge keys (<<) are not supported' },
    ]);
    assert.deepEqual(y.value, { a: { k: 1 }, b: { c: 2 } });
  });

  it('nests up to MAX_FLOW_NESTING block levels, and says where it goes deeper', () => {
    const blocks = (n: number) => `${'- '.repeat(n)}x\n`;
    assert.deepEqual(parseLocatedYaml(blocks(MAX_FLOW_NESTING)).problems, []);
    const y = parseLocatedYaml(blocks(MAX_FLOW_NESTING + 1));
    assert.deepEqual(y.problems, [
      {
        path: '[0]'.repeat(MAX_FLOW_NESTING + 1),
        line: 1,
        col: 2 * MAX_FLOW_NESTING + 3,
        message: TOO_DEEP,
      },
    ]);
  });

  it('counts the nesting an alias brings in at the place it is used', () => {
    // The anchored list is nested 60 deep under `a` (levels 1 to 60); used under
    // `b` inside n more lists, its innermost list is at level 61 + n (alias + 1).
    const src = (n: number) =>
      `a: &d ${open(60)}${']'.repeat(60)}\nb: ${open(n)}*d${']'.repeat(n)}\n`;
    assert.deepEqual(parseLocatedYaml(src(3)).problems, []);
    const y = parseLocatedYaml(src(4));
    assert.equal(y.problems.length, 1);
    assert.equal(y.problems[0]?.message, TOO_DEEP);
    assert.equal(y.problems[0]?.path, `b${'[0]'.repeat(63)}`);
  });

  it('pre-scans flow brackets: refuses the first one past MAX_FLOW_NESTING at its line and column', () => {
    const fine = `x: ${open(MAX_FLOW_NESTING)}${']'.repeat(MAX_FLOW_NESTING)}\n`;
    assert.deepEqual(parseLocatedYaml(fine).problems, []);
    const cases: Array<[string, string, number, number]> = [
      ['after a line', `a: 1\nx: ${open(MAX_FLOW_NESTING + 1)}`, 2, MAX_FLOW_NESTING + 4],
      ['braces', `x: ${'{'.repeat(MAX_FLOW_NESTING + 1)}`, 1, MAX_FLOW_NESTING + 4],
      ['after a double-quoted scalar over two lines', `x: "a\n  b"\ny: ${open(65)}\n`, 3, 68],
      ['after a single-quoted scalar over two lines', `x: 'a\n  b'\ny: ${open(65)}\n`, 3, 68],
      ['after an escaped quote', `x: "a\\"\n  b"\ny: ${open(65)}\n`, 3, 68],
      ['after an escaped line break', `x: "a\\\n  b"\ny: ${open(65)}\n`, 3, 68],
      ["after a doubled ''", `x: 'a''\n  b'\ny: ${open(65)}\n`, 3, 68],
      // Documented over-count: a '#' or quote inside a plain scalar opens nothing.
      ['a # inside a plain scalar is no comment', `x: a#${open(65)}\n`, 1, 70],
      ["a ' inside a plain scalar opens no quote", `x: a'${open(65)}\n`, 1, 70],
    ];
    for (const [name, source, line, col] of cases) {
      const y = parseLocatedYaml(source);
      assert.deepEqual(y.problems, [{ path: '', line, col, message: TOO_DEEP }], name);
      assert.equal(y.value, null, name);
      assert.deepEqual(y.locate('x'), { line: 1, col: 1 }, name);
      assert.deepEqual(y.locateKey('x'), { line: 1, col: 1 }, name);
    }
  });

  it('pre-scan skips quoted scalars, comments and closed brackets', () => {
    const deep = open(MAX_FLOW_NESTING + 6);
    const cases: Array<[string, unknown]> = [
      [`x: "${deep}"\n`, { x: deep }],
      [`x: "\\"${deep}"\n`, { x: `"${deep}` }],
      [`x: '' ${deep}'\n`.replace("x: ''", "x: '''"), { x: `' ${deep}` }],
      [`x: 1 # ${deep}\n`, { x: 1 }],
      [`x: 1\t# ${deep}\n`, { x: 1 }],
      [`# ${deep}\nx: 1\n`, { x: 1 }],
      [`x: ["${deep}"]\n`, { x: [deep] }],
      [`x: [a,"${deep}"]\n`, { x: ['a', deep] }],
      [`x: {"k": "${deep}"}\n`, { x: { k: deep } }],
      [`x: {"k":"${deep}"}\n`, { x: { k: deep } }],
      [`x: {k: '${deep}'}\n`, { x: { k: deep } }],
      [`x: [${'[],'.repeat(70)}]\n`, { x: Array.from({ length: 70 }, () => []) }],
      [`x: [${'{},'.repeat(70)}]\n`, { x: Array.from({ length: 70 }, () => ({})) }],
    ];
    for (const [source, want] of cases) {
      const y = parseLocatedYaml(source);
      assert.deepEqual(y.problems, [], source.slice(0, 20));
      assert.deepEqual(y.value, want, source.slice(0, 20));
    }
    // A stray closer does not lower the depth below zero.
    const stray = parseLocatedYaml(`x: ]]]${open(MAX_FLOW_NESTING + 1)}\n`);
    assert.ok(stray.problems.some((p) => p.message === TOO_DEEP && p.col === MAX_FLOW_NESTING + 7));
  });

  it('allows MAX_FLOW_ALIAS_COUNT aliases, stops at the next one', () => {
    assert.deepEqual(parseLocatedYaml(aliasedList(1, MAX_FLOW_ALIAS_COUNT, 0)).problems, []);
    const y = parseLocatedYaml(`a: &x 1\nl:\n${'- *x\n'.repeat(MAX_FLOW_ALIAS_COUNT + 1)}z: 5\n`);
    assert.deepEqual(y.problems, [
      {
        path: `l[${MAX_FLOW_ALIAS_COUNT}]`,
        line: MAX_FLOW_ALIAS_COUNT + 3,
        col: 3,
        message: `more than ${MAX_FLOW_ALIAS_COUNT} aliases (MAX_FLOW_ALIAS_COUNT); write the values out or use fewer anchors`,
      },
    ]);
    // Once stopped, nothing more is expanded.
    assert.deepEqual(y.value, {
      a: 1,
      l: [...Array<number>(MAX_FLOW_ALIAS_COUNT).fill(1), null],
      z: null,
    });
  });

  it('allows exactly MAX_FLOW_VALUES values, stops at the next one', () => {
    // 1 + (1 + 1998) + 99 · 2000 = 200,000
    assert.equal(MAX_FLOW_VALUES, 200 + 100 * 1998);
    const ok = parseLocatedYaml(aliasedList(1998, 99, 0));
    assert.deepEqual(ok.problems, []);
    assert.ok(Array.isArray(ok.value) && ok.value.length === 100);
    const y = parseLocatedYaml(aliasedList(1998, 99, 1));
    assert.deepEqual(y.problems, [
      {
        path: '[100]',
        line: 101,
        col: 3,
        message: `expands to more than ${MAX_FLOW_VALUES} values (MAX_FLOW_VALUES); are aliases multiplying a large list?`,
      },
    ]);
  });

  it("reports the YAML parser's own stack exhaustion once, as too deep", () => {
    // Block nesting is not pre-scanned: thousands of levels exhaust the parser's
    // stack (where depends on the stack, so only the line is fixed).
    const y = parseLocatedYaml(`${'- '.repeat(5000)}x\n`);
    assert.equal(y.value, null);
    assert.equal(y.problems.length, 1);
    assert.deepEqual(
      { ...y.problems[0], col: 0 },
      { path: '', line: 1, col: 0, message: TOO_DEEP },
    );
  });

  it('locates a key written without a value at the key', () => {
    const y = parseLocatedYaml('x: 1\ny: { a, b: 1 }\n? z\n');
    assert.deepEqual(y.value, { x: 1, y: { a: null, b: 1 }, z: null });
    assert.deepEqual(y.locate('y.a'), { line: 2, col: 6 });
    assert.deepEqual(y.locate('y.b'), { line: 2, col: 12 });
    assert.deepEqual(y.locate('z'), { line: 3, col: 3 });
  });

  it('pre-scan: quotes after a tab, a line start or a brace; comments end at the line; closers and spaces', () => {
    const deep = open(MAX_FLOW_NESTING + 6);
    const fine: Array<[string, unknown]> = [
      [`x:\t"${deep}"\n`, { x: deep }],
      [`"${deep}": 1\n`, { [deep]: 1 }],
      [`x: {"${deep}": 1}\n`, { x: { [deep]: 1 } }],
      [`x: 1\n# ${deep}\ny: 1\n`, { x: 1, y: 1 }],
    ];
    for (const [source, want] of fine) {
      const y = parseLocatedYaml(source);
      assert.deepEqual(y.problems, [], source.slice(0, 12));
      assert.deepEqual(y.value, want, source.slice(0, 12));
    }
    const tooDeep: Array<[string, number, number]> = [
      [`x: 'a\\'\ny: ${open(65)}\n`, 2, 68],
      [`# c\nx: ${open(65)}\n`, 2, 68],
      [`x: ["a\n  b", ${open(65)}\n`, 2, 70],
      [`x: ['a\n  b', ${open(65)}\n`, 2, 70],
      [`x: 'a'\ny: ${open(65)}\n`, 2, 68],
      [`x: ${'[ '.repeat(65)}\n`, 1, 132],
    ];
    for (const [source, line, col] of tooDeep)
      assert.deepEqual(
        parseLocatedYaml(source).problems,
        [{ path: '', line, col, message: TOO_DEEP }],
        source.slice(0, 12),
      );
  });

  it('locates an alias at its own place, not its anchor', () => {
    const y = parseLocatedYaml('a: &x { k: 1 }\nb: *x\n');
    assert.deepEqual(y.value, { a: { k: 1 }, b: { k: 1 } });
    assert.deepEqual(y.locate('b'), { line: 2, col: 4 });
    assert.deepEqual(y.locate('b.k'), { line: 1, col: 12 });
  });
});
