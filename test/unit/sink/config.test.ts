import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEmailValidateError } from '../../../src/errors.ts';
import { apiTokenFrom } from '../../../src/api-token.ts';
import { optionsFromArgv } from '../../../sink/argv.ts';
import {
  generateToken,
  optionsFromEnv,
  parseByteSize,
  resolveSinkConfig,
} from '../../../sink/config.ts';
import { generateSelfSigned } from '../../../sink/smtp-tls.ts';

function fails(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isEmailValidateError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('sink config', () => {
  it('has the documented defaults, frozen', () => {
    const c = resolveSinkConfig({ name: 'sink.test' });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.smtpPort, 1025);
    assert.equal(c.httpPort, 8025);
    assert.equal(c.maxMessages, 10_000);
    assert.equal(c.maxBytes, 128 * 1024 * 1024);
    assert.equal(c.maxMessageSize, 25 * 1024 * 1024);
    assert.equal(c.tls, null);
    assert.ok(c.tokenGenerated && c.token && c.token.length >= 16);
    assert.ok(Object.isFrozen(c));
  });

  it('a generated token never starts with "-" (it would read as a flag after --token)', () => {
    const tokens = Array.from({ length: 2000 }, () => generateToken());
    assert.ok(
      tokens.every((t) => /^[\w][\w-]{31}$/.test(t)),
      'base64url, 32 characters',
    );
    assert.ok(
      tokens.some((t) => t.includes('-')),
      'dashes elsewhere are kept',
    );
    const leadingDash = Buffer.alloc(24);
    leadingDash[0] = 0xf8; // base64url "-" first
    assert.equal(apiTokenFrom(leadingDash)[0], '_', 'a leading - becomes _');
    assert.equal(apiTokenFrom(Buffer.alloc(24)), 'A'.repeat(32));
  });

  it('reads EV_* variables and names the bad one', () => {
    const o = optionsFromEnv({
      EV_HOST: '0.0.0.0',
      EV_SMTP_PORT: '2525',
      EV_MAX_BYTES: '64MiB',
      EV_NO_AUTH: 'true',
      EV_AUTH_USERS: 'a:b,c:d',
      EV_IDLE_TIMEOUT: '30s',
    });
    assert.deepEqual(o, {
      host: '0.0.0.0',
      smtpPort: 2525,
      maxBytes: 64 * 1024 * 1024,
      noAuth: true,
      users: [
        { user: 'a', password: 'b' },
        { user: 'c', password: 'd' },
      ],
      idleTimeoutMs: 30_000,
    });
    fails(
      () => optionsFromEnv({ EV_SMTP_PORT: 'abc' }),
      'EV_ERR_INVALID_OPTION',
      /smtpPort \(--smtp-port, EV_SMTP_PORT\) must be a whole number, got "abc"/,
    );
    fails(() => optionsFromEnv({ EV_MAX_BYTES: 'lots' }), 'EV_ERR_INVALID_OPTION', /EV_MAX_BYTES/);
    fails(() => optionsFromEnv({ EV_NO_AUTH: 'maybe' }), 'EV_ERR_INVALID_OPTION', /EV_NO_AUTH/);
  });

  it('reads the process flags', () => {
    assert.deepEqual(
      optionsFromArgv([
        '--smtp-port',
        '0',
        '--no-auth',
        '--max-bytes',
        '1g',
        '--auth-user',
        'x:y',
        '--tls-self-signed',
      ]),
      {
        smtpPort: 0,
        noAuth: true,
        maxBytes: 1024 ** 3,
        users: [{ user: 'x', password: 'y' }],
        tlsSelfSigned: true,
      },
    );
    fails(() => optionsFromArgv(['--bogus']), 'EV_ERR_INVALID_OPTION', /bogus/);
  });

  it('an unknown flag in argv points at the sink help', () => {
    assert.throws(
      () => optionsFromArgv(['--bogus']),
      (err: unknown) =>
        isEmailValidateError(err) && err.hint === 'See `kubectl email-validate sink --help`.',
    );
  });

  it('validates ranges and combinations', () => {
    fails(
      () => resolveSinkConfig({ smtpPort: 70000 }),
      'EV_ERR_INVALID_OPTION',
      /smtpPort .* 0 to 65535/,
    );
    fails(() => resolveSinkConfig({ maxMessages: 0 }), 'EV_ERR_INVALID_OPTION', /--max-messages/);
    fails(
      () => resolveSinkConfig({ smtpPort: 2000, httpPort: 2000 }),
      'EV_ERR_INVALID_OPTION',
      /httpPort/,
    );
    fails(
      () => resolveSinkConfig({ noAuth: true, token: 'x'.repeat(20) }),
      'EV_ERR_CONFLICTING_OPTIONS',
      /--no-auth/,
    );
    fails(() => resolveSinkConfig({ token: 'short' }), 'EV_ERR_INVALID_OPTION', /token/);
    fails(
      () => resolveSinkConfig({ authRequired: true }),
      'EV_ERR_INVALID_OPTION',
      /authRequired .*needs at least one user/,
    );
    fails(() => resolveSinkConfig({ tlsCert: '/x' }), 'EV_ERR_INVALID_OPTION', /tlsKey/);
    fails(
      () => resolveSinkConfig({ rules: 'rules:\n  - stage: nope\n    reject: true\n' }),
      'EV_ERR_RULES_INVALID',
      /^rules:2: rules\[0\]\.stage/,
    );
    fails(
      () => resolveSinkConfig({ tokenFile: '/nonexistent/token' }),
      'EV_ERR_FILE_READ',
      /ENOENT/,
    );
    assert.equal(parseByteSize('25 MiB'), 25 * 1024 * 1024);
    assert.equal(parseByteSize('nope'), null);
  });

  it('caps SIZE at --max-bytes, reads token, rules and TLS files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-config-'));
    writeFileSync(join(dir, 'token'), 'abcdefghijklmnopqrstuvwxyz\n');
    writeFileSync(join(dir, 'rules.yaml'), 'rules:\n  - { stage: mail, reject: true }\n');
    const pair = generateSelfSigned(['sink.test']);
    writeFileSync(join(dir, 'cert.pem'), pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
    const c = resolveSinkConfig({
      maxBytes: 4096,
      tokenFile: join(dir, 'token'),
      rulesFile: join(dir, 'rules.yaml'),
      tlsCert: join(dir, 'cert.pem'),
      tlsKey: join(dir, 'key.pem'),
    });
    assert.equal(c.maxMessageSize, 4096);
    assert.equal(c.token, 'abcdefghijklmnopqrstuvwxyz');
    assert.equal(c.tokenGenerated, false);
    assert.match(c.rulesSource, /reject/);
    assert.equal(c.tls?.selfSigned, false);
    writeFileSync(join(dir, 'key.pem'), generateSelfSigned(['other']).key);
    fails(
      () => resolveSinkConfig({ tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') }),
      'EV_ERR_TLS_CONFIG',
      /does not match/,
    );
  });
});

/** The error `fn` throws: an EmailValidateError with exactly this code, message, hint and details. */
function refusedWith(
  fn: () => unknown,
  expected: { code: string; message: string; hint?: string; details?: Record<string, unknown> },
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isEmailValidateError(err), String(err));
    const got: Record<string, unknown> = { code: err.code, message: err.message };
    if (expected.hint !== undefined) got.hint = err.hint;
    if (expected.details !== undefined) got.details = err.details;
    assert.deepEqual(got, expected);
    return true;
  });
}

const OPTION_HINT = 'See `kubectl email-validate sink --help` for the accepted values.';
/** An EV_ERR_INVALID_OPTION for this option, flag and variable. */
function invalid(
  option: string,
  flag: string,
  env: string,
  problem: string,
): Parameters<typeof refusedWith>[1] {
  return {
    code: 'EV_ERR_INVALID_OPTION',
    message: `${option} (${flag}, ${env}) ${problem}`,
    hint: OPTION_HINT,
    details: { option, flag, env },
  };
}

describe('sink config, option by option', () => {
  const ok = (o: Parameters<typeof resolveSinkConfig>[0]) =>
    resolveSinkConfig({ name: 'sink.test', ...o });

  it('host: a name or address without white space', () => {
    for (const host of ['', ' ', 'a b', 'a\tb'])
      refusedWith(
        () => ok({ host }),
        invalid(
          'host',
          '--host',
          'EV_HOST',
          `must be a host name or IP address, got ${JSON.stringify(host)}`,
        ),
      );
    assert.equal(ok({ host: '0.0.0.0' }).host, '0.0.0.0');
    refusedWith(
      () => ok({ host: 5 as unknown as string }),
      invalid('host', '--host', 'EV_HOST', 'must be a host name or IP address, got 5'),
    );
  });

  it('numbers: the bounds of their range are taken, one past them is not', () => {
    assert.equal(ok({ smtpPort: 0, httpPort: 0 }).smtpPort, 0, 'two free ports do not clash');
    assert.equal(ok({ smtpPort: 65535 }).smtpPort, 65535);
    assert.equal(ok({ maxMessages: 1 }).maxMessages, 1);
    refusedWith(
      () => ok({ smtpPort: 65536 }),
      invalid(
        'smtpPort',
        '--smtp-port',
        'EV_SMTP_PORT',
        'must be a whole number from 0 to 65535, got 65536',
      ),
    );
    refusedWith(
      () => ok({ smtpPort: -1 }),
      invalid(
        'smtpPort',
        '--smtp-port',
        'EV_SMTP_PORT',
        'must be a whole number from 0 to 65535, got -1',
      ),
    );
    refusedWith(
      () => ok({ smtpPort: 2000, httpPort: 2000 }),
      invalid('httpPort', '--http-port', 'EV_HTTP_PORT', 'must differ from the SMTP port 2000'),
    );
  });

  it('token: at least 16 printable characters, no space at either end; the option named is the one given', () => {
    assert.equal(ok({ token: 'abcdefghijklmnop' }).token, 'abcdefghijklmnop');
    const problem = 'must be at least 16 printable characters without spaces';
    for (const token of [
      'abcdefghijklmno',
      ' abcdefghijklmnop',
      'abcdefghijklmnop ',
      'abcdefgh ijklmnop',
    ])
      refusedWith(() => ok({ token }), invalid('token', '--token', 'EV_TOKEN', problem));
    const dir = mkdtempSync(join(tmpdir(), 'ev-config-'));
    writeFileSync(join(dir, 'token'), 'short\n');
    refusedWith(
      () => ok({ tokenFile: join(dir, 'token') }),
      invalid('tokenFile', '--token-file', 'EV_TOKEN_FILE', problem),
    );
    refusedWith(() => ok({ tokenFile: join(dir, 'missing') }), {
      code: 'EV_ERR_FILE_READ',
      message: `tokenFile (--token-file, EV_TOKEN_FILE): cannot read ${join(dir, 'missing')}: ENOENT`,
      hint: 'Check the path and its permissions.',
      details: { option: 'tokenFile', path: join(dir, 'missing') },
    });
    refusedWith(() => ok({ noAuth: true, tokenFile: join(dir, 'token') }), {
      code: 'EV_ERR_CONFLICTING_OPTIONS',
      message: '--no-auth cannot be combined with --token or --token-file',
      hint: 'Drop one of them.',
    });
  });

  it('name: a host name of 1 to 253 characters', () => {
    assert.equal(ok({ name: 'a'.repeat(253) }).name, 'a'.repeat(253));
    refusedWith(
      () => ok({ name: 5 as unknown as string }),
      invalid('name', '--name', 'EV_NAME', 'must be a host name, got 5'),
    );
    for (const name of ['', 'a'.repeat(254), 'bad name', 'name!', '!name'])
      refusedWith(
        () => ok({ name }),
        invalid('name', '--name', 'EV_NAME', `must be a host name, got ${JSON.stringify(name)}`),
      );
  });

  it('TLS: certificate and key together, not with --tls-self-signed; a self-signed one names the sink, localhost and the host', () => {
    const together = 'must be given together with --tls-cert/--tls-key';
    refusedWith(
      () => ok({ tlsKey: '/k' }),
      invalid('tlsCert', '--tls-cert', 'EV_TLS_CERT', together),
    );
    refusedWith(
      () => ok({ tlsCert: '/c' }),
      invalid('tlsKey', '--tls-key', 'EV_TLS_KEY', together),
    );
    refusedWith(() => ok({ tlsCert: '/c', tlsKey: '/k', tlsSelfSigned: true }), {
      code: 'EV_ERR_CONFLICTING_OPTIONS',
      message: '--tls-self-signed cannot be combined with --tls-cert/--tls-key',
      hint: 'Drop one of them.',
    });
    const dir = mkdtempSync(join(tmpdir(), 'ev-config-'));
    writeFileSync(join(dir, 'cert.pem'), generateSelfSigned(['sink.test']).cert);
    writeFileSync(join(dir, 'key.pem'), generateSelfSigned(['other']).key);
    assert.throws(
      () => ok({ tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') }),
      (err: unknown) =>
        isEmailValidateError(err) &&
        err.code === 'EV_ERR_TLS_CONFIG' &&
        err.hint === 'Give a PEM certificate and its matching PEM private key.',
    );
    const sans = (host: string) => {
      const c = ok({ host, tlsSelfSigned: true });
      assert.equal(c.tls?.selfSigned, true);
      assert.ok(Object.isFrozen(c.tls));
      return new X509Certificate(c.tls?.cert ?? '').subjectAltName;
    };
    assert.equal(sans('0.0.0.0'), 'DNS:sink.test, DNS:localhost, IP Address:127.0.0.1');
    assert.equal(sans('::'), 'DNS:sink.test, DNS:localhost, IP Address:127.0.0.1');
    assert.equal(sans('10.1.2.3'), 'DNS:sink.test, DNS:localhost, IP Address:10.1.2.3');
    assert.equal(sans('localhost'), 'DNS:sink.test, DNS:localhost');
    assert.equal(ok({}).tls, null);
  });

  it('users: pairs from the options and the file, at most 1000, each with a name and a password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-config-'));
    writeFileSync(join(dir, 'users'), 'c:d\n# a comment\ne:f:g\n');
    const c = ok({
      users: [{ user: 'a', password: 'b' }],
      usersFile: join(dir, 'users'),
      authRequired: true,
    });
    assert.deepEqual(
      [...c.users],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['e', 'f:g'],
      ],
    );
    assert.equal(c.authRequired, true);
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ user: `u${i}`, password: 'p' }));
    assert.equal(ok({ users: many(1000) }).users.size, 1000);
    refusedWith(
      () => ok({ users: many(1001) }),
      invalid('users', '--auth-user', 'EV_AUTH_USERS', 'must list at most 1000 users'),
    );
    writeFileSync(join(dir, 'bad-users'), 'nopair\n');
    refusedWith(
      () => ok({ usersFile: join(dir, 'bad-users') }),
      invalid(
        'usersFile',
        '--auth-users-file',
        'EV_AUTH_USERS_FILE',
        'must list user:password pairs',
      ),
    );
    const pairs = invalid('users', '--auth-user', 'EV_AUTH_USERS', 'must be user:password pairs');
    const bad: unknown[] = [{ user: '', password: 'p' }, { user: 'u' }, { password: 'p' }, null];
    for (const u of bad)
      refusedWith(() => ok({ users: [u] as { user: string; password: string }[] }), pairs);
  });

  it('log level, release targets and CORS origin are checked; the last says what was wrong', () => {
    refusedWith(
      () => ok({ logLevel: 'loud' as 'info' }),
      invalid(
        'logLevel',
        '--log-level',
        'EV_LOG_LEVEL',
        'must be one of debug, info, warn, error, silent, got "loud"',
      ),
    );
    assert.equal(ok({ logLevel: 'debug' }).logLevel, 'debug');
    refusedWith(
      () => ok({ releaseTo: 'smtp.example:99999' }),
      invalid(
        'releaseTo',
        '--release-to',
        'EV_RELEASE_TO',
        'has a port out of range in "smtp.example:99999" (expected HOST[:PORT],…)',
      ),
    );
    refusedWith(() => ok({ releaseTo: 'smtp.example:25', noAuth: true }), {
      code: 'EV_ERR_CONFLICTING_OPTIONS',
      message:
        '--release-to cannot be combined with --no-auth: releases would relay mail for anyone who can reach the API',
      hint: 'Drop --no-auth (the API then needs its token) or drop --release-to.',
    });
    assert.equal(ok({ corsOrigin: 'https://app.example' }).corsOrigin, 'https://app.example');
    refusedWith(
      () => ok({ corsOrigin: 'https://a.example\r\nX: y' }),
      invalid(
        'corsOrigin',
        '--cors-origin',
        'EV_CORS_ORIGIN',
        'must be an origin such as https://app.example or *, got "https://a.example\\r\\nX: y"',
      ),
    );
  });

  it('parsing runs in a worker unless an analyzer is injected (or it is asked for); private link checks are off by default', () => {
    const analyze = () => Promise.reject(new Error('not called'));
    assert.equal(ok({}).parseInWorker, true);
    assert.equal(ok({ analyze }).parseInWorker, false);
    assert.equal(ok({ analyze, parseInWorker: true }).parseInWorker, true);
    assert.equal(ok({}).linkCheckPrivate, false);
    assert.equal(ok({ linkCheckPrivate: true }).linkCheckPrivate, true);
  });
});
