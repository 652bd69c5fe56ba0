/**
 * Issue 12, "nothing lost when stopped": `run --junit` stopped by Ctrl-C,
 * SIGTERM or --timeout still prints the report and writes the JUnit file,
 * the interrupted step marked, the rest skipped; SIGTERM exits 143.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, RUN_JS, runCli } from '../cli/cli-harness.ts';
import { childrenNamed, parseXml } from '../../unit/src/flow/xml-parse.ts';

const FLOW = `apiVersion: email-validate.dev/v1
kind: EmailFlow
metadata: { name: stopped }
steps:
  - send: { to: "user+{{run.id}}@example.test", subject: Hello }
  - name: waits for a mail that never comes
    timeout: 5m
    expect: { subject: never }
  - name: after the wait
    expect: { subject: Hello }
`;

interface Case {
  name: string;
  status: string;
  children: string[];
}

function junitCases(file: string): Case[] {
  const root = parseXml(readFileSync(file, 'utf8'));
  return childrenNamed(childrenNamed(root, 'testsuite')[0], 'testcase').map((c) => ({
    name: c.attrs.name,
    status: '',
    children: c.children.map((x) => x.name),
  }));
}

describe('run stopped early still reports', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'ev-run-stop-'));
  const flow = join(dir, 'stopped.yaml');
  writeFileSync(flow, FLOW);
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: the report and the JUnit file are written (interrupted step an error, the rest skipped), exit ${code}`, async () => {
      const junit = join(dir, `${signal}.xml`);
      const child = spawn(
        process.execPath,
        [RUN_JS, 'run', '--local', flow, '--junit', junit, '-o', 'json'],
        { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      // -o json prints each finished step on stderr: the send step done means the wait has begun.
      await new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          if (/✓ .*send/i.test(stderr)) resolve();
        });
        child.on('close', () => reject(new Error(`exited early: ${stderr}`)));
      });
      child.kill(signal);
      assert.equal(await closed, code, stderr);
      const report = JSON.parse(stdout) as {
        flows: Array<{ steps: Array<{ status: string; errorCode?: string }> }>;
      };
      assert.deepEqual(
        report.flows[0].steps.map((s) => s.status),
        ['passed', 'error', 'skipped'],
      );
      assert.equal(report.flows[0].steps[1].errorCode, 'EV_ERR_INTERRUPTED');
      assert.ok(existsSync(junit), 'the JUnit file exists');
      assert.deepEqual(
        junitCases(junit).map((c) => c.children),
        [[], ['error'], ['skipped']],
      );
    });
  }

  it('--timeout: the report and JUnit are written, the cut step failed and the rest skipped', async () => {
    const junit = join(dir, 'timeout.xml');
    const r = await runCli(['run', '--local', flow, '--junit', junit, '--timeout', '2s']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /✗ waits for a mail that never comes/);
    assert.match(r.stdout, /skipped: the run reached its --timeout/);
    const children = junitCases(junit).map((c) => c.children);
    assert.deepEqual(children, [[], ['failure'], ['skipped']]);
  });
});
