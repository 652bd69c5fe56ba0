import assert from 'node:assert/strict';
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
