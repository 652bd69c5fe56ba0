/**
 * The start banner, line by line: SMTP with STARTTLS and AUTH notes, the API, what auth there is
 * (none, a generated token shown, a given token not shown), and the inbox URL a browser can
 * open (wildcard hosts as loopback, IPv6 in brackets, a generated token in the fragment).
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import type { SinkConfig } from '../../../sink/config.ts';
import { describeEndpoints } from '../../../sink/endpoints.ts';

/** What the banner reads of a config; the rest of SinkConfig plays no part. */
const config = (o: Partial<SinkConfig>): SinkConfig => {
  const read = {
    host: '127.0.0.1',
    token: null,
    tokenGenerated: false,
    tls: null,
    authRequired: false,
    ...o,
  };
  return read as SinkConfig;
};
const PORTS = { smtpPort: 2525, httpPort: 8025 };
const banner = (o: Partial<SinkConfig>) => describeEndpoints(config(o), PORTS);

describe('sink/endpoints: the start banner', () => {
  it('without auth: says so, and the inbox has no token', () => {
    assert.equal(
      banner({}),
      [
        'SMTP  smtp://127.0.0.1:2525',
        'API   http://127.0.0.1:8025',
        'auth  none (--no-auth): anyone who can reach the API can read the mail',
        'inbox http://127.0.0.1:8025/',
        '',
      ].join('\n'),
    );
  });

  it('a generated token is printed and rides, encoded, in the inbox fragment', () => {
    assert.equal(
      banner({ token: 'a+b/c', tokenGenerated: true }),
      [
        'SMTP  smtp://127.0.0.1:2525',
        'API   http://127.0.0.1:8025',
        'token a+b/c',
        'inbox http://127.0.0.1:8025/#token=a%2Bb%2Fc',
        '',
      ].join('\n'),
    );
  });

  it('a token the user gave is neither printed nor put in the URL', () => {
    assert.equal(
      banner({ token: 'secret', tokenGenerated: false }),
      'SMTP  smtp://127.0.0.1:2525\nAPI   http://127.0.0.1:8025\ninbox http://127.0.0.1:8025/\n',
    );
  });

  it('notes STARTTLS, a self-signed certificate and AUTH on the SMTP line', () => {
    const tls = { key: 'k', cert: 'c', selfSigned: false };
    assert.match(banner({ tls }), /^SMTP {2}smtp:\/\/127\.0\.0\.1:2525 \(STARTTLS\)\n/);
    assert.match(
      banner({ tls: { ...tls, selfSigned: true }, authRequired: true }),
      /^SMTP {2}smtp:\/\/127\.0\.0\.1:2525 \(STARTTLS, self-signed certificate\) \(AUTH required\)\n/,
    );
    assert.match(
      banner({ authRequired: true }),
      /^SMTP {2}smtp:\/\/127\.0\.0\.1:2525 \(AUTH required\)\n/,
    );
  });

  it('wildcard hosts print as they are, with a loopback inbox; IPv6 goes in brackets', () => {
    assert.deepEqual(
      banner({ host: '0.0.0.0' })
        .split('\n')
        .filter((l) => /^(SMTP|API|inbox)/.test(l)),
      ['SMTP  smtp://0.0.0.0:2525', 'API   http://0.0.0.0:8025', 'inbox http://127.0.0.1:8025/'],
    );
    assert.deepEqual(
      banner({ host: '::' })
        .split('\n')
        .filter((l) => /^(SMTP|API|inbox)/.test(l)),
      ['SMTP  smtp://:::2525', 'API   http://:::8025', 'inbox http://[::1]:8025/'],
    );
    assert.deepEqual(
      banner({ host: 'fd00::1' })
        .split('\n')
        .filter((l) => /^(SMTP|API|inbox)/.test(l)),
      [
        'SMTP  smtp://[fd00::1]:2525',
        'API   http://[fd00::1]:8025',
        'inbox http://[fd00::1]:8025/',
      ],
    );
  });
});
