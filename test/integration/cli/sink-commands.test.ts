import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink } from '../../../sink/index.ts';
import type { MessageDetail, MessageList, SinkEvent } from '../../../src/protocol.ts';
import { RUN_JS, assertLoadAndRefusals, jsonLines, runCli, runUntil } from './cli-harness.ts';

type Sink = Awaited<ReturnType<typeof startSink>>;

interface SendJson {
  messages: number;
  accepted: number;
  rejected: number;
  deferred: number;
  failed: number;
  run: string;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('CLI against an embedded sink (--sink)', function () {
  this.timeout(60_000);
  let sink: Sink;
  let dir: string;
  let target: string[];

  before(async () => {
    sink = await startSink({ host: '127.0.0.1', smtpPort: 0, httpPort: 0 });
    target = ['--sink', sink.url, '--token', sink.token ?? ''];
    dir = await mkdtemp(join(tmpdir(), 'ev-cli-'));
  });
  after(async () => {
    await sink?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("send --count 100, then tail --no-follow -o json shows all 100 plus the conventions' rejections, deferrals and bounces", async () => {
    const sent = await runCli([
      'send',
      ...target,
      '--to',
      'user+{{n}}@example.com',
      '--subject',
      'Load {{n}}',
      '--count',
      '100',
      '--concurrency',
      '8',
      '-o',
      'json',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    const report = JSON.parse(sent.stdout) as SendJson;
    assert.deepEqual(
      [report.messages, report.accepted, report.rejected, report.deferred, report.failed],
      [100, 100, 0, 0, 0],
    );
    assert.match(sent.stderr, /Sending 100 message\(s\) to 127\.0\.0\.1:\d+/);

    const conv = await runCli([
      'send',
      ...target,
      '--to',
      'bounce@example.com',
      '--to',
      'defer@example.com',
      '--to',
      'asyncbounce@example.com',
      '-o',
      'json',
    ]);
    assert.equal(conv.code, 0, conv.stderr);
    const c = JSON.parse(conv.stdout) as SendJson;
    assert.deepEqual(
      [c.accepted, c.rejected, c.deferred],
      [1, 1, 1],
      'rejections and deferrals are results, not crashes',
    );

    // The asynchronous bounce comes after the accept: wait for its event in follow mode.
    const follow = await runUntil(['tail', ...target, '-o', 'json', '--type', 'bounced'], (l) =>
      l.includes('"message.bounced"'),
    );
    follow.child.kill('SIGTERM');

    const tail = await runCli(['tail', ...target, '--no-follow', '-o', 'json']);
    assert.equal(tail.code, 0, tail.stderr);
    const events = jsonLines<SinkEvent>(tail.stdout);
    assertLoadAndRefusals(events);
    for (const e of events)
      assert.deepEqual(
        Object.keys(e).sort(),
        ['data', 'seq', 'time', 'type'],
        'the SinkEvent schema, unchanged',
      );
  });

  it('filters by --to, --subject and --type, and prints plain text lines when stdout is not a terminal', async () => {
    const one = await runCli([
      'tail',
      ...target,
      '--no-follow',
      '-o',
      'json',
      '--to',
      '/^user\\+7@/',
      '--type',
      'received',
    ]);
    assert.equal(one.code, 0, one.stderr);
    const events = jsonLines<SinkEvent<'message.received'>>(one.stdout);
    assert.equal(events.length, 1);
    assert.equal(events[0].data.subject, 'Load 7');

    const subj = await runCli([
      'tail',
      ...target,
      '--no-follow',
      '--subject',
      '/^load 1\\d$/',
      '--type',
      'received',
      '--utc',
    ]);
    assert.equal(subj.code, 0, subj.stderr);
    const lines = subj.stdout.trim().split('\n');
    assert.equal(lines.length, 10, subj.stdout);
    for (const line of lines) {
      assert.match(
        line,
        /^\d\d:\d\d:\d\d\.\d{3} {2}RECEIVED {2}test@domain\.com -> user\+1\d@example\.com {2}"Load 1\d"/,
      );
      assert.ok(!line.includes('\u001b['), 'no colour when stdout is a pipe');
    }

    const bad = await runCli(['tail', ...target, '--rejected-only']);
    assert.equal(bad.code, 2, 'unknown flags are usage errors');

    const rejections = await runCli([
      'tail',
      ...target,
      '--no-follow',
      '--type',
      'rejected,deferred',
    ]);
    assert.match(rejections.stdout, /REJECTED {2}test@domain\.com -> bounce@example\.com {2}550/);
    assert.match(rejections.stdout, /DEFERRED {2}test@domain\.com -> defer@example\.com {2}451/);
  });

  it('colours lines by type on a terminal (script(1) provides one), and not with NO_COLOR', async () => {
    const command = `${process.execPath} ${RUN_JS} tail --no-follow --type rejected,received --to '/^(bounce|user\\+3)@/' --sink ${sink.url} --token ${sink.token ?? ''}`;
    const onTty = await runCli(['-qec', command, '/dev/null'], {
      script: '/usr/bin/script',
      env: { TERM: 'xterm' },
      direct: true,
    });
    assert.equal(onTty.code, 0, onTty.stderr + onTty.stdout);
    // eslint-disable-next-line no-control-regex -- asserting on terminal colour escapes
    assert.match(onTty.stdout, /\u001b\[31m\u001b\[1mREJECTED/, 'rejections red and bold');
    // eslint-disable-next-line no-control-regex -- asserting on terminal colour escapes
    assert.match(onTty.stdout, /\u001b\[32mRECEIVED/, 'received green');
    const noColor = await runCli(['-qec', command, '/dev/null'], {
      script: '/usr/bin/script',
      env: { TERM: 'xterm', NO_COLOR: '1' },
      direct: true,
    });
    assert.equal(noColor.code, 0, noColor.stderr + noColor.stdout);
    assert.match(noColor.stdout, /REJECTED/);
    assert.ok(!noColor.stdout.includes('\u001b['), 'NO_COLOR turns colour off even on a terminal');
  });

  it('--since a seq prints only later events', async () => {
    const all = jsonLines<SinkEvent>(
      (await runCli(['tail', ...target, '--no-follow', '-o', 'json'])).stdout,
    );
    const middle = all[Math.floor(all.length / 2)].seq;
    const later = jsonLines<SinkEvent>(
      (await runCli(['tail', ...target, '--no-follow', '-o', 'json', '--since', `seq:${middle}`]))
        .stdout,
    );
    assert.ok(later.length > 0);
    assert.ok(later.every((e) => e.seq > middle));
    assert.equal(later.length, all.filter((e) => e.seq > middle).length);
    const recent = await runCli(['tail', ...target, '--no-follow', '-o', 'json', '--since', '10m']);
    assert.equal(
      jsonLines(recent.stdout).length,
      all.length,
      'everything happened in the last 10 minutes',
    );
  });

  it('messages list / get / raw / clear', async () => {
    const list = await runCli(['messages', 'list', ...target, '--to', 'user+42@', '-o', 'json']);
    assert.equal(list.code, 0, list.stderr);
    const page = JSON.parse(list.stdout) as MessageList;
    assert.equal(page.total, 1);
    const id = page.items[0].id;

    const table = await runCli(['messages', 'list', ...target, '--limit', '5']);
    assert.match(table.stdout.split('\n')[0], /^ID +TIME +FROM +TO +SUBJECT +SIZE$/);
    assert.equal(table.stdout.trim().split('\n').length, 7, 'header, 5 rows, "more" line');

    const get = await runCli(['messages', 'get', id, ...target, '-o', 'json']);
    assert.equal(get.code, 0, get.stderr);
    const detail = JSON.parse(get.stdout) as MessageDetail;
    assert.equal(detail.subject, 'Load 42');
    assert.equal(detail.text?.trim(), 'Test email for validation');

    const text = await runCli(['messages', 'get', id, ...target]);
    assert.match(text.stdout, /^ID: +\S+/m);
    assert.match(text.stdout, /^ {2}Subject: Load 42$/m);

    const yaml = await runCli(['messages', 'get', id, ...target, '-o', 'yaml']);
    assert.match(yaml.stdout, /^subject: Load 42$/m);

    const raw = await runCli(['messages', 'raw', id, ...target]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.match(raw.stdout, /^Subject: Load 42\r?$/m);
    assert.match(raw.stdout, /X-Email-Validate-Seq: 42/);

    // A unique prefix, any case, and `latest` name a message too; an ambiguous prefix is refused with the candidates.
    const byPrefix = await runCli([
      'messages',
      'get',
      id.slice(0, 20).toLowerCase(),
      ...target,
      '-o',
      'json',
    ]);
    assert.equal(byPrefix.code, 0, byPrefix.stderr);
    assert.equal((JSON.parse(byPrefix.stdout) as MessageDetail).id, id);
    const rawByPrefix = await runCli(['messages', 'raw', id.slice(0, 20), ...target]);
    assert.match(rawByPrefix.stdout, /X-Email-Validate-Seq: 42/);
    const newest = (
      JSON.parse(
        (await runCli(['messages', 'list', ...target, '--limit', '1', '-o', 'json'])).stdout,
      ) as MessageList
    ).items[0];
    const latest = await runCli(['messages', 'get', 'latest', ...target, '-o', 'json']);
    assert.equal(latest.code, 0, latest.stderr);
    assert.equal((JSON.parse(latest.stdout) as MessageDetail).id, newest.id);
    const ambiguous = await runCli(['messages', 'get', id.slice(0, 1), ...target]);
    assert.equal(ambiguous.code, 2);
    assert.match(
      ambiguous.stderr,
      /^error: message id "\w" is ambiguous: \d+ messages start with it \(.*\) \[EV_ERR_INVALID_OPTION\]\nhint: type more characters/,
    );

    const missing = await runCli(['messages', 'get', 'no-such-id', ...target]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: .*\[EV_ERR_NOT_FOUND\]\nhint: /);

    const clear = await runCli(['messages', 'clear', ...target, '-o', 'json']);
    assert.equal(clear.code, 0, clear.stderr);
    assert.ok((JSON.parse(clear.stdout) as { deleted: number }).deleted >= 100);
    const empty = JSON.parse(
      (await runCli(['messages', 'list', ...target, '-o', 'json'])).stdout,
    ) as MessageList;
    assert.equal(empty.total, 0);
  });

  it("rules set changes the sink's behaviour; rules get shows them; invalid rules are refused with exit 2", async () => {
    const file = join(dir, 'rules.yaml');
    await writeFile(
      file,
      'rules:\n  - name: vip-blocked\n    match: { recipient: "vip@example.com" }\n    stage: rcpt\n    reject: { code: 550, enhanced: 5.7.1, text: "VIP mailbox closed" }\n',
    );
    const before = JSON.parse(
      (await runCli(['send', ...target, '--to', 'vip@example.com', '-o', 'json'])).stdout,
    ) as SendJson;
    assert.equal(before.accepted, 1);

    const set = await runCli(['rules', 'set', file, ...target]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Rules updated: 1 rule\(s\) active/);

    const after = await runCli(['send', ...target, '--to', 'vip@example.com']);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /0 accepted, 1 rejected/);
    assert.match(after.stdout, /550 5\.7\.1 VIP mailbox closed/);

    const get = await runCli(['rules', 'get', ...target]);
    assert.match(get.stdout, /vip-blocked/);
    const json = JSON.parse((await runCli(['rules', 'get', ...target, '-o', 'json'])).stdout) as {
      rules: Array<{ name: string }>;
    };
    assert.equal(json.rules[0].name, 'vip-blocked');

    const invalid = await runCli(['rules', 'set', '-', ...target], {
      input: 'rules:\n  - name: x\n    stage: nowhere\n',
    });
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /EV_ERR_RULES_INVALID/);
    const badFile = join(dir, 'bad-rules.yaml');
    await writeFile(badFile, 'rules:\n  - bogus: 1\n');
    const named = await runCli(['rules', 'set', badFile, '--sink', 'http://127.0.0.1:1']);
    assert.equal(named.code, 2, 'checked before connecting: the unreachable sink is never asked');
    assert.match(
      named.stderr,
      /^error: \S+bad-rules\.yaml:2: rules\[0\]\.bogus is not a known key/m,
    );

    const reset = await runCli(['rules', 'set', '-', ...target], { input: 'rules: []\n' });
    assert.equal(reset.code, 0, reset.stderr);
    const again = JSON.parse(
      (await runCli(['send', ...target, '--to', 'vip@example.com', '-o', 'json'])).stdout,
    ) as SendJson;
    assert.equal(again.accepted, 1);
  });

  it('a bad regular expression is a usage error (exit 2) naming the flag, before any connection', async () => {
    const r = await runCli(['tail', '--sink', 'http://127.0.0.1:1', '--to', '/(unclosed/']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: --to is not a valid regular expression: .* \[EV_ERR_INVALID_OPTION\]\nhint: /,
    );
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  });

  it('tail --to is plain text by default (a plus address matches itself), /…/ an expression; -f is --follow', async () => {
    for (const to of ['plain+7@example.com', 'plainn7@example.com', 'xplain+7@example.com']) {
      assert.equal(
        (await runCli(['send', ...target, '--to', to, '--subject', `Plain ${to}`])).code,
        0,
      );
    }
    const plain = await runCli([
      'tail',
      ...target,
      '--no-follow',
      '-o',
      'json',
      '--to',
      'PLAIN+7@example.com',
      '--type',
      'received',
    ]);
    assert.equal(plain.code, 0, plain.stderr);
    const want = ['Plain plain+7@example.com', 'Plain xplain+7@example.com'];
    assert.deepEqual(
      jsonLines<SinkEvent<'message.received'>>(plain.stdout)
        .map((e) => e.data.subject)
        .sort(),
      want,
      'the + is literal, the match a substring',
    );
    const list = JSON.parse(
      (await runCli(['messages', 'list', ...target, '--to', 'PLAIN+7@example.com', '-o', 'json']))
        .stdout,
    ) as MessageList;
    assert.deepEqual(
      list.items.map((m) => m.subject).sort(),
      want,
      'the same as messages list --to',
    );
    const re = await runCli([
      'tail',
      ...target,
      '--no-follow',
      '-o',
      'json',
      '--to',
      '/^plain\\+7@/',
      '--type',
      'received',
    ]);
    assert.deepEqual(
      jsonLines<SinkEvent<'message.received'>>(re.stdout).map((e) => e.data.subject),
      ['Plain plain+7@example.com'],
    );
    const listRe = JSON.parse(
      (await runCli(['messages', 'list', ...target, '--to', '/^plain\\+7@/', '-o', 'json'])).stdout,
    ) as MessageList;
    assert.deepEqual(
      listRe.items.map((m) => m.subject),
      ['Plain plain+7@example.com'],
      'messages list takes /…/ as tail does',
    );
    const badList = await runCli(['messages', 'list', ...target, '--subject', '/a(?=b)/']);
    assert.equal(badList.code, 2, badList.stderr);
    assert.match(
      badList.stderr,
      /^error: --subject is not a valid regular expression: it uses lookahead/,
    );
    const follow = await runUntil(
      ['tail', ...target, '-f', '-o', 'json', '--to', 'plainn7@'],
      (l) => l.includes('Plain plainn7'),
    );
    follow.child.kill('SIGTERM');
  });

  it('an unreachable --sink exits 3 with a hint', async () => {
    const port = await closedPort();
    for (const args of [
      ['tail', '--no-follow'],
      ['messages', 'list'],
      ['send', '--to', 'a@example.com'],
    ]) {
      const r = await runCli([...args, '--sink', `http://127.0.0.1:${port}`]);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error: .*\n/);
      assert.match(r.stderr, /^hint: .+/m);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
  });

  it('Ctrl-C ends a following tail quietly with exit 130', async () => {
    const follow = await runUntil(['tail', ...target], (l) => l.length > 0);
    const exited = new Promise<[number | null, string]>((resolve) => {
      let stderr = '';
      follow.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      follow.child.on('close', (code) => resolve([code, stderr]));
    });
    follow.child.kill('SIGINT');
    const [code, stderr] = await exited;
    assert.equal(code, 130);
    assert.equal(stderr, '');
  });

  it('a wrong token is reported as such', async () => {
    const r = await runCli(['messages', 'list', '--sink', sink.url, '--token', 'wrong']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /EV_ERR_UNAUTHORIZED/);
  });

  it('--token-file and EV_SINK / EV_TOKEN work', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${sink.token}\n`);
    const a = await runCli([
      'messages',
      'list',
      '--sink',
      sink.url,
      '--token-file',
      tokenFile,
      '-o',
      'json',
    ]);
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli(['messages', 'list', '-o', 'json'], {
      env: { EV_SINK: sink.url, EV_TOKEN: sink.token ?? '' },
    });
    assert.equal(b.code, 0, b.stderr);
  });
});
