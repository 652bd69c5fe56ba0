import assert from 'node:assert/strict';
import {
  buildSendGridEvents,
  buildSesNotification,
  buildWebhookRequest,
  DEFAULT_TOPIC_ARN,
  parseDiagnostic,
  type WebhookDeps,
  type WebhookInput,
} from '../../../src/webhook-payloads.ts';
import { summary } from '../../support/message-summary.ts';

const NOW = new Date('2026-11-28T02:00:05.250Z');

function deps(): WebhookDeps & { ids: string[] } {
  let n = 0;
  const ids: string[] = [];
  return {
    ids,
    now: () => NOW,
    newId: () => {
      const id = `id-${++n}`;
      ids.push(id);
      return id;
    },
  };
}

function input(
  event: WebhookInput['event'],
  format: WebhookInput['format'],
  diagnostic?: string,
  message = summary(),
): WebhookInput {
  return {
    format,
    event,
    message,
    recipient: 'asyncbounce+u1@example.org',
    ...(diagnostic !== undefined ? { diagnostic } : {}),
  };
}

describe('webhooks/payloads', () => {
  describe('parseDiagnostic', () => {
    it('splits reply code, enhanced status and text', () => {
      assert.deepEqual(parseDiagnostic('550 5.1.1 user unknown'), {
        code: 550,
        status: '5.1.1',
        text: '550 5.1.1 user unknown',
        transient: false,
      });
      assert.deepEqual(parseDiagnostic('451 4.7.1 try later'), {
        code: 451,
        status: '4.7.1',
        text: '451 4.7.1 try later',
        transient: true,
      });
      assert.equal(parseDiagnostic('552 mailbox full').status, '5.0.0');
      assert.equal(parseDiagnostic('weird').status, '5.0.0');
      assert.equal(parseDiagnostic(undefined).status, '5.1.1');
      assert.equal(parseDiagnostic('x'.repeat(5000)).text.length, 1000);
      assert.equal(parseDiagnostic('550 5.1.1 a\r\nb').text, '550 5.1.1 a b');
      // The sink's bounce rules give DSN-style diagnostics.
      assert.deepEqual(parseDiagnostic('smtp; 550 5.1.1 Recipient address rejected'), {
        code: 550,
        status: '5.1.1',
        text: '550 5.1.1 Recipient address rejected',
        transient: false,
      });
    });
  });

  describe('SendGrid Event Webhook', () => {
    it('delivered: one event with the correlation ids', () => {
      const events = buildSendGridEvents(input('delivered', 'sendgrid'), deps());
      assert.deepEqual(events, [
        {
          email: 'asyncbounce+u1@example.org',
          timestamp: 1795831205,
          'smtp-id': '<order-42.abc@shop.example>',
          sg_event_id: 'id-1',
          sg_message_id: 'order-42.abc@shop.example',
          event: 'delivered',
          response: '250 2.0.0 OK',
          tls: 1,
          ip: '10.0.0.7',
        },
      ]);
    });

    it('bounce: type bounce with status, reason and classification', () => {
      const [e] = buildSendGridEvents(
        input('bounce', 'sendgrid', '550 5.1.1 <asyncbounce+u1@example.org>: user unknown'),
        deps(),
      );
      assert.equal(e.event, 'bounce');
      assert.equal(e.type, 'bounce');
      assert.equal(e.status, '5.1.1');
      assert.equal(e.reason, '550 5.1.1 <asyncbounce+u1@example.org>: user unknown');
      assert.equal(e.bounce_classification, 'Invalid Address');
      assert.equal(e.email, 'asyncbounce+u1@example.org');
      assert.equal(e.timestamp, Math.floor(NOW.getTime() / 1000));
    });

    it('bounce with 5.7.x: type blocked; with 4xx: a deferred event', () => {
      const [blocked] = buildSendGridEvents(
        input('bounce', 'sendgrid', '554 5.7.1 rejected by policy'),
        deps(),
      );
      assert.equal(blocked.type, 'blocked');
      assert.equal(blocked.bounce_classification, 'Reputation');
      const [deferred] = buildSendGridEvents(
        input('bounce', 'sendgrid', '451 4.7.1 greylisted'),
        deps(),
      );
      assert.equal(deferred.event, 'deferred');
      assert.equal(deferred.response, '451 4.7.1 greylisted');
      assert.equal(deferred.attempt, '1');
    });

    it('dropped: reason defaults to "Bounced Address"', () => {
      const [e] = buildSendGridEvents(input('dropped', 'sendgrid'), deps());
      assert.equal(e.event, 'dropped');
      assert.equal(e.reason, 'Bounced Address');
      assert.equal(e.status, '5.0.0');
    });

    it('complaint: spamreport', () => {
      const [e] = buildSendGridEvents(input('complaint', 'sendgrid'), deps());
      assert.equal(e.event, 'spamreport');
    });

    it('without a Message-ID the sink id stands in', () => {
      const [e] = buildSendGridEvents(
        input('delivered', 'sendgrid', undefined, summary({ messageId: null })),
        deps(),
      );
      assert.equal(e.sg_message_id, 'msg-0001');
      assert.equal(e['smtp-id'], '<msg-0001@sink>');
    });

    it('X-SMTPAPI unique_args and category appear in the event, without overriding SendGrid fields', () => {
      const headers = [
        { name: 'From', value: 'a@shop.example' },
        {
          name: 'X-SMTPAPI',
          value: JSON.stringify({
            unique_args: { user_id: '42', order: 7, event: 'spoof', sg_x: 'no', nested: { a: 1 } },
            category: ['invoice', 3, 'eu'],
          }),
        },
      ];
      const [e] = buildSendGridEvents({ ...input('bounce', 'sendgrid'), headers }, deps());
      assert.equal(e.user_id, '42');
      assert.equal(e.order, '7');
      assert.equal(e.event, 'bounce');
      assert.equal(e.sg_x, undefined);
      assert.equal(e.nested, undefined);
      assert.deepEqual(e.category, ['invoice', 'eu']);
      for (const bad of [
        'not json',
        '[1,2]',
        'null',
        `{"unique_args": {"a": "${'x'.repeat(20_000)}"}}`,
      ]) {
        const [plain] = buildSendGridEvents(
          { ...input('delivered', 'sendgrid'), headers: [{ name: 'X-SMTPAPI', value: bad }] },
          deps(),
        );
        assert.deepEqual(Object.keys(plain).sort(), [
          'email',
          'event',
          'ip',
          'response',
          'sg_event_id',
          'sg_message_id',
          'smtp-id',
          'timestamp',
          'tls',
        ]);
      }
    });

    it('request: a JSON array with a JSON content type', () => {
      const req = buildWebhookRequest(input('bounce', 'sendgrid'), deps());
      assert.equal(req.headers['content-type'], 'application/json');
      const body = JSON.parse(req.body) as unknown[];
      assert.ok(Array.isArray(body));
      assert.equal(body.length, 1);
    });
  });

  describe('Amazon SES via SNS', () => {
    it('Bounce: notification fields, mail object and bouncedRecipients', () => {
      const n = buildSesNotification(
        input('bounce', 'ses', '550 5.1.1 user unknown'),
        deps(),
      ) as Record<string, any>;
      assert.equal(n.notificationType, 'Bounce');
      assert.deepEqual(Object.keys(n), ['notificationType', 'mail', 'bounce']);
      assert.deepEqual(n.mail, {
        timestamp: '2026-11-28T02:00:00.000Z',
        messageId: 'order-42.abc@shop.example',
        source: 'noreply@shop.example',
        sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/shop.example',
        sourceIp: '10.0.0.7',
        sendingAccountId: '123456789012',
        destination: ['asyncbounce+u1@example.org', 'other@example.org'],
        headersTruncated: false,
        headers: [
          { name: 'From', value: 'Shop <noreply@shop.example>' },
          { name: 'To', value: 'asyncbounce+u1@example.org, other@example.org' },
          { name: 'Subject', value: 'Your order' },
          { name: 'Message-ID', value: '<order-42.abc@shop.example>' },
        ],
        commonHeaders: {
          from: ['Shop <noreply@shop.example>'],
          to: ['asyncbounce+u1@example.org', 'other@example.org'],
          messageId: '<order-42.abc@shop.example>',
          subject: 'Your order',
        },
      });
      assert.deepEqual(n.bounce, {
        bounceType: 'Permanent',
        bounceSubType: 'NoEmail',
        bouncedRecipients: [
          {
            emailAddress: 'asyncbounce+u1@example.org',
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
        timestamp: NOW.toISOString(),
        feedbackId: 'id-1',
        reportingMTA: 'dsn; email-sink.email-validate.local',
      });
    });

    it('Bounce: 4xx is Transient, other 5xx General, dropped is Permanent/Suppressed', () => {
      const t = buildSesNotification(
        input('bounce', 'ses', '452 4.2.2 mailbox full'),
        deps(),
      ) as Record<string, any>;
      assert.equal(t.bounce.bounceType, 'Transient');
      assert.equal(t.bounce.bounceSubType, 'MailboxFull');
      const g = buildSesNotification(
        input('bounce', 'ses', '554 5.6.0 content rejected'),
        deps(),
      ) as Record<string, any>;
      assert.equal(g.bounce.bounceType, 'Permanent');
      assert.equal(g.bounce.bounceSubType, 'General');
      const d = buildSesNotification(input('dropped', 'ses'), deps()) as Record<string, any>;
      assert.equal(d.notificationType, 'Bounce');
      assert.equal(d.bounce.bounceType, 'Permanent');
      assert.equal(d.bounce.bounceSubType, 'Suppressed');
    });

    it('Complaint and Delivery objects', () => {
      const c = buildSesNotification(input('complaint', 'ses'), deps()) as Record<string, any>;
      assert.equal(c.notificationType, 'Complaint');
      assert.deepEqual(c.complaint.complainedRecipients, [
        { emailAddress: 'asyncbounce+u1@example.org' },
      ]);
      assert.equal(c.complaint.complaintFeedbackType, 'abuse');
      assert.equal(c.complaint.timestamp, NOW.toISOString());
      assert.equal(c.complaint.feedbackId, 'id-1');
      const d = buildSesNotification(input('delivered', 'ses'), deps()) as Record<string, any>;
      assert.equal(d.notificationType, 'Delivery');
      assert.deepEqual(d.delivery.recipients, ['asyncbounce+u1@example.org']);
      assert.equal(d.delivery.processingTimeMillis, 5250);
      assert.equal(d.delivery.smtpResponse, '250 2.0.0 OK');
      assert.equal(d.delivery.timestamp, NOW.toISOString());
    });

    it('with the message headers: all of them in mail.headers (bounded), and mail.tags from X-SES-MESSAGE-TAGS', () => {
      const headers = [
        { name: 'From', value: 'Shop <noreply@shop.example>' },
        { name: 'X-SES-CONFIGURATION-SET', value: 'transactional' },
        { name: 'X-SES-MESSAGE-TAGS', value: 'campaign=welcome, tenant = t1, broken' },
        { name: 'X-Long', value: 'v'.repeat(3000) },
      ];
      const n = buildSesNotification({ ...input('delivered', 'ses'), headers }, deps()) as Record<
        string,
        any
      >;
      assert.equal(n.mail.headers.length, 4);
      assert.equal(n.mail.headers[3].value.length, 2048);
      assert.equal(n.mail.headersTruncated, true);
      assert.deepEqual(n.mail.tags, {
        'ses:configuration-set': ['transactional'],
        campaign: ['welcome'],
        tenant: ['t1'],
      });
      const many = Array.from({ length: 150 }, (_v, i) => ({ name: `X-${i}`, value: 'v' }));
      const m = buildSesNotification(
        { ...input('delivered', 'ses'), headers: many },
        deps(),
      ) as Record<string, any>;
      assert.equal(m.mail.headers.length, 100);
      assert.equal(m.mail.headersTruncated, true);
      assert.equal(m.mail.tags, undefined);
    });

    it('SNS envelope: Type, MessageId, TopicArn, Message as a JSON string, Timestamp; SNS headers with text/plain', () => {
      const d = deps();
      const req = buildWebhookRequest(input('bounce', 'ses'), d);
      const env = JSON.parse(req.body) as Record<string, string>;
      assert.equal(env.Type, 'Notification');
      assert.equal(env.TopicArn, DEFAULT_TOPIC_ARN);
      assert.equal(env.Timestamp, NOW.toISOString());
      assert.equal(env.SignatureVersion, '1');
      assert.equal(typeof env.Message, 'string');
      const inner = JSON.parse(env.Message) as Record<string, any>;
      assert.equal(inner.notificationType, 'Bounce');
      assert.equal(inner.mail.messageId, 'order-42.abc@shop.example');
      assert.ok(d.ids.includes(env.MessageId));
      assert.equal(req.headers['x-amz-sns-message-type'], 'Notification');
      assert.equal(req.headers['x-amz-sns-message-id'], env.MessageId);
      assert.equal(req.headers['x-amz-sns-topic-arn'], DEFAULT_TOPIC_ARN);
      assert.ok(req.headers['x-amz-sns-subscription-arn'].startsWith(`${DEFAULT_TOPIC_ARN}:`));
      assert.equal(req.headers['content-type'], 'text/plain; charset=UTF-8');
    });

    it('a custom topic ARN sets the region of the placeholder URLs', () => {
      const req = buildWebhookRequest(input('delivered', 'ses'), {
        ...deps(),
        topicArn: 'arn:aws:sns:eu-west-1:111122223333:bounces',
      });
      const env = JSON.parse(req.body) as Record<string, string>;
      assert.equal(env.TopicArn, 'arn:aws:sns:eu-west-1:111122223333:bounces');
      assert.match(env.SigningCertURL, /sns\.eu-west-1\./);
    });
  });
});
