import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { optionsFromArgv } from '../../../sink/argv.ts';
import { resolveSinkConfig } from '../../../sink/config.ts';
import { EventLog } from '../../../sink/event-log.ts';
import {
  SINK_OPTIONS,
  badOption,
  formatByteSize,
  optionLabel,
  optionRows,
  optionsFromEnv,
  optionsFromFlagValues,
  parseByteSize,
  parseUsers,
} from '../../../sink/options.ts';
import { isEmailValidateError } from '../../../src/errors.ts';
import type { SinkOptionKey, SinkOptionSpec } from '../../../sink/options.ts';
import { sinkOptionFlags } from '../../../plugin/lib/sink-option-flags.ts';
import { renderedDefault } from '../../../src/manifests.ts';
import {
  SINK_OPTIONS_DOC,
  documentedSinkOptionsTable,
  renderSinkOptionsTable,
} from '../../support/render-sink-options.ts';

const rows = optionRows();

/** A text each option's parser accepts, and the value it stands for. */
function sample(key: SinkOptionKey, spec: SinkOptionSpec): [string, unknown] {
  switch (spec.type) {
    case 'port':
      return ['2525', 2525];
    case 'integer':
      return ['1234', 1234];
    case 'size':
      return ['2MiB', 2 * 1024 * 1024];
    case 'duration':
      return ['90s', 90_000];
    case 'boolean':
      return ['true', true];
    case 'users':
      return ['u:p', [{ user: 'u', password: 'p' }]];
    case 'choice':
      return [spec.choices!.at(-1)!, spec.choices!.at(-1)];
    default:
      return [`/some/${key}`, `/some/${key}`];
  }
}

describe('sink options table', () => {
  it('docs/sink.md shows the table rendered from sink/options.ts (node test/support/render-sink-options.ts)', () => {
    const documented = documentedSinkOptionsTable(readFileSync(SINK_OPTIONS_DOC, 'utf8'));
    assert.notEqual(documented, null, 'docs/sink.md has the generated options block');
    assert.equal(documented, renderSinkOptionsTable());
  });

  it('every row has a unique flag and variable, and a default inside its range', () => {
    const flags = rows.map(([, s]) => s.flag).filter((f) => f !== null);
    const envs = rows.map(([, s]) => s.env);
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(new Set(envs).size, envs.length);
    for (const [key, spec] of rows) {
      assert.match(spec.env, /^EV_[A-Z_]+$/, key);
      assert.ok(spec.help.length > 10, `${key} has help`);
      if (typeof spec.default === 'number')
        assert.ok(
          spec.default >= spec.min! && spec.default <= spec.max!,
          `${key} default in range`,
        );
      for (const other of [...(spec.exclusive ?? []), ...(spec.dependsOn ?? [])])
        assert.ok(other in SINK_OPTIONS, `${key} refers to ${other}`);
    }
  });

  it('the in-cluster argv, the environment and the CLI flags read every option the same way', () => {
    for (const [key, spec] of rows) {
      const [text, value] = sample(key, spec);
      assert.deepEqual(
        optionsFromEnv({ [spec.env]: text }),
        { [key]: value },
        `${spec.env}=${text}`,
      );
      if (spec.flag === null) continue;
      assert.ok(spec.flag in sinkOptionFlags, `the sink command has --${spec.flag}`);
      const argv = spec.type === 'boolean' ? [`--${spec.flag}`] : [`--${spec.flag}`, text];
      assert.deepEqual(optionsFromArgv(argv), { [key]: value }, argv.join(' '));
      const raw = spec.type === 'boolean' ? true : spec.type === 'users' ? [text] : text;
      assert.deepEqual(
        optionsFromFlagValues({ [spec.flag]: raw }),
        { [key]: value },
        `oclif --${spec.flag}`,
      );
    }
    assert.equal(
      Object.keys(sinkOptionFlags).length,
      rows.filter(([, s]) => s.flag !== null).length,
    );
  });

  it('bad text is refused naming the option, its flag and its variable, from argv as from the environment', () => {
    for (const [key, spec] of rows.filter(([, s]) =>
      ['port', 'integer', 'size', 'duration', 'choice'].includes(s.type),
    )) {
      const pattern = new RegExp(
        `^${key} \\(--${spec.flag}, ${spec.env}\\) must be .*, got "nope"$`,
      );
      assert.throws(
        () => optionsFromEnv({ [spec.env]: 'nope' }),
        (err: Error & { code?: string }) =>
          err.code === 'EV_ERR_INVALID_OPTION' && pattern.test(err.message),
        spec.env,
      );
      assert.throws(
        () => optionsFromArgv([`--${spec.flag}`, 'nope']),
        (err: Error & { code?: string }) =>
          err.code === 'EV_ERR_INVALID_OPTION' && pattern.test(err.message),
        `--${spec.flag}`,
      );
    }
  });

  it('resolveSinkConfig applies the table defaults and ranges', () => {
    const config = resolveSinkConfig({ name: 'sink.test' }) as unknown as Record<string, unknown>;
    for (const [key, spec] of rows) {
      if (typeof spec.default === 'number' || key === 'host' || key === 'logLevel')
        assert.equal(config[key], spec.default, key);
      if (spec.max !== undefined && typeof spec.default === 'number') {
        assert.throws(
          () => resolveSinkConfig({ name: 'sink.test', [key]: spec.max! + 1 }),
          /must be a whole number from/,
          `${key} above its range`,
        );
      }
    }
  });

  it("the cluster manifests set only variables the sink reads (its options, and the bootstrap's own)", () => {
    const bootstrap = new Set(['EV_BUNDLE_DIR', 'EV_WORK_DIR']);
    const known = new Set(rows.map(([, spec]) => spec.env));
    const set = [...renderedDefault().matchAll(/name: (EV_[A-Z_]+)/g)].map((m) => m[1]);
    assert.ok(set.length >= 5, `found ${set.join(', ')}`);
    assert.deepEqual(
      set.filter((name) => !known.has(name) && !bootstrap.has(name)),
      [],
    );
  });

  it('keeps the documented event window of 50,000 events, in the config and in a bare EventLog', () => {
    assert.equal(SINK_OPTIONS.eventWindow.default, 50_000);
    assert.equal(resolveSinkConfig({ name: 'sink.test' }).eventWindow, 50_000);
    const log = new EventLog();
    for (let i = 0; i < 50_001; i++) log.append('messages.cleared', { count: i });
    assert.equal(log.oldestSeq, 2, 'the first of 50,001 events fell out of the window');
  });
});

/** The message and details of the EV_ERR_INVALID_OPTION `fn` throws. */
function invalidOption(fn: () => unknown): { message: string; details: unknown } {
  try {
    fn();
  } catch (err) {
    assert.ok(isEmailValidateError(err) && err.code === 'EV_ERR_INVALID_OPTION', String(err));
    return { message: err.message, details: err.details };
  }
  assert.fail('no error');
}

describe('sink options: reading one value', () => {
  it('an option is named with its flag and variable, or only the one it has', () => {
    assert.equal(optionLabel('maxBytes'), 'maxBytes (--max-bytes, EV_MAX_BYTES)');
    assert.equal(optionLabel('parseInWorker'), 'parseInWorker (EV_PARSE_IN_WORKER)');
    assert.equal(optionLabel('nope'), 'nope');
    assert.deepEqual(
      invalidOption(() => badOption('parseInWorker', 'is wrong')),
      {
        message: 'parseInWorker (EV_PARSE_IN_WORKER) is wrong',
        details: { option: 'parseInWorker', flag: null, env: 'EV_PARSE_IN_WORKER' },
      },
    );
    assert.deepEqual(
      invalidOption(() => badOption('nope', 'is wrong', 0)),
      {
        message: 'nope is wrong, got 0',
        details: { option: 'nope', flag: null, env: null },
      },
    );
  });

  it('sizes: bytes or K/M/G with an optional i and B, in any case, spaces around; nothing else', () => {
    const cases: [string | number, number | null][] = [
      [5, 5],
      [0, 0],
      [-1, null],
      [1.5, null],
      [2 ** 53, null],
      ['7', 7],
      ['1b', 1],
      ['1k', 1024],
      [' 1 KiB ', 1024],
      ['1.5k', 1536],
      ['1.25M', 1.25 * 1024 ** 2],
      ['2g', 2 * 1024 ** 3],
      ['2GB', 2 * 1024 ** 3],
      ['x1', null],
      ['1x', null],
      ['1kx', null],
      ['1.k', null],
      ['', null],
    ];
    for (const [raw, bytes] of cases) assert.equal(parseByteSize(raw), bytes, JSON.stringify(raw));
  });

  it('sizes print in the largest unit that divides them', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1500, '1500'],
      [1536, '1536'],
      [2048, '2KiB'],
      [3 * 1024 ** 2, '3MiB'],
      [3 * 1024 ** 3, '3GiB'],
      [1024 ** 3 + 1024, '1048577KiB'],
    ];
    for (const [bytes, text] of cases) assert.equal(formatByteSize(bytes), text);
  });

  it('users: pairs split on commas and lines, trimmed, blank and # lines skipped, the password may hold a colon', () => {
    assert.deepEqual(parseUsers('users', ' a:b , c:d:e\n\n  # note\n#x:y\nf:g#\n'), [
      { user: 'a', password: 'b' },
      { user: 'c', password: 'd:e' },
      { user: 'f', password: 'g#' },
    ]);
    for (const raw of [':p', 'nopair'])
      assert.equal(
        invalidOption(() => parseUsers('users', raw)).message,
        'users (--auth-user, EV_AUTH_USERS) must list user:password pairs',
      );
  });

  it('booleans, integers and choices from the environment: exact words, digits only, the listed choices', () => {
    for (const [raw, value] of [
      ['1', true],
      ['TRUE', true],
      ['yes', true],
      ['on', true],
      ['0', false],
      ['false', false],
      ['No', false],
      ['off', false],
    ] as const)
      assert.deepEqual(optionsFromEnv({ EV_NO_AUTH: raw }), { noAuth: value }, raw);
    for (const raw of ['xtrue', 'truex', 'offx'])
      assert.equal(
        invalidOption(() => optionsFromEnv({ EV_NO_AUTH: raw })).message,
        `noAuth (--no-auth, EV_NO_AUTH) must be true or false, got ${JSON.stringify(raw)}`,
      );
    assert.deepEqual(optionsFromEnv({ EV_SMTP_PORT: ' 25 ' }), { smtpPort: 25 });
    for (const raw of ['x25', '25x', 'x 25'])
      assert.equal(
        invalidOption(() => optionsFromEnv({ EV_SMTP_PORT: raw })).message,
        `smtpPort (--smtp-port, EV_SMTP_PORT) must be a whole number, got ${JSON.stringify(raw)}`,
      );
    assert.deepEqual(optionsFromEnv({ EV_SMTP_PORT: '', EV_NO_AUTH: '' }), {}, 'empty is unset');
    assert.equal(
      invalidOption(() => optionsFromEnv({ EV_LOG_LEVEL: 'loud' })).message,
      'logLevel (--log-level, EV_LOG_LEVEL) must be one of debug, info, warn, error, silent, got "loud"',
    );
  });

  it('flags: a boolean flag given is on, false or absent is unset; --auth-user once or repeated', () => {
    assert.deepEqual(optionsFromFlagValues({ 'no-auth': false }), {});
    assert.deepEqual(optionsFromFlagValues({ 'no-auth': 'no' }), { noAuth: true });
    assert.deepEqual(optionsFromFlagValues({ 'auth-user': 'a:b' }), {
      users: [{ user: 'a', password: 'b' }],
    });
    assert.deepEqual(optionsFromFlagValues({ 'auth-user': ['a:b', 'c:d'] }), {
      users: [
        { user: 'a', password: 'b' },
        { user: 'c', password: 'd' },
      ],
    });
  });
});
