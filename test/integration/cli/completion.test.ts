import { describe, it, before, after } from 'mocha';
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETE_JS, ROOT, runCli } from './cli-harness.ts';

/** Runs the completion executable as kubectl does: the words after the plugin name, the last being completed. */
async function complete(
  words: string[],
  env: Record<string, string> = {},
): Promise<{ candidates: string[]; directive: string }> {
  const r = await runCli(words, { script: COMPLETE_JS, env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const directive = lines.pop() ?? '';
  return { candidates: lines, directive };
}

describe('completion (kubectl_complete-email_validate)', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ev-complete-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is executable and named in package.json', async () => {
    accessSync(COMPLETE_JS, constants.X_OK);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(pkg.bin['kubectl_complete-email_validate'], 'plugin/bin/complete.js');
  });

  it('offers commands and topics, filtered by the typed prefix', async () => {
    const all = await complete(['']);
    for (const c of ['messages', 'rules', 'send', 'tail', 'version'])
      assert.ok(all.candidates.includes(c), `${c} in ${all.candidates.join(' ')}`);
    assert.equal(all.directive, ':4', 'no file names in place of a command');
    assert.deepEqual((await complete(['me'])).candidates, ['messages']);
    assert.deepEqual((await complete(['messages', ''])).candidates, [
      'clear',
      'get',
      'list',
      'raw',
    ]);
    assert.deepEqual((await complete(['rules', ''])).candidates, ['get', 'set']);
  });

  it("offers a command's flags, including --no-follow", async () => {
    const flags = (await complete(['tail', '--'])).candidates;
    for (const f of [
      '--to',
      '--from',
      '--subject',
      '--type',
      '--since',
      '--no-follow',
      '--output',
      '--sink',
      '--token',
      '--context',
      '--namespace',
      '--help',
    ]) {
      assert.ok(flags.includes(f), `${f} in ${flags.join(' ')}`);
    }
    assert.deepEqual((await complete(['send', '--co'])).candidates, [
      '--count',
      '--concurrency',
      '--context',
    ]);
  });

  it('offers flag values: output formats, event types, kubeconfig contexts', async () => {
    assert.deepEqual((await complete(['messages', 'list', '-o', ''])).candidates, [
      'text',
      'wide',
      'json',
      'yaml',
    ]);
    assert.deepEqual((await complete(['tail', '-o', ''])).candidates, ['text', 'json']);
    assert.deepEqual((await complete(['tail', '--type', 'bo'])).candidates, ['bounced']);
    assert.deepEqual((await complete(['tail', '--type=message.re'])).candidates, [
      '--type=message.received',
      '--type=message.rejected',
      '--type=message.released',
    ]);

    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    await writeFile(
      a,
      'apiVersion: v1\nkind: Config\ncontexts:\n- name: kind-dev\n  context: {cluster: c, user: u}\n- name: staging\n  context: {cluster: c, user: u}\n',
    );
    await writeFile(
      b,
      'apiVersion: v1\nkind: Config\ncontexts:\n- name: prod\n  context: {cluster: c, user: u}\n',
    );
    assert.deepEqual(
      (await complete(['tail', '--context', ''], { KUBECONFIG: `${a}:${b}` })).candidates,
      ['kind-dev', 'staging', 'prod'],
    );
    assert.deepEqual(
      (await complete(['tail', '--kubeconfig', b, '--context', ''], { KUBECONFIG: a })).candidates,
      ['prod'],
      '--kubeconfig wins over KUBECONFIG',
    );
    assert.deepEqual(
      (await complete(['tail', '--context', 'x'], { KUBECONFIG: join(dir, 'missing.yaml') }))
        .candidates,
      [],
      'a missing kubeconfig offers nothing, quietly',
    );
  });

  it('lets the shell complete file names where a file is expected', async () => {
    assert.equal((await complete(['rules', 'set', ''])).directive, ':0');
    assert.equal((await complete(['tail', '--token-file', ''])).directive, ':0');
    assert.equal((await complete(['messages', 'get', ''])).directive, ':4');
    // Every flag and argument that takes a file, in every command (issue 12).
    const fileWords = [
      ['run', ''],
      ['run', '--local', ''],
      ['run', '--junit', ''],
      ['check', ''],
      ['check', '--offline', ''],
      ['check', '--state', ''],
      ['check', '--out', ''],
      ['check', '--provider', ''],
      ['up', '--rules', ''],
      ['manifests', '--rules', ''],
      ['sink', '--rules', ''],
      ['sink', '--tls-cert', ''],
      ['sink', '--auth-users-file', ''],
      ['send', '--token-file', ''],
      ['status', '--kubeconfig', ''],
    ];
    for (const words of fileWords)
      assert.equal((await complete(words)).directive, ':0', words.join(' '));
    for (const words of [
      ['tail', '--to', ''],
      ['check', '--rate', ''],
      ['run', '--timeout', ''],
      ['send', '--to', ''],
    ]) {
      assert.equal((await complete(words)).directive, ':4', `${words.join(' ')}: not a file`);
    }
  });
});
