/**
 * Results as the shards store them and the CLI writes them: each result's
 * JSON line serialised once, by the shard. Unpacked lines are exactly what a
 * local run writes; every output format writes the same bytes from the line
 * as from the result; a malformed batch is an error, never a silent loss.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createLists } from '../../../../src/address/lists.ts';
import { checkOffline, createOfflineContext } from '../../../../src/check/pipeline.ts';
import { resultToJsonLine } from '../../../../src/check/serialize.ts';
import { pack, packResults, unpackResults } from '../../../../src/check-cluster/redis-run.ts';
import { createResultWriter, type ByteSink } from '../../../../plugin/lib/check/output.ts';

const offline = createOfflineContext(createLists());
const results = [
  'a@x.com',
  '"q,b"@x.com',
  'bad',
  'tab\there@x.com',
  'new\nline@x.com',
  'ünï@exämple.com',
  'info@mailinator.com',
].map((a, i) => checkOffline(a, i + 1, offline));

function memorySink(): ByteSink & { text: string } {
  return {
    text: '',
    bytes: 0,
    write(t: string) {
      this.text += t;
      (this as { bytes: number }).bytes += Buffer.byteLength(t);
    },
    sync() {},
    close() {},
  };
}

describe('results on the wire: serialised once by the shard', () => {
  it('round-trips index, verdict and the exact JSON line of each result (tabs and newlines in addresses too)', () => {
    const back = unpackResults(packResults(results));
    assert.deepEqual(
      back,
      results.map((r) => ({ index: r.index, verdict: r.verdict, line: resultToJsonLine(r) })),
    );
  });

  it('reads a batch stored as a JSON array (a run queued by an earlier CLI) the same way', () => {
    assert.deepEqual(unpackResults(pack(results)), unpackResults(packResults(results)));
  });

  it('a malformed batch is an error', () => {
    for (const text of ['1\tvalid\t{"a":1}', 'x\tvalid\t{}\n', '1\tbogus\t{}\n', '0\tvalid\t{}\n'])
      assert.throws(() => unpackResults(gzipSync(text)), { code: 'EV_ERR_INTERNAL' }, text);
  });

  it('each output format writes the same bytes from the line as from the result', async () => {
    for (const format of ['jsonl', 'csv', 'table'] as const) {
      const [a, b] = [memorySink(), memorySink()];
      const fromResult = createResultWriter({ format, sink: a, durable: false, header: true });
      const fromLine = createResultWriter({ format, sink: b, durable: false, header: true });
      for (const r of results) fromResult.write(r);
      for (const s of unpackResults(packResults(results))) fromLine.writeJsonLine(s.line);
      await fromResult.flush();
      await fromLine.flush();
      assert.equal(b.text, a.text, format);
      assert.ok(a.text.length > 0);
    }
  });
});
