/**
 * plugin/bin/run.js as kubectl starts it: with whatever `node` is first on the
 * user's PATH (Node 20 on these machines), re-executing under the pinned Node.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

const ROOT = join(import.meta.dirname, '../../..');
const RUN = join(ROOT, 'plugin', 'bin', 'run.js');
/** PATH without the project's node_modules/.bin: what a user's shell has. */
const USER_PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.includes('node_modules'))
  .join(delimiter);
const PATH_NODE = spawnSync('sh', ['-c', 'command -v node'], {
  env: { PATH: USER_PATH },
  encoding: 'utf8',
}).stdout.trim();

describe('launcher (plugin/bin/run.js)', function () {
  this.timeout(30_000);

  it('runs the CLI on a supported Node whatever node is on PATH', () => {
    assert.ok(PATH_NODE, 'a node on PATH');
    const res = spawnSync(PATH_NODE, [RUN, 'version', '-o', 'json'], {
      env: { PATH: USER_PATH },
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    const [major, minor] = (JSON.parse(res.stdout) as { node: string }).node
      .slice(1)
      .split('.')
      .map(Number) as [number, number];
    assert.ok(major > 22 || (major === 22 && minor >= 19), `CLI ran on ${major}.${minor}`);
  });

  it("`help COMMAND` shows that command's help, as `COMMAND --help` does", () => {
    const res = spawnSync(process.execPath, [RUN, 'help', 'messages', 'list'], {
      env: { PATH: USER_PATH },
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^USAGE\n {2}\$ kubectl email-validate messages list /m);
  });

  it('a reader that goes away (`| head -1`) ends the output quietly, exit 0, no EPIPE warning', async () => {
    const child = spawn(process.execPath, [RUN, 'tail', '--help'], {
      env: { PATH: USER_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) =>
      child.on('close', (c) => resolve(c)),
    );
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });

  it('passes a SIGINT sent to it (no terminal) on to the CLI, which stops cleanly', async () => {
    const child = spawn(
      PATH_NODE,
      [RUN, 'sink', '--smtp-port', '0', '--http-port', '0', '--no-auth', '--log-level', 'warn'],
      {
        env: { PATH: USER_PATH },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      let err = '';
      const smtpPort = await new Promise<number>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          const m = /smtp:\/\/127\.0\.0\.1:(\d+)/.exec(err);
          if (m && /http:\/\/127\.0\.0\.1:\d+/.test(err)) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      child.kill('SIGINT');
      assert.equal(await exit, 0);
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(smtpPort, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      assert.equal(refused, true, 'the sink process is gone, not orphaned');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
