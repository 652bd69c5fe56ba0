/**
 * The production relay (nodemailer, one connection per release) against a real
 * sink on loopback that offers STARTTLS with a self-signed certificate and
 * requires AUTH: what a release to a typical test relay meets.
 */
import assert from 'node:assert/strict';
import { smtpRelay } from '../../../../../sink/http/mailhog/release.ts';
import { startSink, silentLogger, type RunningSink } from '../../../../../sink/index.ts';

describe('smtpRelay (unit: a real sink on loopback as the relay)', function () {
  this.timeout(30_000);
  let relay: RunningSink | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('upgrades to TLS despite a self-signed certificate and authenticates; the envelope is the one given', async () => {
    relay = await startSink({
      logger: silentLogger,
      noAuth: true,
      tlsSelfSigned: true,
      users: [{ user: 'relay-user', password: 'relay-pass' }],
      authRequired: true,
    });
    const raw = Buffer.from(
      'From: a@example.com\r\nTo: b@example.com\r\nSubject: relayed\r\n\r\nbody\r\n',
    );
    await smtpRelay({
      host: '127.0.0.1',
      port: relay.smtpPort,
      from: 'nobody@mailhog.example',
      to: ['ext@example.net'],
      raw,
      name: 'mailhog.example',
      auth: { user: 'relay-user', pass: 'relay-pass', method: 'PLAIN' },
    });
    const [m] = relay.context.store.list(0, 1).items;
    assert.deepEqual(
      [
        m.subject,
        m.envelope.tls,
        m.envelope.authUser,
        m.envelope.helo,
        m.envelope.mailFrom?.address,
        m.envelope.rcptTo.map((r) => r.address),
      ],
      [
        'relayed',
        true,
        'relay-user',
        'mailhog.example',
        'nobody@mailhog.example',
        ['ext@example.net'],
      ],
    );
    assert.deepEqual(relay.context.store.raw(m.id), raw);
  });
});
