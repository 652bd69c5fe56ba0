import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from './cli-harness.ts';
import { closest, closestCommand, editDistance } from '../../../plugin/lib/suggest.ts';

interface ManifestFlag {
  char?: string;
  name: string;
  aliases?: string[];
}
interface Manifest {
  commands: Record<
    string,
    {
      flags: Record<string, ManifestFlag>;
      examples?: unknown[];
      description?: string;
      summary?: string;
    }
  >;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest;
const commandIds = Object.keys(manifest.commands).map((id) => id.replaceAll(':', ' '));

describe('one vocabulary across commands', function () {
  this.timeout(30_000);

  it('a short flag means one thing in every command (-o output, -c concurrency, -n namespace, -f follow)', () => {
    const meaning = new Map<string, Set<string>>();
    for (const command of Object.values(manifest.commands)) {
      for (const flag of Object.values(command.flags)) {
        if (flag.char) meaning.set(flag.char, (meaning.get(flag.char) ?? new Set()).add(flag.name));
      }
    }
    for (const [char, names] of meaning)
      assert.equal(names.size, 1, `-${char} means ${[...names].join(' and ')}`);
    assert.deepEqual([...meaning.get('o')!], ['output']);
    assert.deepEqual([...meaning.get('c')!], ['concurrency']);
    assert.deepEqual([...meaning.get('f')!], ['follow']);
    for (const id of [
      'check',
      'run',
      'send',
      'tail',
      'messages:list',
      'messages:get',
      'manifests',
    ]) {
      assert.equal(manifest.commands[id].flags.output?.char, 'o', `${id} has -o/--output`);
    }
  });

  it('-h is --help', async () => {
    for (const args of [['-h'], ['check', '-h'], ['messages', 'list', '-h']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /USAGE/);
    }
  });

  it('check accepts -o json (JSON lines), and --format still works with a deprecation warning', async () => {
    const json = await runCli(['check', '--offline', '-o', 'json', '-'], {
      input: 'a@example.com\nnot an address\n',
    });
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { address?: string; input?: string });
    assert.equal(rows.length, 2);
    const old = await runCli(['check', '--offline', '--format', 'csv', '-'], {
      input: 'a@example.com\n',
    });
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout.split('\n')[0], /,/);
    assert.match(old.stderr, /"--format" flag has been deprecated/);
  });

  it('a mistyped command gets "did you mean", spelt as the user types it', async () => {
    const r = await runCli(['mesages', 'list']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'error: unknown command "mesages list"\nhint: did you mean "kubectl email-validate messages list"?\n',
    );
    const sub = await runCli(['messages', 'shw', 'x']);
    assert.match(sub.stderr, /^error: unknown command "messages shw x"\n/);
    const far = await runCli(['frobnicate']);
    assert.equal(far.code, 2);
    assert.match(far.stderr, /hint: run "kubectl email-validate --help" for the commands/);
  });

  it('a mistyped flag gets "did you mean"', async () => {
    const r = await runCli(['tail', '--tooo', 'x', '--sink', 'http://127.0.0.1:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: Nonexistent flag: --tooo\nhint: did you mean --to\?/);
    const send = await runCli([
      'send',
      '--conut',
      '3',
      '--to',
      'a@example.com',
      '--sink',
      'http://127.0.0.1:1',
    ]);
    assert.match(send.stderr, /hint: did you mean --count\?/);
  });

  it('help and hints name only commands that exist', () => {
    const text =
      readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8') +
      [
        'plugin/lib/sink-client.ts',
        'plugin/lib/sink-fanout.ts',
        'plugin/lib/sink-target.ts',
        'package.json',
      ]
        .map((p) => readFileSync(join(ROOT, p), 'utf8'))
        .join('\n');
    const refs = [
      ...text.matchAll(/(?:<%= config\.bin %>|kubectl email-validate) ([a-z]+)(?: ([a-z]+))?/g),
    ];
    assert.ok(refs.length > 20, 'found the references');
    const topics = new Set(commandIds.filter((c) => c.includes(' ')).map((c) => c.split(' ')[0]));
    for (const [whole, first, second] of refs) {
      if (topics.has(first))
        assert.ok(commandIds.includes(`${first} ${second}`), `${whole}: no such command`);
      else assert.ok(commandIds.includes(first), `${whole}: no such command`);
    }
  });

  it('suggestions: edit distance with swaps, a bound on how far a guess may be', () => {
    assert.equal(editDistance('tial', 'tail'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(closest('tial', ['tail', 'run']), 'tail');
    assert.equal(closest('xyz', ['tail', 'run']), null);
    assert.equal(closest('tail', ['tail']), null, 'an exact name is not a typo');
    assert.equal(
      closestCommand(['mesages', 'lst'], ['messages list', 'messages get', 'tail']),
      'messages list',
    );
    assert.equal(closestCommand(['tial', 'x'], ['messages list', 'tail']), 'tail');
  });
});
