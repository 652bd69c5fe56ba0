/**
 * A KeyedLimiter whose slots and tokens live in the coordinator: the SMTP
 * stage of every shard asks the coordinator for a per-domain or per-provider
 * permit, so those limits hold for all shards together. Same interface as the
 * local limiter, so the SMTP stage runs unchanged.
 */
import { KeyedLimiter } from '../../../src/limits/keyed-limiter.ts';
import type { Clock } from '../../../src/clock.ts';
import type { PermitResponse } from '../../../src/check-cluster/protocol.ts';
import type { CoordinatorClient } from './client.ts';

export class RemoteKeyedLimiter extends KeyedLimiter {
  private readonly client: CoordinatorClient;
  private readonly shard: string;
  private readonly scope: 'domain' | 'provider';

  constructor(client: CoordinatorClient, shard: string, scope: 'domain' | 'provider', clock: Clock) {
    // The local defaults are never used: acquire() is overridden.
    super({ concurrency: 1, rate: 1, burst: 1 }, clock);
    this.client = client;
    this.shard = shard;
    this.scope = scope;
  }

  override async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      // A long poll: null after the coordinator's wait, then ask again (keeps our place roughly FIFO).
      const r = await this.client.post<PermitResponse>('/v1/permit', { shard: this.shard, scope: this.scope, key });
      if (r.permit !== null) {
        const permit = r.permit;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          void this.client.post('/v1/release', { permit }).catch(() => {});
        };
      }
    }
  }
}
