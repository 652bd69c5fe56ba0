import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { readAtMost, readTruncated } from '../../../../plugin/lib/read-bounded.ts';

const stream = (...chunks: Array<string | Buffer>) =>
  Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));

describe('bounded reads (plugin/lib/read-bounded.ts)', () => {
  it('readTruncated keeps the first max bytes and consumes the rest', async () => {
    const source = stream('abc', 'defg', 'hij');
    assert.equal((await readTruncated(source, 5)).toString(), 'abcde');
    assert.equal(source.readableEnded, true, 'the rest was read and dropped');
    assert.equal((await readTruncated(stream('ab'), 5)).toString(), 'ab');
    assert.equal((await readTruncated(stream(), 5)).length, 0);
  });

  it('readAtMost returns everything up to max, and throws what tooLarge throws once past it', async () => {
    assert.equal(
      (
        await readAtMost(stream('abc', 'de'), 5, () => {
          throw new Error('too large');
        })
      ).toString(),
      'abcde',
    );
    let seen = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) {
          seen++;
          yield Buffer.from('xx');
        }
      })(),
    );
    await assert.rejects(
      readAtMost(source, 5, () => {
        throw new Error('too large');
      }),
      /too large/,
    );
    assert.ok(seen <= 4, `stopped reading at once (${seen} chunks)`);
  });
});
