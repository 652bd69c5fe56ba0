/**
 * `kubectl email-validate open` and `run --local --keep-open`, run as the user
 * runs them (the built CLI as a child process): against a sink reached with
 * --sink, against a sink in the fake cluster through the tunnel (the inbox is
 * served by the same bundle the cluster runs), with $BROWSER, and with no
 * browser at all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startSink, silentLogger, type RunningSink } from '../../../sink/index.ts';
import { startFakeKube, type FakeKube } from '../../support/fake-kube/index.ts';
import { cleanEnv, RUN_JS, runCli, runUntil } from '../cli/cli-harness.ts';

const NO_DISPLAY = { DISPLAY: '', WAYLAND_DISPLAY: '', BROWSER: '' };

/** Waits for a file to appear (written by a detached process), with a deadline. */
async function fileAppears(path: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return readFileSync(path, 'utf8');
}

async function assertInboxPage(url: string): Promise<void> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await res.text();
  const script = /src="(ui\/app-[A-Z0-9]+\.js)"/.exec(html);
  assert.ok(script, 'the page loads its hashed script');
  const js = await fetch(new URL(script[1], url));
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
}

describe('open and run --keep-open (integration)', function () {
  this.timeout(120_000);
  let sink: RunningSink;
  let dir: string;

  before(async () => {
    sink = await startSink({ logger: silentLogger });
    dir = mkdtempSync(join(tmpdir(), 'ev-open-'));
  });
  after(async () => {
    await sink?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('open --sink --no-browser prints the inbox URL with the token in the fragment, and returns', async () => {
    const r = await runCli(['open', '--sink', sink.url, '--token', sink.token!, '--no-browser'], {
      env: NO_DISPLAY,
    });
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.trim());
    assert.equal(`${url.origin}`, sink.url);
    assert.equal(new URLSearchParams(url.hash.slice(1)).get('token'), sink.token);
    assert.equal(
      url.search,
      '',
      "the token is never in the query (it would reach the server's logs)",
    );
    await assertInboxPage(url.href);
    const json = await runCli(
      ['open', '--sink', sink.url, '--token', sink.token!, '--no-browser', '-o', 'json'],
      { env: NO_DISPLAY },
    );
    assert.deepEqual(JSON.parse(json.stdout), [{ name: new URL(sink.url).host, url: url.href }]);
  });

  it('opens $BROWSER with the URL; without any browser it still succeeds and says so', async () => {
    const record = join(dir, 'browser-args');
    const fakeBrowser = join(dir, 'fake-browser.sh');
    writeFileSync(
      fakeBrowser,
      `#!/bin/sh\nprintf '%s' "$1" > ${record}.tmp && mv ${record}.tmp ${record}\n`,
    );
    chmodSync(fakeBrowser, 0o755);
    const r = await runCli(['open', '--sink', sink.url, '--token', sink.token!], {
      env: { ...NO_DISPLAY, BROWSER: fakeBrowser },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fileAppears(record), r.stdout.trim());
    assert.match(r.stderr, /opened the inbox in the browser/);

    const none = await runCli(['open', '--sink', sink.url, '--token', sink.token!], {
      env: { ...NO_DISPLAY, BROWSER: join(dir, 'no-such-browser') },
    });
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /open the URL above in a browser: could not start/);
    const headless = await runCli(['open', '--sink', sink.url, '--token', sink.token!], {
      env: NO_DISPLAY,
    });
    assert.equal(headless.code, 0, headless.stderr);
    assert.match(headless.stderr, /no browser here/);
  });

  it('a wrong token or an unreachable sink fails before any browser opens', async () => {
    const wrong = await runCli(
      ['open', '--sink', sink.url, '--token', 'not-the-token', '--no-browser'],
      { env: NO_DISPLAY },
    );
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /EV_ERR_UNAUTHORIZED/);
    assert.equal(wrong.stdout, '');
    const gone = await runCli(['open', '--sink', 'http://127.0.0.1:1', '--no-browser'], {
      env: NO_DISPLAY,
    });
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /EV_ERR_SINK_UNREACHABLE/);
  });

  it('run --local --keep-open keeps the embedded sink and its inbox up after the report, until Ctrl-C (exit code of the flows)', async () => {
    const flow = join(dir, 'flow.yaml');
    writeFileSync(
      flow,
      [
        'apiVersion: email-validate.dev/v1',
        'kind: EmailFlow',
        'metadata: { name: keep-open }',
        'steps:',
        '  - send: { from: app@example.com, to: kept@example.com, subject: kept for the inbox, text: hello }',
        '  - expect: { to: kept@example.com, subject: kept for the inbox }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [RUN_JS, 'run', '--local', '--keep-open', flow], {
      env: cleanEnv(NO_DISPLAY),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no inbox URL printed\n${stderr}`)), 60_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /its inbox: (\S+)\n/.exec(stderr); // a whole line: chunks may end mid-URL
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('close', (code) =>
        reject(new Error(`exited ${code} before printing the inbox URL\n${stderr}`)),
      );
    });
    await assertInboxPage(url);
    const token = new URLSearchParams(new URL(url).hash.slice(1)).get('token');
    const list = await fetch(new URL('/api/messages', url), {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await list.json()) as { items: Array<{ subject: string }> };
    assert.deepEqual(
      body.items.map((m) => m.subject),
      ['kept for the inbox'],
    );
    child.kill('SIGINT');
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, stderr);
    // Read only now: stdout and stderr are separate pipes, either may arrive first.
    assert.match(stdout, /keep-open/);
    await assert.rejects(fetch(url), 'the sink is stopped after Ctrl-C');
  });
});

describe('open against a sink in the (fake) cluster (integration)', function () {
  this.timeout(180_000);
  let fake: FakeKube;
  before(async () => {
    fake = await startFakeKube();
  });
  after(async () => {
    await fake?.close();
  });

  it('finds the sink by namespace, tunnels to it, serves the inbox from the bundle; Ctrl-C closes the tunnel', async () => {
    const env = { KUBECONFIG: fake.kubeconfigPath, ...NO_DISPLAY };
    const up = await runCli(['up', '-o', 'json'], { env, timeoutMs: 90_000 });
    assert.equal(up.code, 0, up.stderr);
    const { namespace } = JSON.parse(up.stdout) as { namespace: string };
    const open = await runUntil(
      ['open', namespace, '--no-browser'],
      (l) => l.startsWith('http://'),
      { env, timeoutMs: 60_000 },
    );
    const url = new URL(open.lines.find((l) => l.startsWith('http://'))!);
    assert.equal(url.hostname, '127.0.0.1');
    const fragment = new URLSearchParams(url.hash.slice(1));
    assert.equal(fragment.get('namespace'), namespace);
    await assertInboxPage(url.href);
    const info = await fetch(new URL('/api/info', url), {
      headers: { authorization: `Bearer ${fragment.get('token')}` },
    });
    assert.equal(info.status, 200, "the token in the fragment is the sink's");
    open.child.kill('SIGINT');
    const [code] = (await once(open.child, 'close')) as [number | null];
    assert.equal(code, 130);
    await assert.rejects(fetch(url.href), 'the tunnel is closed');
    const down = await runCli(['down', namespace], { env });
    assert.equal(down.code, 0, down.stderr);
  });
});
