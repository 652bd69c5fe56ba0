/**
 * The production relay (nodemailer, one connection per release) against a real
 * sink on loopback that offers STARTTLS with a self-signed certificate and
 * requires AUTH: what a release to a typical test relay meets.
 */
import assert from 'node:assert/strict';
import { release, smtpRelay } from '../../../../../sink/http/mailhog/release.ts';
import { startSink, silentLogger, type RunningSink } from '../../../../../sink/index.ts';
import { isEmailValidateError } from '../../../../../src/errors.ts';
import type { SinkEvent } from '../../../../../src/protocol.ts';
import { FakeSinkContext, MemoryLogger } from '../../../../support/fake-sink-context.ts';

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

describe('release (unit: a relay that fails)', () => {
  it('a failure is recorded (error cut at 500), logged in full, and thrown with the reason cut at 300 and a hint', async () => {
    const ctx = new FakeSinkContext();
    const logger = new MemoryLogger();
    const reason = `554 ${'x'.repeat(996)}`;
    const raw = Buffer.from('Subject: s\r\n\r\nbody\r\n');
    const thrown = await release(
      ctx,
      async () => {
        throw new Error(reason);
      },
      [{ host: 'relay.example', port: null }],
      'mailhog.example',
      logger,
      'mailpit',
      'id-1',
      raw,
      'relay.example',
      2525,
      ['x@example.net'],
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(isEmailValidateError(thrown));
    assert.deepEqual(
      [thrown.code, thrown.message, thrown.hint],
      [
        'EV_ERR_RELEASE_FAILED',
        `the SMTP server relay.example:2525 refused the release: ${reason.slice(0, 300)}`,
        'check the relay and its log',
      ],
    );
    const events = ctx.events
      .replaySince(0)
      .events.filter((e): e is SinkEvent<'message.released'> => e.type === 'message.released');
    assert.deepEqual(
      events.map((e) => e.data),
      [
        {
          id: 'id-1',
          host: 'relay.example',
          port: 2525,
          to: ['x@example.net'],
          api: 'mailpit',
          outcome: 'failed',
          error: reason.slice(0, 500),
        },
      ],
    );
    assert.deepEqual(logger.lines, [
      {
        level: 'warn',
        msg: 'release failed',
        fields: { id: 'id-1', host: 'relay.example', port: 2525, error: reason },
      },
    ]);
  });
});
