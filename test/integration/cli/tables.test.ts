/**
 * Issue 12, "the terminal": tables stay readable at 60 columns (short ids that
 * `messages get` accepts, free-text columns cut with an ellipsis) and at 120,
 * through a pseudo-terminal made by script(1); `-o wide` shows everything.
 * (`status` needs a cluster: its columns are pinned in test/unit/plugin/lib/render/render.test.ts.)
 */
import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { startSink } from '../../../sink/index.ts';
import type { MessageDetail, MessageList } from '../../../src/protocol.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_JS, runCli } from './cli-harness.ts';

type Sink = Awaited<ReturnType<typeof startSink>>;

/** The lines a terminal of `cols` columns shows for `args`, run on a pty (script(1)) sized with stty. */
async function onTerminal(cols: number, args: string): Promise<string[]> {
  const r = await runCli(
    ['-qec', `stty cols ${cols}; ${process.execPath} ${RUN_JS} ${args}`, '/dev/null'],
    {
      script: '/usr/bin/script',
      direct: true,
      env: { NO_COLOR: '1' },
    },
  );
  assert.equal(r.code, 0, r.stdout);
  return r.stdout
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l !== '');
}

describe('tables fit the terminal', function () {
  this.timeout(60_000);
  let sink: Sink;
  let target: string;
  let full: MessageList;

  before(async () => {
    sink = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: 0 });
    // `--token=…`: a generated token may start with '-', which a separate argument would make a flag.
    target = `--sink ${sink.url} --token=${sink.token ?? ''}`;
    const sent = await runCli([
      'send',
      '--sink',
      sink.url,
      `--token=${sink.token ?? ''}`,
      '--from',
      'notifications-with-a-long-name@shop.example.com',
      '--to',
      'a-rather-long-recipient-name+{{n}}@customers.example.com',
      '--subject',
      'Your order {{n}} has shipped and will arrive on Tuesday between 9 and 5',
      '--count',
      '12',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    full = JSON.parse(
      (
        await runCli([
          'messages',
          'list',
          '--sink',
          sink.url,
          `--token=${sink.token ?? ''}`,
          '-o',
          'json',
        ])
      ).stdout,
    ) as MessageList;
    assert.equal(full.total, 12);
  });
  after(async () => {
    await sink?.stop();
  });

  it('messages list at 60 columns: no line wraps, short unique ids, cut subjects and addresses', async () => {
    const lines = await onTerminal(60, `messages list ${target}`);
    for (const l of lines) assert.ok(l.length <= 60, `${JSON.stringify(l)} is ${l.length} columns`);
    assert.match(lines[0], /^ID +TIME +FROM +TO +SUBJECT$/, 'SIZE left out at 60 columns');
    const rows = lines.slice(1);
    assert.equal(rows.length, 12);
    for (const row of rows) {
      assert.match(row, /…/, 'free text cut with an ellipsis');
      const short = row.split(' ')[0];
      assert.ok(short.length >= 8 && short.length < full.items[0].id.length, short);
      const owners = full.items.filter((m) => m.id.startsWith(short));
      assert.equal(owners.length, 1, `${short} is a unique prefix`);
    }
    // What the table shows is what `messages get` takes.
    const short = rows[3].split(' ')[0];
    const got = await runCli([
      'messages',
      'get',
      short,
      '--sink',
      sink.url,
      `--token=${sink.token ?? ''}`,
      '-o',
      'json',
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as MessageDetail).id, full.items[3].id);
  });

  it('messages list at 120 columns: every column, still within the width', async () => {
    const lines = await onTerminal(120, `messages list ${target}`);
    for (const l of lines)
      assert.ok(l.length <= 120, `${JSON.stringify(l)} is ${l.length} columns`);
    assert.match(lines[0], /^ID +TIME +FROM +TO +SUBJECT +SIZE$/);
    const row = lines[1];
    assert.ok(row.length > 110, `uses the room: ${row.length} columns`);
    assert.match(row, /notifications-with-a-long-n.*…/, 'more of the sender than at 60 columns');
  });

  it('-o wide prints full ids and every column uncut, whatever the width', async () => {
    const lines = await onTerminal(60, `messages list ${target} -o wide`);
    assert.match(lines[0], /^ID +TIME +FROM +TO +SUBJECT +SIZE$/);
    for (const m of full.items) {
      const row = lines.find((l) => l.startsWith(`${m.id} `));
      assert.ok(row, `full id ${m.id}`);
      assert.ok(row.includes(m.subject ?? ''), 'whole subject');
      assert.ok(row.includes(m.envelope.rcptTo[0].address), 'whole recipient');
      assert.ok(!row.includes('…'));
    }
  });

  it('$COLUMNS is honoured without a terminal; a pipe without it is not cut', async () => {
    const narrow = await runCli(
      ['messages', 'list', '--sink', sink.url, `--token=${sink.token ?? ''}`],
      {
        env: { COLUMNS: '60' },
      },
    );
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const l of lines) assert.ok(l.length <= 60, `${JSON.stringify(l)} is ${l.length} columns`);
    const piped = await runCli([
      'messages',
      'list',
      '--sink',
      sink.url,
      `--token=${sink.token ?? ''}`,
    ]);
    assert.match(piped.stdout.split('\n')[0], /SIZE$/);
    assert.ok(piped.stdout.includes('notifications-with-a-long-name@shop.example.com'));
  });

  it('check: the result table and its summary fit 60 and 120 columns; -o wide cuts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-tables-'));
    const long = 'a-very-long-local-part.with.dots+tag@a-long-subdomain.example-company.com';
    const file = join(dir, 'list.txt');
    writeFileSync(file, `${long}\nadmin@mailinator.com\nnot an address\n`);
    try {
      for (const cols of [60, 120]) {
        const lines = (await onTerminal(cols, `check --offline ${file}`)).map((l) =>
          l.replaceAll('\u001b[K', ''),
        );
        for (const l of lines)
          assert.ok(l.length <= cols, `${JSON.stringify(l)} is ${l.length} columns`);
        assert.match(lines[0], /^VERDICT +ADDRESS +REASONS$/);
        assert.ok(lines.some((l) => /^risky +admin@mailinator\.com +disposable/.test(l)));
        assert.match(lines.join('\n'), /^3 addresses checked/m);
      }
      const narrow = await onTerminal(60, `check --offline ${file}`);
      assert.ok(
        narrow.some((l) => /^valid +a-very-long-local-part\S*…/.test(l)),
        'address cut',
      );
      const wide = await onTerminal(60, `check --offline -o wide ${file}`);
      assert.ok(
        wide.some((l) => l.includes(long)),
        'whole address',
      );
      assert.ok(
        wide.some((l) => /disposable, free_provider, role_account$/.test(l)),
        'all reasons',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
