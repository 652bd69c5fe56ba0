import assert from 'node:assert/strict';
import type { KubeClient, V1Pod } from '../../../../../plugin/lib/kube/adapter.ts';
import { SHARD_CRASH_RESTARTS, shardFailure } from '../../../../../plugin/lib/check-cluster/run.ts';
import { SHARD_EXIT_REDIS_UNREACHABLE } from '../../../../../src/check-cluster/protocol.ts';

/** A shard pod whose container restarted `restarts` times, last ending with `exitCode`, now in back-off. */
function shardPod(name: string, restarts: number, exitCode: number): V1Pod {
  return {
    metadata: { name, namespace: 'run' },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'shard',
          image: 'node:24',
          imageID: '',
          ready: false,
          restartCount: restarts,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } },
          lastState: { terminated: { exitCode, reason: 'Error' } },
        },
      ],
    },
  };
}

/** A client with a Job that has not failed and the given shard pods. */
function client(pods: V1Pod[], jobFailed = false): KubeClient {
  const job = {
    status: {
      conditions: jobFailed
        ? [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }]
        : [],
    },
  };
  return {
    objects: { read: async () => job },
    listPods: async () => pods,
  } as unknown as KubeClient;
}

describe('check-cluster/run: shardFailure', () => {
  it('every shard crash-looping on its own error is a failure with the reason', async () => {
    const pods = [0, 1, 2].map((i) => shardPod(`s-${i}`, SHARD_CRASH_RESTARTS, 1));
    const err = await shardFailure(client(pods), 'run');
    assert.ok(err);
    assert.match(err.message, /every shard pod keeps crashing \(s-0: CrashLoopBackOff/);
  });

  it('shards restarting because Redis is unreachable are waiting for it, not crashing', async () => {
    const pods = [0, 1, 2].map((i) =>
      shardPod(`s-${i}`, SHARD_CRASH_RESTARTS + 5, SHARD_EXIT_REDIS_UNREACHABLE),
    );
    assert.equal(await shardFailure(client(pods), 'run'), null);
  });

  it('one shard still within its restarts, or one waiting for Redis, keeps the run going', async () => {
    const crashing = [0, 1].map((i) => shardPod(`s-${i}`, SHARD_CRASH_RESTARTS, 1));
    assert.equal(
      await shardFailure(
        client([...crashing, shardPod('s-2', SHARD_CRASH_RESTARTS - 1, 1)]),
        'run',
      ),
      null,
    );
    assert.equal(
      await shardFailure(
        client([...crashing, shardPod('s-2', SHARD_CRASH_RESTARTS, SHARD_EXIT_REDIS_UNREACHABLE)]),
        'run',
      ),
      null,
    );
  });

  it('a failed Job is a failure whatever the pods say', async () => {
    const err = await shardFailure(client([], true), 'run');
    assert.match(err?.message ?? '', /the shards failed: BackoffLimitExceeded/);
  });
});
