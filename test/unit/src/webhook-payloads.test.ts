import assert from 'node:assert/strict';
import {
  bareMessageId,
  buildSendGridEvents,
  buildSesNotification,
  buildWebhookRequest,
  DEFAULT_TOPIC_ARN,
  MAX_SES_HEADER_VALUE_CHARS,
  MAX_SES_HEADERS,
  MAX_SMTPAPI_CHARS,
  MAX_UNIQUE_ARGS,
  parseDiagnostic,
  sendgridClassification,
  sesTags,
  smtpApiFields,
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

describe('webhooks/payloads: edges', () => {
  it('bareMessageId strips one pair of angle brackets and the white space around and inside them', () => {
    assert.equal(bareMessageId(' <a@b> '), 'a@b');
    assert.equal(bareMessageId('< a@b >'), 'a@b');
    assert.equal(bareMessageId('<a<b>@c>'), 'a<b>@c');
    assert.equal(bareMessageId('a@b'), 'a@b');
    assert.equal(bareMessageId('<>'), null);
    assert.equal(bareMessageId('  '), null);
    assert.equal(bareMessageId(null), null);
  });

  it('parseDiagnostic: the DSN type prefix in every spacing, codes of one to three digits, either code alone', () => {
    for (const d of [
      ' smtp; 550 5.1.1 x',
      'SMTP ; 550 5.1.1 x',
      'smtp;550 5.1.1 x',
      'smtp;\t550 5.1.1 x  ',
    ])
      assert.equal(parseDiagnostic(d).text, '550 5.1.1 x', JSON.stringify(d));
    assert.equal(parseDiagnostic('see smtp; 550').text, 'see smtp; 550', 'only a leading type');
    assert.deepEqual(parseDiagnostic('550 5.12.1 x'), {
      code: 550,
      status: '5.12.1',
      text: '550 5.12.1 x',
      transient: false,
    });
    assert.equal(parseDiagnostic('550-5.1.12 x').status, '5.1.12');
    assert.deepEqual(parseDiagnostic('5.2.2 mailbox full'), {
      code: null,
      status: '5.2.2',
      text: '5.2.2 mailbox full',
      transient: false,
    });
    assert.deepEqual(parseDiagnostic('550'), {
      code: 550,
      status: '5.0.0',
      text: '550',
      transient: false,
    });
    assert.deepEqual(parseDiagnostic('452 mailbox full'), {
      code: 452,
      status: '4.0.0',
      text: '452 mailbox full',
      transient: true,
    });
    assert.equal(parseDiagnostic('4.2.2 later').transient, true);
  });

  it('sendgridClassification: by the subject of the enhanced code, from its start', () => {
    const cases: Array<[string, string]> = [
      ['5.1.1', 'Invalid Address'],
      ['4.1.8', 'Invalid Address'],
      ['5.2.2', 'Mailbox Unavailable'],
      ['4.2.1', 'Mailbox Unavailable'],
      ['5.7.1', 'Reputation'],
      ['5.3.4', 'Technical'],
      ['4.4.7', 'Technical'],
      ['5.6.0', 'Content'],
      ['4.6.1', 'Content'],
      ['5.5.1', 'Unclassified'],
      ['5.0.0', 'Unclassified'],
      ['x5.1.1', 'Unclassified'],
      ['x5.2.1', 'Unclassified'],
      ['x5.7.1', 'Unclassified'],
      ['x5.3.1', 'Unclassified'],
      ['x5.6.1', 'Unclassified'],
      ['2.1.0', 'Unclassified'],
    ];
    for (const [status, expected] of cases)
      assert.equal(sendgridClassification(status), expected, status);
  });

  it('smtpApiFields: the last X-SMTPAPI (the first header too), bounded in size, count and length', () => {
    const api = (value: unknown) => [{ name: 'x-smtpapi', value: JSON.stringify(value) }];
    assert.deepEqual(smtpApiFields(api({ unique_args: { a: '1' } })), { a: '1' });
    assert.deepEqual(
      smtpApiFields([
        { name: 'X-SMTPAPI', value: JSON.stringify({ unique_args: { a: '1' } }) },
        { name: 'X-SMTPAPI', value: JSON.stringify({ unique_args: { b: '2' } }) },
      ]),
      { b: '2' },
    );
    // A header of exactly the limit is read; one character more is not.
    const sized = (n: number) => {
      const head = JSON.stringify({ unique_args: { a: '' } });
      return JSON.stringify({ unique_args: { a: 'v'.repeat(n - head.length) } });
    };
    assert.equal(sized(MAX_SMTPAPI_CHARS).length, MAX_SMTPAPI_CHARS);
    assert.deepEqual(
      Object.keys(smtpApiFields([{ name: 'X-SMTPAPI', value: sized(MAX_SMTPAPI_CHARS) }])),
      ['a'],
    );
    assert.deepEqual(
      smtpApiFields([{ name: 'X-SMTPAPI', value: sized(MAX_SMTPAPI_CHARS + 1) }]),
      {},
    );
    const many = Object.fromEntries(
      Array.from({ length: MAX_UNIQUE_ARGS + 10 }, (_v, i) => [`k${i}`, i]),
    );
    const out = smtpApiFields(api({ unique_args: many }));
    assert.equal(Object.keys(out).length, MAX_UNIQUE_ARGS);
    assert.equal(out[`k${MAX_UNIQUE_ARGS - 1}`], String(MAX_UNIQUE_ARGS - 1));
    assert.deepEqual(
      smtpApiFields(
        api({ unique_args: { flag: true, n: 0, '': 'empty', long: 'l'.repeat(2000) } }),
      ),
      { flag: 'true', n: '0', '': 'empty', long: 'l'.repeat(1024) },
    );
    assert.deepEqual(smtpApiFields(api({ category: 'c'.repeat(300) })), {
      category: 'c'.repeat(255),
    });
    assert.deepEqual(
      smtpApiFields(
        api({ category: ['x'.repeat(300), ...Array.from({ length: 12 }, (_v, i) => `c${i}`)] }),
      ),
      { category: ['x'.repeat(255), ...Array.from({ length: 9 }, (_v, i) => `c${i}`)] },
    );
  });

  it('sesTags: a configuration set (trimmed, up to 64) and name=value tags, bounded and without empty names', () => {
    assert.equal(sesTags(undefined), null);
    assert.equal(sesTags([{ name: 'X-SES-CONFIGURATION-SET', value: '   ' }]), null);
    assert.deepEqual(
      sesTags([{ name: 'X-SES-CONFIGURATION-SET', value: `  ${'s'.repeat(70)} ` }]),
      {
        'ses:configuration-set': ['s'.repeat(64)],
      },
    );
    assert.deepEqual(
      sesTags([{ name: 'X-SES-MESSAGE-TAGS', value: ' =x, =y, a=1, __proto__=p, b = 2 ' }]),
      { a: ['1'], b: ['2'] },
    );
    assert.deepEqual(
      sesTags([{ name: 'X-SES-MESSAGE-TAGS', value: `${'n'.repeat(300)}=${'v'.repeat(300)}` }]),
      { ['n'.repeat(256)]: ['v'.repeat(256)] },
    );
    const fifty = Array.from({ length: 60 }, (_v, i) => `t${i}=${i}`).join(',');
    const tags = sesTags([{ name: 'X-SES-MESSAGE-TAGS', value: fifty }]);
    assert.equal(Object.keys(tags ?? {}).length, 50);
    // Only the first MAX_SMTPAPI_CHARS characters of the header are read.
    const far = sesTags([
      { name: 'X-SES-MESSAGE-TAGS', value: `a=${'v'.repeat(MAX_SMTPAPI_CHARS)},b=1` },
    ]);
    assert.deepEqual(Object.keys(far ?? {}), ['a']);
  });

  it('SES mail.headers: exactly the limits are not truncated', () => {
    const headers = Array.from({ length: MAX_SES_HEADERS }, (_v, i) => ({
      name: `X-${i}`,
      value: i === 0 ? 'v'.repeat(MAX_SES_HEADER_VALUE_CHARS) : 'v',
    }));
    const n = buildSesNotification({ ...input('delivered', 'ses'), headers }, deps()) as Record<
      string,
      any
    >;
    assert.equal(n.mail.headers.length, MAX_SES_HEADERS);
    assert.equal(n.mail.headers[0].value.length, MAX_SES_HEADER_VALUE_CHARS);
    assert.equal(n.mail.headersTruncated, false);
  });

  it('SES mail of a message without From, To, Subject, Message-ID or envelope sender', () => {
    const bare = summary({
      from: null,
      to: [],
      subject: null,
      messageId: null,
      envelope: { ...summary().envelope, mailFrom: null },
    });
    const n = buildSesNotification(input('delivered', 'ses', undefined, bare), deps()) as Record<
      string,
      any
    >;
    assert.equal(n.mail.source, '');
    assert.equal(n.mail.sourceArn, 'arn:aws:ses:us-east-1:123456789012:identity/example.com');
    assert.equal(n.mail.messageId, 'msg-0001');
    assert.deepEqual(n.mail.headers, []);
    assert.deepEqual(n.mail.commonHeaders, { from: [], to: [] });
    const fromOnly = buildSesNotification(
      input(
        'delivered',
        'ses',
        undefined,
        summary({ envelope: { ...summary().envelope, mailFrom: null } }),
      ),
      deps(),
    ) as Record<string, any>;
    assert.equal(fromOnly.mail.source, 'Shop <noreply@shop.example>');
  });

  it('SES bounce subtypes by status; a dropped address is Permanent whatever the diagnostic', () => {
    const sub = (diagnostic: string) =>
      (buildSesNotification(input('bounce', 'ses', diagnostic), deps()) as Record<string, any>)
        .bounce.bounceSubType;
    assert.equal(sub('452 4.3.4 too big'), 'MessageTooLarge');
    assert.equal(sub('451 4.7.1 later'), 'General');
    assert.equal(sub('452 4.13.4 x'), 'General');
    assert.equal(sub('452 4.3.41 x'), 'General');
    assert.equal(sub('550 5.1.3 bad'), 'NoEmail');
    assert.equal(sub('550 5.1.12 x'), 'General');
    assert.equal(sub('550 5.1.4 x'), 'General');
    const d = buildSesNotification(input('dropped', 'ses', '452 4.2.2 full'), deps()) as Record<
      string,
      any
    >;
    assert.equal(d.bounce.bounceType, 'Permanent');
  });

  it('SES Delivery and Complaint objects in full', () => {
    const d = buildSesNotification(input('delivered', 'ses'), deps()) as Record<string, any>;
    assert.deepEqual(d.delivery, {
      timestamp: NOW.toISOString(),
      processingTimeMillis: 5250,
      recipients: ['asyncbounce+u1@example.org'],
      smtpResponse: '250 2.0.0 OK',
      reportingMTA: 'email-sink.email-validate.local',
      remoteMtaIp: '127.0.0.1',
    });
    const c = buildSesNotification(input('complaint', 'ses'), deps()) as Record<string, any>;
    assert.deepEqual(c.complaint, {
      complainedRecipients: [{ emailAddress: 'asyncbounce+u1@example.org' }],
      timestamp: NOW.toISOString(),
      feedbackId: 'id-1',
      complaintSubType: null,
      complaintFeedbackType: 'abuse',
      arrivalDate: NOW.toISOString(),
      userAgent: 'kubectl-email-validate sink',
    });
  });

  it('the SNS envelope and headers in full; a topic ARN without a region gives us-east-1', () => {
    const req = buildWebhookRequest(input('complaint', 'ses'), { ...deps(), topicArn: 'topic' });
    const env = JSON.parse(req.body) as Record<string, string>;
    assert.deepEqual(
      { ...env, Message: 'm' },
      {
        Type: 'Notification',
        MessageId: 'id-2',
        TopicArn: 'topic',
        Message: 'm',
        Timestamp: NOW.toISOString(),
        SignatureVersion: '1',
        Signature: 'UNSIGNED-BY-KUBECTL-EMAIL-VALIDATE',
        SigningCertURL:
          'https://sns.us-east-1.amazonaws.com.invalid/SimpleNotificationService-unsigned.pem',
        UnsubscribeURL:
          'https://sns.us-east-1.amazonaws.com.invalid/?Action=Unsubscribe&SubscriptionArn=topic',
      },
    );
    assert.deepEqual(req.headers, {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': 'id-2',
      'x-amz-sns-topic-arn': 'topic',
      'x-amz-sns-subscription-arn': 'topic:id-3',
      'user-agent': 'Amazon Simple Notification Service Agent',
    });
    const sg = buildWebhookRequest(input('delivered', 'sendgrid'), deps());
    assert.deepEqual(sg.headers, {
      'content-type': 'application/json',
      'user-agent': 'kubectl-email-validate-sink (SendGrid Event Webhook format)',
    });
  });
});
