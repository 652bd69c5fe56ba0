/**
 * Issue 12: `check` stopped with Ctrl-C says how far it got and how to resume
 * next time, even while it waits on a standard input that sends nothing more,
 * and never suggests a state file that does not exist.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { RUN_JS, cleanEnv } from './cli-harness.ts';

describe('check stopped by Ctrl-C', function () {
  this.timeout(30_000);

  it('with stdin still open: exit 130, the results so far on stdout, how far it got, no --state to resume from', async () => {
    const child = spawn(process.execPath, [RUN_JS, 'check', '--offline', '--progress', '-'], {
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write('a@example.com\nb@example.com\nnot-an-address\n');
    // The progress line counts results: all three checked means it now waits on stdin.
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/\r3 checked/.test(stderr)) resolve();
      });
      child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
    });
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    assert.equal(stdout.trim().split('\n').length, 3, 'the three results were written');
    assert.match(
      stderr,
      /error: interrupted after 3 addresses checked; the results so far were written \[EV_ERR_INTERRUPTED\]\n/,
    );
    assert.match(
      stderr,
      /hint: this run cannot be resumed; next time add --state FILE and --out FILE/,
    );
    assert.doesNotMatch(stderr, /same --state/);
    child.stdin.destroy();
  });
});
