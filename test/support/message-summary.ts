import type { MessageSummary } from '../../src/protocol.ts';

/** A stored message as the sink summarises it (webhook, rules and feed tests); override what matters. */
export function summary(overrides: Partial<MessageSummary> = {}): MessageSummary {
  return {
    id: 'msg-0001',
    time: '2026-11-28T02:00:00.000Z',
    envelope: {
      helo: 'app.local',
      mailFrom: { address: 'noreply@shop.example', tag: null },
      rcptTo: [
        { address: 'asyncbounce+u1@example.org', tag: 'u1' },
        { address: 'other@example.org', tag: null },
      ],
      clientAddress: '10.0.0.7',
      tls: true,
      authUser: null,
    },
    from: 'Shop <noreply@shop.example>',
    to: ['asyncbounce+u1@example.org', 'other@example.org'],
    subject: 'Your order',
    messageId: '<order-42.abc@shop.example>',
    size: 2048,
    parsed: true,
    parseError: null,
    ...overrides,
  };
}
