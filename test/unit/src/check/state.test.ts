/**
 * The `--state` journal's format, decoded in this process (the CLI's kill -9 tests run it in
 * child processes, where a mutation-testing run sees nothing): exact error texts for every
 * check of the header, the checkpoints and the results, the edges of each bound, what a
 * resume keeps past its checkpoint, and `fingerprintDiff`.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { Checkpoint, Counts } from '../../../../src/check/engine.ts';
import type { CheckResult } from '../../../../src/check/result.ts';
import {
  STATE_CHECKSUM_CHARS,
  STATE_KIND,
  STATE_VERSION,
  StateChain,
  decodeState,
  encodeCheckpoint,
  encodeCompleted,
  encodeHeader,
  fingerprintDiff,
  zeroCheckpoint,
  type StateFingerprint,
} from '../../../../src/check/state.ts';

type Json = Record<string, any>;

const FILE = 'run.state';
const HINT =
  'the state file was damaged or edited: delete it (and the output file) to start over, or pass the state file that belongs to this run';
const VERSION_HINT =
  'finish it with the version that started it, or delete it (and the output file) to start over';

const fingerprint = (): StateFingerprint => ({
  inputs: [
    { path: '/in/a.txt', size: 1000, head: 'ha' },
    { path: '/in/b.csv', size: 500, head: 'hb' },
  ],
  output: '/out/results.jsonl',
  format: 'jsonl',
  column: null,
  options: '["--offline"]',
});

const counts = (index: number, extra: Partial<Counts> = {}): Counts => ({
  read: index,
  written: index,
  duplicates: 0,
  valid: index,
  invalid: 0,
  risky: 0,
  unknown: 0,
  ...extra,
});

function checkpoint(index: number, o: Partial<Checkpoint> = {}): Checkpoint {
  return {
    file: 0,
    offset: index * 10,
    index,
    outputBytes: index * 100,
    counts: counts(index),
    ...o,
  };
}

/** A result with every optional detail present and well-formed. */
function fullResult(index: number): Json {
  return {
    address: `User${index}@Example.com`,
    normalized: `User${index}@example.com`,
    verdict: 'unknown',
    reasons: ['dns_timeout'],
    index,
    checks: {
      syntax: {
        category: 'valid',
        diagnosis: 'valid',
        smtputf8: false,
        idn: true,
        literal: false,
      },
      lists: { disposable: false, role: true, free: false, suggestion: null },
      dns: {
        status: 'timeout',
        implicitMx: false,
        mx: [
          {
            exchange: 'mx1.example.com',
            priority: 10,
            addresses: ['192.0.2.1', '2001:db8::1'],
            private: false,
          },
          { exchange: 'mx2.example.com', priority: 20, addresses: [], private: true },
        ],
        errorCode: 'ETIMEOUT',
      },
      smtp: {
        status: 'greylisted',
        host: 'mx1.example.com',
        code: 451,
        enhanced: '4.7.1',
        message: 'try later',
        catchAll: null,
        attempts: 2,
      },
      provider: { status: 'unknown', value: 'accept_all', httpStatus: 200, attempts: 1 },
    },
  };
}

/** Seals record bodies into a journal's text, each line's checksum chained to the one before. */
function journal(...bodies: string[]): string {
  const chain = new StateChain();
  return bodies.map((b) => chain.seal(b)).join('');
}

/** The header line's body; `fp` as given (undefined leaves the key out). */
const headerOf = (fp: unknown): string =>
  JSON.stringify({ kind: STATE_KIND, version: STATE_VERSION, fingerprint: fp });
const header = (): string => headerOf(fingerprint());
const cpLine = (cp: unknown): string => JSON.stringify({ cp });
const rLine = (r: unknown): string => JSON.stringify({ r });

function assertInvalid(text: string, detail: string): void {
  assert.throws(
    () => decodeState(text, FILE),
    (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'EV_ERR_STATE_INVALID', `${err.code}: ${err.message}`);
      assert.equal(err.message, `state file ${FILE} is not valid: ${detail}`);
      assert.equal(err.hint, HINT);
      return true;
    },
  );
}

function assertVersion(text: string, shown: string): void {
  assert.throws(
    () => decodeState(text, FILE),
    (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'EV_ERR_STATE_INVALID', `${err.code}: ${err.message}`);
      assert.equal(
        err.message,
        `state file ${FILE} has version ${shown}; this version reads ${STATE_VERSION}`,
      );
      assert.equal(err.hint, VERSION_HINT);
      return true;
    },
  );
}

describe('check/state: the journal format', () => {
  describe('lines', () => {
    it('each line is its record, a tab and 16 hex digits chained to the line before', () => {
      const a = new StateChain();
      const one = a.seal('{"x":1}');
      const two = a.seal('{"x":1}');
      assert.match(one, /^\{"x":1\}\t[0-9a-f]{16}\n$/);
      assert.equal(STATE_CHECKSUM_CHARS, 16);
      assert.notEqual(one, two, 'the same record sealed twice differs by its place in the chain');
      // A chain resumed from a line's checksum continues it exactly.
      const resumed = new StateChain(one.slice(one.indexOf('\t') + 1, -1));
      assert.equal(resumed.seal('{"x":1}'), two);
    });

    it('encodes the header, checkpoints and results as one-key JSON records', () => {
      const fp = fingerprint();
      assert.deepEqual(JSON.parse(encodeHeader(fp)), {
        kind: 'kubectl-email-validate/check-state',
        version: 2,
        fingerprint: fp,
      });
      assert.deepEqual(JSON.parse(encodeCheckpoint(checkpoint(3))), { cp: checkpoint(3) });
      const r = fullResult(4) as unknown as CheckResult;
      assert.deepEqual(JSON.parse(encodeCompleted(r)), { r });
    });
  });

  describe('what a resume gets', () => {
    it('a header alone: nothing to resume', () => {
      assert.deepEqual(decodeState(journal(header()), FILE), {
        fingerprint: fingerprint(),
        resume: null,
      });
    });

    it('results before any checkpoint: resumed from the zero checkpoint', () => {
      const s = decodeState(journal(header(), rLine(fullResult(2)), rLine(fullResult(1))), FILE);
      assert.deepEqual(s.resume?.checkpoint, zeroCheckpoint());
      assert.deepEqual(zeroCheckpoint(), {
        file: 0,
        offset: 0,
        index: 0,
        outputBytes: 0,
        counts: { read: 0, written: 0, duplicates: 0, valid: 0, invalid: 0, risky: 0, unknown: 0 },
      });
      assert.deepEqual([...s.resume.completed.keys()], [2, 1]);
      assert.deepEqual(s.resume.completed.get(2), fullResult(2));
    });

    it('keeps only the results past the last checkpoint, whether written before or after it', () => {
      const s = decodeState(
        journal(
          header(),
          rLine(fullResult(2)),
          rLine(fullResult(5)),
          cpLine(checkpoint(3)),
          rLine(fullResult(2)),
          rLine(fullResult(3)),
          rLine(fullResult(4)),
          rLine(fullResult(6)),
        ),
        FILE,
      );
      assert.deepEqual(s.resume?.checkpoint, checkpoint(3));
      assert.deepEqual([...s.resume.completed.keys()], [5, 4, 6]);
      assert.deepEqual(s.resume.completed.get(4), fullResult(4));
    });

    it('a later checkpoint drops the results it covers', () => {
      const s = decodeState(
        journal(
          header(),
          cpLine(checkpoint(1)),
          rLine(fullResult(2)),
          rLine(fullResult(3)),
          rLine(fullResult(4)),
          cpLine(checkpoint(3)),
        ),
        FILE,
      );
      assert.deepEqual(s.resume?.checkpoint, checkpoint(3));
      assert.deepEqual([...s.resume.completed.keys()], [4]);
    });

    it('a torn last line (no newline) is ignored, a complete one is read', () => {
      const whole = journal(header(), cpLine(checkpoint(2)), rLine(fullResult(3)));
      const torn = whole.slice(0, -1);
      assert.deepEqual([...decodeState(whole, FILE).resume!.completed.keys()], [3]);
      assert.deepEqual([...decodeState(torn, FILE).resume!.completed.keys()], []);
      assert.deepEqual(decodeState(torn, FILE).resume?.checkpoint, checkpoint(2));
    });
  });

  describe('files that are not a journal of this version', () => {
    it('an empty file, or one line without newline, has no header', () => {
      assertInvalid('', 'it has no header (empty, or not a check state file)');
      assertInvalid(header(), 'it has no header (empty, or not a check state file)');
    });

    it('a first line without checksum is not a check state file, whatever JSON it holds', () => {
      assertInvalid('{"version":3}\n', 'it is not a check state file');
      assertInvalid('hello\n', 'it is not a check state file');
      // Ours, but unsealed: its version is 2 (or missing, or unreadable), so not an old file either.
      assertInvalid(`${header()}\n`, 'it is not a check state file');
      assertInvalid(`{"kind":"${STATE_KIND}"}\n`, 'it is not a check state file');
      assertInvalid(`{"kind":"${STATE_KIND}",\n`, 'it is not a check state file');
    });

    it('an unsealed header of another version names both versions', () => {
      assertVersion(`${JSON.stringify({ kind: STATE_KIND, version: 1 })}\n`, '1');
      assertVersion(`${JSON.stringify({ kind: STATE_KIND, version: '3' })}\n`, '"3"');
    });

    it('a sealed header of another version names both versions', () => {
      assertVersion(
        journal(JSON.stringify({ kind: STATE_KIND, version: 3, fingerprint: fingerprint() })),
        '3',
      );
    });

    it('a sealed first line that is not our header', () => {
      assertInvalid(journal('{"kind":'), 'line 1 (the header) is not JSON');
      assertInvalid(
        journal(JSON.stringify({ kind: 'other/state', version: 2, fingerprint: fingerprint() })),
        'it is not a check state file',
      );
      assertInvalid(journal('[1]'), 'it is not a check state file');
      assertInvalid(journal('null'), 'it is not a check state file');
    });

    it('a header whose checksum fails', () => {
      const text = journal(header());
      assertInvalid(text.replace('"jsonl"', '"csv"'), 'line 1 (the header) fails its checksum');
    });

    it('a later line without checksum is damage, even when it looks like a header of another version', () => {
      assertInvalid(
        `${journal(header())}${JSON.stringify({ kind: STATE_KIND, version: 1 })}\n`,
        'line 2 has no checksum (edited or damaged)',
      );
    });

    it('a later line whose checksum fails', () => {
      const text = journal(header(), cpLine(checkpoint(1)), cpLine(checkpoint(2)));
      const lines = text.split('\n');
      assertInvalid(
        [lines[0], lines[2], ''].join('\n'),
        'line 2 fails its checksum: it was edited, or a line before it was removed, added or moved',
      );
    });

    it('records that are neither a checkpoint nor a result', () => {
      const neither = 'line 2 is neither a checkpoint nor a result';
      assertInvalid(journal(header(), '{"cp":'), 'line 2 is not JSON');
      assertInvalid(journal(header(), '"cp"'), neither);
      assertInvalid(journal(header(), '{}'), neither);
      assertInvalid(journal(header(), '{"x":1}'), neither);
      assertInvalid(
        journal(header(), JSON.stringify({ cp: checkpoint(1), note: 'extra' })),
        neither,
      );
      assertInvalid(
        journal(header(), JSON.stringify({ r: fullResult(1), cp: checkpoint(1) })),
        neither,
      );
    });
  });

  describe('the header fingerprint', () => {
    const fpCases: Array<[string, (fp: Json) => unknown, string]> = [
      ['missing', () => undefined, 'is missing'],
      ['null', () => null, 'is missing'],
      ['a list', () => [fingerprint()], 'is missing'],
      ['no inputs', (fp) => ({ ...fp, inputs: [] }), 'has no inputs'],
      ['inputs not a list', (fp) => ({ ...fp, inputs: { 0: fp.inputs[0] } }), 'has no inputs'],
      [
        'an input that is a string',
        (fp) => ({ ...fp, inputs: [fp.inputs[0], '/in/b.csv'] }),
        'has an input without path, size and head',
      ],
      [
        'an input that is null',
        (fp) => ({ ...fp, inputs: [null] }),
        'has an input without path, size and head',
      ],
      [
        'an input without path',
        (fp) => ({ ...fp, inputs: [{ size: 1, head: 'h' }] }),
        'has an input without path, size and head',
      ],
      [
        'an input whose size is text',
        (fp) => ({ ...fp, inputs: [{ path: '/a', size: '1', head: 'h' }] }),
        'has an input without path, size and head',
      ],
      [
        'an input whose size is negative',
        (fp) => ({ ...fp, inputs: [{ path: '/a', size: -1, head: 'h' }] }),
        'has an input without path, size and head',
      ],
      [
        'an input whose size is fractional',
        (fp) => ({ ...fp, inputs: [{ path: '/a', size: 1.5, head: 'h' }] }),
        'has an input without path, size and head',
      ],
      [
        'an input without head',
        (fp) => ({ ...fp, inputs: [{ path: '/a', size: 1 }] }),
        'has an input without path, size and head',
      ],
      ['no output', (fp) => ({ ...fp, output: null }), 'has no output'],
      ['no format', (fp) => ({ ...fp, format: 1 }), 'has no format'],
      ['a numeric column', (fp) => ({ ...fp, column: 2 }), 'has a column that is not a string'],
      [
        'a missing column',
        (fp) => ({ ...fp, column: undefined }),
        'has a column that is not a string',
      ],
      ['no options', (fp) => ({ ...fp, options: ['--offline'] }), 'has no options'],
    ];
    for (const [what, edit, detail] of fpCases) {
      it(`refuses a fingerprint: ${what}`, () => {
        assertInvalid(
          journal(headerOf(edit(fingerprint()))),
          `line 1: the header's fingerprint ${detail}`,
        );
      });
    }

    it('accepts a named column, an input of size 0 and a single input', () => {
      const fp: StateFingerprint = {
        ...fingerprint(),
        inputs: [{ path: '/in/empty.csv', size: 0, head: '' }],
        column: 'email',
      };
      assert.deepEqual(decodeState(journal(headerOf(fp)), FILE).fingerprint, fp);
    });
  });

  describe('checkpoints', () => {
    const bad = (cp: unknown, detail: string, before: unknown[] = []): void =>
      assertInvalid(
        journal(header(), ...before.map(cpLine), cpLine(cp)),
        `line ${before.length + 2}: checkpoint ${detail}`,
      );
    const good = (...cps: Checkpoint[]): void => {
      assert.deepEqual(
        decodeState(journal(header(), ...cps.map(cpLine)), FILE).resume?.checkpoint,
        cps.at(-1),
      );
    };

    it('refuses a checkpoint that is not an object', () => {
      bad(5, 'is not an object');
      bad(null, 'is not an object');
      bad([checkpoint(1)], 'is not an object');
    });

    it('refuses positions that are not whole numbers >= 0, naming the field', () => {
      for (const k of ['file', 'offset', 'index', 'outputBytes'] as const) {
        bad({ ...checkpoint(1), [k]: -1 }, `has no valid ${k} (a whole number >= 0)`);
        bad({ ...checkpoint(1), [k]: '1' }, `has no valid ${k} (a whole number >= 0)`);
      }
    });

    it('refuses missing or invalid counts, naming the count', () => {
      bad({ ...checkpoint(1), counts: undefined }, 'has no counts');
      bad({ ...checkpoint(1), counts: 7 }, 'has no counts');
      for (const k of ['read', 'written', 'duplicates', 'valid', 'invalid', 'risky', 'unknown']) {
        const cp: Json = checkpoint(1);
        delete cp.counts[k];
        bad(cp, `has no valid counts.${k}`);
        bad({ ...cp, counts: { ...cp.counts, [k]: 0.5 } }, `has no valid counts.${k}`);
      }
    });

    it('the input it points at exists: the last input is the edge', () => {
      good(checkpoint(1, { file: 1, offset: 5 }));
      bad(checkpoint(1, { file: 2, offset: 5 }), 'points at input 3 of 2');
    });

    it('its offset is inside that input: its size is the edge', () => {
      good(checkpoint(1, { file: 0, offset: 1000 }));
      good(checkpoint(1, { file: 1, offset: 500 }));
      bad(
        checkpoint(1, { file: 0, offset: 1001 }),
        'offset 1001 is past the end of /in/a.txt (1000 bytes)',
      );
      bad(
        checkpoint(1, { file: 1, offset: 501 }),
        'offset 501 is past the end of /in/b.csv (500 bytes)',
      );
    });

    it('its counts add up: read is the index, written + duplicates is read, the verdicts are written', () => {
      good(
        checkpoint(10, {
          counts: {
            read: 10,
            written: 7,
            duplicates: 3,
            valid: 1,
            invalid: 2,
            risky: 3,
            unknown: 1,
          },
        }),
      );
      bad(checkpoint(10, { counts: counts(9) }), 'counts 9 records read but accounts for 10');
      bad(
        checkpoint(10, { counts: counts(10, { written: 8, valid: 8, duplicates: 1 }) }),
        'counts do not add up (written 8 + duplicates 1 != read 10)',
      );
      bad(
        checkpoint(10, { counts: counts(10, { valid: 4, invalid: 2, risky: 2, unknown: 1 }) }),
        'verdict counts do not add up to written (10)',
      );
    });

    it('never goes back: each position may stay where it was', () => {
      const prev = checkpoint(5, { file: 0, offset: 50, outputBytes: 500 });
      good(prev, checkpoint(5, { file: 0, offset: 50, outputBytes: 500 }));
      good(prev, checkpoint(6, { file: 1, offset: 0, outputBytes: 600 }));
      const back = 'goes back before the previous checkpoint';
      bad(checkpoint(4, { file: 0, offset: 60, outputBytes: 600 }), back, [prev]);
      bad(checkpoint(6, { file: 0, offset: 60, outputBytes: 499 }), back, [prev]);
      bad(checkpoint(6, { file: 0, offset: 49, outputBytes: 600 }), back, [prev]);
      bad(checkpoint(6, { file: 0, offset: 60, outputBytes: 600 }), back, [
        checkpoint(5, { file: 1, offset: 10, outputBytes: 500 }),
      ]);
    });
  });

  describe('results', () => {
    type Edit = (r: Json) => void;
    const bad = (edit: Edit, detail: string): void => {
      const r = fullResult(3);
      edit(r);
      assertInvalid(journal(header(), cpLine(checkpoint(2)), rLine(r)), `line 3: result ${detail}`);
    };
    const good = (edit: Edit): void => {
      const r = fullResult(3);
      edit(r);
      const s = decodeState(journal(header(), cpLine(checkpoint(2)), rLine(r)), FILE);
      assert.deepEqual(s.resume?.completed.get(3), r);
    };

    it('a result with every detail reads back as it was written', () => {
      good(() => undefined);
    });

    it('the details beyond syntax are each optional', () => {
      for (const k of ['lists', 'dns', 'smtp', 'provider'])
        good((r) => {
          delete r.checks[k];
        });
      good((r) => {
        r.checks = { syntax: r.checks.syntax };
      });
    });

    it('refuses a result that is not an object, or without index or address', () => {
      assertInvalid(journal(header(), rLine('x')), 'line 2: result is not an object');
      assertInvalid(journal(header(), rLine(null)), 'line 2: result is not an object');
      bad((r) => (r.index = 0), 'has no valid index');
      bad((r) => (r.index = '3'), 'has no valid index');
      bad((r) => delete r.index, 'has no valid index');
      bad((r) => delete r.address, 'has no address');
      bad((r) => (r.normalized = 1), 'has no address');
    });

    it('refuses a verdict that is unknown or does not follow from the reasons', () => {
      bad((r) => (r.verdict = 'great'), 'has an unknown verdict "great"');
      bad((r) => (r.verdict = 2), 'has an unknown verdict 2');
      bad((r) => (r.verdict = 'valid'), 'verdict valid does not follow from its reasons');
      bad((r) => (r.reasons = 'dns_timeout'), 'has an unknown reason');
      bad((r) => (r.reasons = ['trust_me']), 'has an unknown reason');
      // A list holding the reason's name coerces to it as a key: still not a reason.
      bad((r) => (r.reasons = [['dns_timeout']]), 'has an unknown reason');
      bad((r) => (r.reasons = ['toString']), 'has an unknown reason');
      good((r) => {
        r.reasons = [];
        r.verdict = 'valid';
      });
    });

    it('refuses syntax details that are missing, unknown or inconsistent', () => {
      bad((r) => delete r.checks, 'has no syntax details');
      bad((r) => (r.checks = [r.checks]), 'has no syntax details');
      bad((r) => (r.checks.syntax = 'valid'), 'has no syntax details');
      bad((r) => (r.checks.syntax.diagnosis = 7), 'has an unknown syntax diagnosis');
      bad((r) => (r.checks.syntax.diagnosis = 'perfect'), 'has an unknown syntax diagnosis');
      bad((r) => {
        r.checks.syntax.diagnosis = 'perfect';
        delete r.checks.syntax.category;
      }, 'has an unknown syntax diagnosis');
      bad((r) => (r.checks.syntax.category = 'unusual'), 'has an unknown syntax diagnosis');
      good((r) => {
        r.checks.syntax.diagnosis = 'rfc5321_quoted_string';
        r.checks.syntax.category = 'unusual';
      });
      for (const k of ['smtputf8', 'idn', 'literal'])
        bad((r) => (r.checks.syntax[k] = 'no'), 'has syntax flags that are not true or false');
    });

    it('refuses malformed list details, field by field', () => {
      const m = 'has malformed list details';
      bad((r) => (r.checks.lists = null), m);
      bad((r) => (r.checks.lists = true), m);
      for (const k of ['disposable', 'role', 'free']) bad((r) => (r.checks.lists[k] = 1), m);
      bad((r) => (r.checks.lists.suggestion = 5), m);
      bad((r) => delete r.checks.lists.suggestion, m);
      good((r) => (r.checks.lists.suggestion = 'gmail.com'));
    });

    it('refuses malformed DNS details, field by field and in every MX host', () => {
      const m = 'has malformed DNS details';
      bad((r) => (r.checks.dns = null), m);
      bad((r) => (r.checks.dns = 'timeout'), m);
      bad((r) => (r.checks.dns.status = 1), m);
      bad((r) => (r.checks.dns.implicitMx = 'no'), m);
      bad((r) => (r.checks.dns.mx = {}), m);
      bad((r) => (r.checks.dns.errorCode = 110), m);
      bad((r) => (r.checks.dns.mx[1] = null), m);
      bad((r) => (r.checks.dns.mx[1] = 'mx2.example.com'), m);
      bad((r) => (r.checks.dns.mx[1].exchange = 1), m);
      bad((r) => (r.checks.dns.mx[1].priority = '20'), m);
      bad((r) => (r.checks.dns.mx[1].private = 0), m);
      bad((r) => (r.checks.dns.mx[1].addresses = '192.0.2.1'), m);
      bad((r) => (r.checks.dns.mx[0].addresses = ['192.0.2.1', 3232235777]), m);
      good((r) => delete r.checks.dns.errorCode);
      good((r) => (r.checks.dns.mx = []));
    });

    it('refuses malformed SMTP details, field by field', () => {
      const m = 'has malformed SMTP details';
      bad((r) => (r.checks.smtp = null), m);
      bad((r) => (r.checks.smtp = 'deliverable'), m);
      bad((r) => (r.checks.smtp.status = 250), m);
      bad((r) => (r.checks.smtp.attempts = -1), m);
      bad((r) => delete r.checks.smtp.attempts, m);
      bad((r) => (r.checks.smtp.code = '451'), m);
      for (const k of ['host', 'enhanced', 'message']) bad((r) => (r.checks.smtp[k] = 4), m);
      bad((r) => (r.checks.smtp.catchAll = 'yes'), m);
      bad((r) => delete r.checks.smtp.catchAll, m);
      good((r) => (r.checks.smtp.catchAll = true));
      good((r) => (r.checks.smtp.catchAll = false));
      good((r) => {
        for (const k of ['host', 'code', 'enhanced', 'message']) delete r.checks.smtp[k];
      });
    });

    it('refuses malformed provider details, field by field', () => {
      const m = 'has malformed provider details';
      bad((r) => (r.checks.provider = null), m);
      bad((r) => (r.checks.provider.status = true), m);
      bad((r) => (r.checks.provider.attempts = 1.5), m);
      bad((r) => (r.checks.provider.httpStatus = '200'), m);
      bad((r) => (r.checks.provider.value = 1), m);
      good((r) => {
        delete r.checks.provider.httpStatus;
        delete r.checks.provider.value;
      });
    });
  });

  describe('fingerprintDiff', () => {
    it('names each field that differs, and nothing when they match', () => {
      const a = fingerprint();
      assert.deepEqual(fingerprintDiff(a, fingerprint()), []);
      const inputs = a.inputs;
      const cases: Array<[Partial<StateFingerprint>, string[]]> = [
        [{ inputs: [inputs[0]] }, ['input files']],
        [{ inputs: [...inputs, inputs[1]] }, ['input files']],
        [{ inputs: [inputs[0], { ...inputs[1], path: '/in/c.csv' }] }, ['input files']],
        // A different path hides a different content: the file list is what changed.
        [{ inputs: [{ ...inputs[0], path: '/x', head: 'x' }, inputs[1]] }, ['input files']],
        [{ inputs: [inputs[0], { ...inputs[1], head: 'other' }] }, ['input content']],
        [{ inputs: [inputs[0], { ...inputs[1], size: 501 }] }, ['input content']],
        [{ output: '/out/other.jsonl' }, ['output file']],
        [{ format: 'csv' }, ['--output']],
        [{ column: 'email' }, ['--column']],
        [{ options: '[]' }, ['check options']],
        [
          { output: '/o', format: 'csv', column: 'mail', options: '[]' },
          ['output file', '--output', '--column', 'check options'],
        ],
      ];
      for (const [change, want] of cases)
        assert.deepEqual(fingerprintDiff(a, { ...a, ...change }), want, JSON.stringify(change));
    });
  });
});
