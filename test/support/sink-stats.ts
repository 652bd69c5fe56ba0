import type { SinkStats } from '../../src/protocol.ts';

/** A plausible `SinkStats` snapshot for tests that need one; override what matters. */
export const sinkStats = (over: Partial<SinkStats> = {}): SinkStats => ({
  instance: 'i',
  messages: 7,
  bytes: 1234,
  maxMessages: 10_000,
  maxBytes: 256 * 1024 * 1024,
  received: 0,
  rejected: 0,
  deferred: 0,
  bounced: 0,
  evicted: 3,
  connections: 0,
  lastSeq: 42,
  uptimeSeconds: 1,
  ...over,
});
