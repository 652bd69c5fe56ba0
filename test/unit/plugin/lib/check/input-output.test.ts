import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  readInputs,
  READ_CHUNK_BYTES,
  type InputSpec,
} from '../../../../../plugin/lib/check/input.ts';
import {
  createResultWriter,
  fdSink,
  tableColumns,
} from '../../../../../plugin/lib/check/output.ts';
import { renderProgress } from '../../../../../plugin/lib/check/progress.ts';
import { normaliseServer } from '../../../../../checker/dns-resolver.ts';
import { rateFlag } from '../../../../../plugin/lib/check/parse.ts';
import { createLists } from '../../../../../src/address/lists.ts';
import { checkOffline, createOfflineContext } from '../../../../../src/check/pipeline.ts';
import { emptyCounts } from '../../../../../src/check/engine.ts';

async function collect(spec: InputSpec, stdin?: Readable): Promise<Array<[string, number]>> {
  const out: Array<[string, number]> = [];
  for await (const b of readInputs(spec, { bytes: 0 }, stdin))
    b.values.forEach((v, i) => out.push([v, b.ends[i]]));
  return out;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-input-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('check/input', () => {
  it(
    'splits lines, trims, skips blanks and a BOM, reports byte offsets after each record',
    withDir(async (dir) => {
      const f = join(dir, 'a.txt');
      writeFileSync(f, '\ufeffa@x.com\r\n  b@y.com \n\n\tjosé@z.com\nlast@w.com');
      const recs = await collect({ paths: [f], column: null });
      assert.deepEqual(
        recs.map((r) => r[0]),
        ['a@x.com', 'b@y.com', 'josé@z.com', 'last@w.com'],
      );
      const buf = readFileSync(f);
      assert.equal(recs[0][1], buf.indexOf('\n') + 1);
      assert.equal(recs[3][1], buf.length);
    }),
  );

  it(
    'handles records across chunk boundaries and resumes from an offset',
    withDir(async (dir) => {
      const f = join(dir, 'big.txt');
      const lines = Array.from({ length: 120_000 }, (_, i) => `user${i}@d${i % 97}.example.com`);
      writeFileSync(f, `${lines.join('\n')}\n`);
      const all = await collect({ paths: [f], column: null });
      assert.deepEqual(
        all.map((r) => r[0]),
        lines,
      );
      assert.ok(readFileSync(f).length > 2 * READ_CHUNK_BYTES);
      const mid = all[70_000][1];
      const rest = await collect({ paths: [f], column: null, startOffset: mid });
      assert.deepEqual(
        rest.map((r) => r[0]),
        lines.slice(70_001),
      );
      const prefix = await collect({ paths: [f], column: null, stopFile: 0, stopOffset: mid });
      assert.deepEqual(
        prefix.map((r) => r[0]),
        lines.slice(0, 70_001),
      );
    }),
  );

  it(
    'reads several files in order and standard input for "-"',
    withDir(async (dir) => {
      const f = join(dir, 'one.txt');
      writeFileSync(f, 'a@x.com\n');
      const recs = await collect(
        { paths: [f, '-'], column: null },
        Readable.from([Buffer.from('b@y.com\nc@z.com\n')]),
      );
      assert.deepEqual(
        recs.map((r) => r[0]),
        ['a@x.com', 'b@y.com', 'c@z.com'],
      );
    }),
  );

  it(
    'reads a CSV column: quotes, escaped quotes, commas and newlines in fields, CRLF, case-insensitive header',
    withDir(async (dir) => {
      const f = join(dir, 'a.csv');
      writeFileSync(
        f,
        'Name,"E-Mail",note\r\n"Smith, J","j@x.com","multi\nline"\r\nX,"q""@y.com",\r\nEmpty,,\r\nlast,z@z.com,end',
      );
      const recs = await collect({ paths: [f], column: 'e-mail' });
      assert.deepEqual(
        recs.map((r) => r[0]),
        ['j@x.com', 'q"@y.com', 'z@z.com'],
      );
      const resumed = await collect({ paths: [f], column: 'E-Mail', startOffset: recs[0][1] });
      assert.deepEqual(
        resumed.map((r) => r[0]),
        ['q"@y.com', 'z@z.com'],
      );
    }),
  );

  it(
    'rejects unknown columns, unterminated quotes and over-long records with EV_ERR_INPUT_INVALID',
    withDir(async (dir) => {
      const f = join(dir, 'a.csv');
      writeFileSync(f, 'name,email\nx,y@z.com\n');
      await assert.rejects(collect({ paths: [f], column: 'mail' }), {
        code: 'EV_ERR_INPUT_INVALID',
      });
      writeFileSync(f, 'email\n"never closed\n');
      await assert.rejects(collect({ paths: [f], column: 'email' }), /unterminated/);
      writeFileSync(f, 'x'.repeat(70_000));
      await assert.rejects(collect({ paths: [f], column: null }), /longer than/);
      await assert.rejects(collect({ paths: [join(dir, 'missing.txt')], column: null }), {
        code: 'EV_ERR_INPUT_INVALID',
      });
    }),
  );

  it(
    'refuses binary and UTF-16 input (a NUL byte) with EV_ERR_INPUT_INVALID, lines or CSV, file or stdin',
    withDir(async (dir) => {
      const f = join(dir, 'bin.dat');
      writeFileSync(
        f,
        Buffer.concat([
          Buffer.from('a@example.com\n'),
          Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]),
          Buffer.from('\n'),
        ]),
      );
      await assert.rejects(
        collect({ paths: [f], column: null }),
        (err: Error & { code?: string }) =>
          err.code === 'EV_ERR_INPUT_INVALID' &&
          /not a text file \(a NUL byte at offset 18\)/.test(err.message),
      );
      await assert.rejects(collect({ paths: [f], column: 'email' }), {
        code: 'EV_ERR_INPUT_INVALID',
      });
      writeFileSync(f, Buffer.from('\ufeffa@example.com\n', 'utf16le'));
      await assert.rejects(
        collect({ paths: ['-'], column: null }, Readable.from([readFileSync(f)])),
        /not a text file/,
      );
      // A resumed read reports file offsets.
      writeFileSync(
        f,
        Buffer.concat([Buffer.from('a@example.com\nb@example.com\n'), Buffer.from([0])]),
      );
      await assert.rejects(
        collect({ paths: [f], column: null, startFile: 0, startOffset: 14 }),
        /offset 28/,
      );
    }),
  );
});

describe('check/output', () => {
  const offline = createOfflineContext(createLists());
  it(
    'writes JSON lines, CSV (escaped) and a table, counting bytes for checkpoints',
    withDir(async (dir) => {
      const results = ['a@x.com', '"q,b"@x.com', 'bad'].map((a, i) =>
        checkOffline(a, i + 1, offline),
      );
      for (const format of ['jsonl', 'csv', 'table'] as const) {
        const path = join(dir, `out.${format}`);
        const w = createResultWriter({
          format,
          sink: fdSink({ path, keepBytes: 0 }),
          durable: true,
          header: true,
        });
        for (const r of results) w.write(r);
        const bytes = await w.flush();
        w.close();
        const text = readFileSync(path, 'utf8');
        assert.equal(Buffer.byteLength(text), bytes);
        if (format === 'jsonl')
          assert.deepEqual(
            text
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l).address),
            ['a@x.com', '"q,b"@x.com', 'bad'],
          );
        if (format === 'csv') assert.match(text, /^address,normalized,verdict,reasons/);
        if (format === 'csv') assert.ok(text.includes('"""q,b""@x.com"'));
        if (format === 'table') assert.match(text, /^VERDICT +ADDRESS +REASONS\ninvalid|^VERDICT/);
      }
    }),
  );

  it('the table fits a terminal width: the address column narrows (16 to 40), reasons take the rest', () => {
    assert.deepEqual(tableColumns(null), { address: 40, reasons: null });
    assert.deepEqual(tableColumns(120), { address: 40, reasons: 70 });
    assert.deepEqual(tableColumns(60), { address: 34, reasons: 16 });
    assert.deepEqual(tableColumns(30), { address: 16, reasons: 4 });
    for (const w of [42, 60, 80, 120]) {
      const c = tableColumns(w);
      assert.equal(8 + 1 + c.address + 1 + (c.reasons ?? 0), w, `${w} columns used exactly`);
    }
  });

  it(
    'a table never prints the control characters of a hostile address (no terminal escapes, no split rows)',
    withDir(async (dir) => {
      const path = join(dir, 'out.table');
      const w = createResultWriter({
        format: 'table',
        sink: fdSink({ path, keepBytes: 0 }),
        durable: false,
        header: false,
      });
      for (const a of [
        'a\u001b]0;pwned\u0007@x.com',
        'b\r\nvalid    fake@x.com',
        'c\u009b31m@x.com',
      ])
        w.write(checkOffline(a, 1, offline));
      await w.flush();
      w.close();
      const text = readFileSync(path, 'utf8');
      assert.equal(text.split('\n').length, 4, 'one row per result');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f]/);
    }),
  );

  it(
    'truncates a resumed output to the checkpointed length',
    withDir(async (dir) => {
      const path = join(dir, 'o.jsonl');
      writeFileSync(path, 'line1\nline2\npartial');
      const sink = fdSink({ path, keepBytes: 12 });
      sink.write('line3\n');
      sink.close();
      assert.equal(readFileSync(path, 'utf8'), 'line1\nline2\nline3\n');
    }),
  );
});

describe('check/progress and flag parsing', () => {
  it('renders a bar with percentage, rate and ETA when the size is known', () => {
    const c = { ...emptyCounts(), read: 500, written: 480 };
    const line = renderProgress(c, { bytes: 5000 }, 10_000, 2000, 100);
    assert.match(line, /^\[#+\.+\] {2}50% 480 checked, 250\/s ETA 0:02$/);
    assert.equal(renderProgress(c, { bytes: 0 }, null, 1000, 100), '480 checked, 500/s');
    // The bar keeps its width while the numbers grow.
    const bar = (l: string): number => l.indexOf(']');
    const later = renderProgress(
      { ...emptyCounts(), read: 1_500_000, written: 1_480_000 },
      { bytes: 9000 },
      10_000,
      5000,
      79,
    );
    assert.equal(bar(renderProgress(c, { bytes: 5000 }, 10_000, 2000, 79)), bar(later));
  });

  it('parses rates and DNS servers', () => {
    assert.equal(rateFlag('rate', '50/s'), 50);
    assert.equal(rateFlag('rate', '600/m'), 10);
    assert.throws(() => rateFlag('rate', 'fast'), { code: 'EV_ERR_INVALID_OPTION' });
    assert.equal(normaliseServer('127.0.0.1:5353'), '127.0.0.1:5353');
    assert.equal(normaliseServer('[::1]:53'), '[::1]:53');
    assert.equal(normaliseServer('1.1.1.1'), '1.1.1.1');
    assert.throws(() => normaliseServer('dns.google:53'), { code: 'EV_ERR_INVALID_OPTION' });
  });
});
