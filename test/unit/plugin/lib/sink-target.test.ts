import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  parseHostPort,
  parseSinkUrl,
  resolveSinkTarget,
  smtpEndpoint,
  withSinkTarget,
  type SinkApi,
} from '../../../../plugin/lib/sink-target.ts';
import type { ClusterSink } from '../../../../plugin/lib/kube/cluster-sink.ts';
import type { SinkInfo } from '../../../../plugin/lib/sink-client.ts';
import { isEmailValidateError } from '../../../../src/errors.ts';

function fakeApi(info: Partial<SinkInfo> = {}): SinkApi & { closed: boolean } {
  const api = {
    closed: false,
    info: async () => ({ protocol: 1, instance: 'fake', lastSeq: 0, ...info }),
    list: async () => ({ total: 0, start: 0, count: 0, items: [] }),
    get: async () => {
      throw new Error('unused');
    },
    raw: async () => Buffer.alloc(0),
    clear: async () => ({ deleted: 0 }),
    rules: async () => '',
    setRules: async () => ({ count: 0 }),
    stats: async () => {
      throw new Error('unused');
    },
    events: async () => {},
    close: async () => {
      api.closed = true;
    },
  };
  return api;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isEmailValidateError(err)) return err.code;
    throw err;
  }
  return 'none';
}

describe('sink target: --sink parsing', () => {
  it('accepts http(s) URLs and bare host:port', () => {
    assert.equal(parseSinkUrl('http://127.0.0.1:8025').href, 'http://127.0.0.1:8025/');
    assert.equal(parseSinkUrl('localhost:8025').href, 'http://localhost:8025/');
    assert.equal(parseSinkUrl('https://sink.example.com/prefix').pathname, '/prefix');
  });
  it('rejects other schemes, queries and junk as usage errors', () => {
    assert.equal(
      code(() => parseSinkUrl('ftp://x')),
      'EV_ERR_INVALID_OPTION',
    );
    assert.equal(
      code(() => parseSinkUrl('http://x/?a=1')),
      'EV_ERR_INVALID_OPTION',
    );
    assert.equal(
      code(() => parseSinkUrl('http://')),
      'EV_ERR_INVALID_OPTION',
    );
  });
  it('parses --smtp HOST:PORT including IPv6', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:1025', '--smtp'), { host: '127.0.0.1', port: 1025 });
    assert.deepEqual(parseHostPort('[::1]:25', '--smtp'), { host: '::1', port: 25 });
    for (const bad of ['1025', 'host:', 'host:0', 'host:70000', '::1:25'])
      assert.equal(
        code(() => parseHostPort(bad, '--smtp')),
        'EV_ERR_INVALID_OPTION',
        bad,
      );
  });
});

describe('sink target: resolution', () => {
  it('--sink uses the URL and token directly, and close() releases the client', async () => {
    const api = fakeApi();
    const seen: Array<[string, string | undefined]> = [];
    const t = await resolveSinkTarget(
      { sink: 'http://127.0.0.1:9/', token: 'tok' },
      {
        deps: {
          createApi: (url, token) => {
            seen.push([url, token]);
            return api;
          },
        },
      },
    );
    assert.equal(t.kind, 'direct');
    assert.deepEqual(seen, [['http://127.0.0.1:9', 'tok']]);
    assert.equal(t.sinks[0].name, '127.0.0.1:9');
    await t.close();
    assert.ok(api.closed);
  });

  it('reads --token-file, trimmed', async () => {
    const seen: Array<string | undefined> = [];
    await resolveSinkTarget(
      { sink: 'http://h:1', 'token-file': '/t' },
      {
        deps: {
          readTokenFile: async () => '  secret\n',
          createApi: (_u, token) => {
            seen.push(token);
            return fakeApi();
          },
        },
      },
    );
    assert.deepEqual(seen, ['secret']);
    await assert.rejects(
      resolveSinkTarget(
        { sink: 'http://h:1', 'token-file': '/t' },
        { deps: { readTokenFile: async () => '\n', createApi: () => fakeApi() } },
      ),
      /is empty/,
    );
    await assert.rejects(
      resolveSinkTarget(
        { sink: 'http://h:1', 'token-file': '/t' },
        {
          deps: {
            readTokenFile: async () => {
              throw Object.assign(new Error('x'), { code: 'ENOENT' });
            },
            createApi: () => fakeApi(),
          },
        },
      ),
      (err: unknown) =>
        isEmailValidateError(err) && err.code === 'EV_ERR_FILE_READ' && /ENOENT/.test(err.message),
    );
  });

  it('refuses --sink together with kube flags, and --token-file without --sink', async () => {
    await assert.rejects(
      resolveSinkTarget({ sink: 'http://h:1', context: 'prod' }),
      (err: unknown) =>
        isEmailValidateError(err) &&
        err.code === 'EV_ERR_CONFLICTING_OPTIONS' &&
        /--context/.test(err.message),
    );
    await assert.rejects(
      resolveSinkTarget({ 'token-file': '/t' }),
      (err: unknown) => isEmailValidateError(err) && err.code === 'EV_ERR_CONFLICTING_OPTIONS',
    );
  });

  it('without --sink opens the cluster sink: one client per pod, with the forwarded SMTP ports; close() closes tunnels', async () => {
    let closed = false;
    const calls: unknown[] = [];
    const cluster: ClusterSink = {
      sinks: [
        {
          pod: 'email-sink-a',
          apiUrl: 'http://127.0.0.1:40001',
          smtp: { host: '127.0.0.1', port: 40002 },
        },
        {
          pod: 'email-sink-b',
          apiUrl: 'http://127.0.0.1:40003',
          smtp: { host: '127.0.0.1', port: 40004 },
        },
      ],
      token: 'cluster-token',
      namespace: 'email-validation-x',
      created: false,
      close: async () => {
        closed = true;
      },
    };
    const tokens: Array<string | undefined> = [];
    const t = await resolveSinkTarget(
      { namespace: 'email-validation-x', context: 'kind' },
      {
        deps: {
          openClusterSink: async (kube, options) => {
            calls.push([kube.context, options?.namespace]);
            return cluster;
          },
          createApi: (_url, token) => {
            tokens.push(token);
            return fakeApi();
          },
        },
      },
    );
    assert.deepEqual(calls, [['kind', 'email-validation-x']]);
    assert.equal(t.kind, 'cluster');
    assert.deepEqual(
      t.sinks.map((s) => s.name),
      ['email-sink-a', 'email-sink-b'],
    );
    assert.deepEqual(tokens, ['cluster-token', 'cluster-token']);
    assert.deepEqual(await smtpEndpoint(t, undefined), {
      host: '127.0.0.1',
      port: 40002,
      source: 'tunnel to email-sink-a',
    });
    await t.close();
    await t.close();
    assert.ok(closed);
  });

  it('turns a missing cluster implementation into a clear error', async () => {
    await assert.rejects(
      resolveSinkTarget(
        {},
        {
          deps: {
            openClusterSink: async () => {
              throw new Error('openClusterSink: not implemented yet');
            },
          },
        },
      ),
      /cluster access not available/,
    );
  });
});

describe('sink target: SMTP endpoint for send', () => {
  it("prefers --smtp, then /api/info's smtp.port on the --sink host, then the default port", async () => {
    const t = (info: Partial<SinkInfo>) =>
      resolveSinkTarget(
        { sink: 'http://sink.local:8025' },
        { deps: { createApi: () => fakeApi(info) } },
      );
    assert.deepEqual(await smtpEndpoint(await t({}), '10.0.0.1:2525'), {
      host: '10.0.0.1',
      port: 2525,
      source: '--smtp',
    });
    assert.deepEqual(
      await smtpEndpoint(await t({ smtp: { port: 31025, host: '0.0.0.0' } }), undefined),
      { host: 'sink.local', port: 31025, source: '/api/info' },
    );
    assert.deepEqual(await smtpEndpoint(await t({}), undefined), {
      host: 'sink.local',
      port: 1025,
      source: 'default port',
    });
  });
});

describe("sink target: withSinkTarget (every sink command's frame)", () => {
  it('closes the target after the command, also when it fails, and reports progress', async () => {
    const apis: Array<ReturnType<typeof fakeApi>> = [];
    const deps = {
      createApi: () => {
        const api = fakeApi();
        apis.push(api);
        return api;
      },
    };
    const status: string[] = [];
    const value = await withSinkTarget(
      { sink: 'http://h:1' },
      { onStatus: (l) => status.push(l), deps },
      async (target) => {
        assert.equal(apis[0].closed, false, 'open while the command runs');
        return target.sinks.length;
      },
    );
    assert.equal(value, 1);
    assert.equal(apis[0].closed, true);
    await assert.rejects(
      withSinkTarget({ sink: 'http://h:1' }, { onStatus: () => {}, deps }, async () => {
        throw new Error('command failed');
      }),
      /command failed/,
    );
    assert.equal(apis[1].closed, true);
  });

  it('registers no tunnel cleanup for a direct --sink', async () => {
    const registered: string[] = [];
    const interrupt = {
      signal: new AbortController().signal,
      register: (label: string) => {
        registered.push(label);
        return () => {};
      },
    };
    await withSinkTarget(
      { sink: 'http://h:1' },
      { onStatus: () => {}, interrupt, deps: { createApi: () => fakeApi() } },
      async () => undefined,
    );
    assert.deepEqual(registered, []);
  });
});
