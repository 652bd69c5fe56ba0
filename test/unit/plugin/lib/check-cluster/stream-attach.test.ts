/**
 * `check --in-cluster --attach`: results the shards stored while no CLI was attached can be
 * fetched before the reattached CLI's reader has read their addresses again. Each batch of
 * results is fetched once, so a result dropped then is never seen again and the run waits at
 * its index for ever. A Redis run in memory makes the order certain: its replies come in
 * microtasks, the input file's first read from the thread pool later.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamCheck } from '../../../../../plugin/lib/check-cluster/stream.ts';
import type { RedisRun, StoredResult } from '../../../../../src/check-cluster/redis-run.ts';
import type { ClusterCheckpoint, RunMeta } from '../../../../../src/check-cluster/protocol.ts';
import { emptyCounts } from '../../../../../src/check/engine.ts';
import { baseIo, baseOptions } from '../../../../integration/check/helpers.ts';

/** Rounds of "no new results" after the input ended, with nothing written, before we call it stuck. */
const STUCK_ROUNDS = 200;

describe('check --in-cluster --attach: results ahead of the reader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ev-attach-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps results fetched before their addresses are read again, and writes each once, in order', async () => {
    const input = join(dir, 'in.txt');
    const out = join(dir, 'out.jsonl');
    const total = 10;
    writeFileSync(
      input,
      Array.from({ length: total }, (_, k) => `user${k + 1}@example.com\n`).join(''),
    );
    // The killed CLI wrote indexes 1 and 2 and checkpointed them; it had queued all 10.
    writeFileSync(out, 'line 1\nline 2\n');
    const meta: RunMeta = {
      id: 'run-1',
      created: 0,
      total: -1,
      pushed: total,
      paths: [input],
      out,
      format: 'jsonl',
      column: null,
      options: '[true]',
    };
    const checkpoint: ClusterCheckpoint = {
      runId: meta.id,
      index: 2,
      outputBytes: 'line 1\nline 2\n'.length,
      counts: { ...emptyCounts(), read: 2, written: 2, valid: 2 },
      cursor: '5-0',
    };
    const stored: StoredResult[] = [];
    for (let i = 3; i <= total; i++)
      stored.push({ index: i, verdict: 'valid', line: `{"index":${i}}\n` });

    let stuck: (err: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      stuck = reject;
    });
    failed.catch(() => {});
    const ended: number[] = [];
    let emptyRounds = 0;
    const run: Pick<
      RedisRun,
      'meta' | 'resultKeys' | 'results' | 'arrivals' | 'checkpoint' | 'end' | 'push' | 'create'
    > = {
      meta: () => Promise.resolve({ ...meta, written: 2 }),
      resultKeys: () => Promise.resolve(['3-10']),
      results: (keys) => Promise.resolve(keys.includes('3-10') ? stored : []),
      arrivals: (cursor) =>
        new Promise((resolve) =>
          setImmediate(() => {
            // Counted once the input has ended (the run was told its total).
            if (ended.length > 0 && ++emptyRounds > STUCK_ROUNDS)
              stuck(new Error(`stuck: ${readFileSync(out, 'utf8').split('\n').length - 1} lines`));
            resolve({ cursor, keys: [] });
          }),
        ),
      checkpoint: () => Promise.resolve(true),
      end: (n) => {
        ended.push(n);
        return Promise.resolve();
      },
      push: (_id, batches) => Promise.resolve(batches.length),
      create: () => Promise.resolve(),
    };

    const outcome = await streamCheck(
      baseOptions({ paths: [input], offline: true }),
      baseIo(),
      // streamCheck uses only the methods above.
      run as RedisRun,
      { meta, checkpoint, pushed: total },
      { status: () => {}, failed },
    );

    const want =
      'line 1\nline 2\n' +
      Array.from({ length: total - 2 }, (_, k) => `{"index":${k + 3}}\n`).join('');
    assert.equal(readFileSync(out, 'utf8'), want);
    assert.equal(outcome.counts.written, total);
    assert.equal(outcome.counts.valid, total);
    assert.deepEqual(ended.slice(0, 1), [total], 'the run learns its total');
  });
});
