/**
 * The link check refuses internal targets (resolved through an injected
 * lookup, redirects re-checked hop by hop) unless allowPrivate is set.
 * Fetch is injected too: nothing leaves the process.
 */
import assert from 'node:assert/strict';
import {
  checkLinks,
  MAX_LINK_REDIRECTS,
  MAX_LINKS_CHECKED,
  type LinkLookup,
} from '../../../sink/link-check.ts';

const PUBLIC = '93.184.216.34';
const lookup: LinkLookup = async (host) => {
  if (host === 'public.test') return [PUBLIC];
  if (host === 'split.test') return [PUBLIC, '10.1.2.3'];
  if (host === 'metadata.test') return ['169.254.169.254'];
  if (/^[\d.]+$|:/.test(host)) return [host];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};

function fakeFetch(fetched: string[]): typeof fetch {
  return async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : input);
    fetched.push(url.href);
    if (url.pathname === '/to-metadata')
      return new Response(null, {
        status: 302,
        headers: { location: 'http://metadata.test/latest/meta-data/' },
      });
    if (url.pathname.startsWith('/hop'))
      return new Response(null, {
        status: 301,
        headers: { location: `/hop${Number(url.pathname.slice(4)) + 1}` },
      });
    if (url.pathname === '/to-file')
      return new Response(null, { status: 302, headers: { location: 'file:///etc/passwd' } });
    if (url.pathname === '/moved')
      return new Response(null, { status: 302, headers: { location: 'http://public.test/ok' } });
    return new Response(null, { status: url.pathname === '/ok' ? 200 : 404 });
  };
}

describe('sink/link-check', () => {
  it('refuses loopback, link-local, private and mapped targets, re-checks every redirect hop, bounds the hops', async () => {
    const fetched: string[] = [];
    const links = [
      'http://127.0.0.1:8080/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[fd00::1]/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://split.test/',
      'http://nowhere.test/',
      'http://public.test/ok',
      'http://public.test/moved',
      'http://public.test/to-metadata',
      'http://public.test/hop0',
      'http://public.test/to-file',
    ];
    const results = await checkLinks(links, { lookup, fetch: fakeFetch(fetched) });
    const by = new Map(results.map((r) => [r.url, r]));
    for (const url of links.slice(0, 8)) {
      assert.match(by.get(url)?.error ?? '', /^refused: private address /, url);
      assert.equal(by.get(url)?.ok, false);
    }
    assert.equal(by.get('http://nowhere.test/')?.error, 'ENOTFOUND');
    assert.deepEqual(by.get('http://public.test/ok'), {
      url: 'http://public.test/ok',
      status: 200,
      ok: true,
      error: null,
    });
    assert.equal(by.get('http://public.test/moved')?.status, 200);
    assert.equal(
      by.get('http://public.test/to-metadata')?.error,
      'refused: private address 169.254.169.254',
    );
    assert.equal(
      by.get('http://public.test/hop0')?.error,
      `more than ${MAX_LINK_REDIRECTS} redirects`,
    );
    assert.equal(
      by.get('http://public.test/to-file')?.error,
      'redirect to a URL that is not http(s)',
    );
    assert.deepEqual(
      fetched.filter((u) => !u.startsWith('http://public.test/')),
      [],
      'no internal address was fetched',
    );
    assert.equal(fetched.filter((u) => u.includes('/hop')).length, MAX_LINK_REDIRECTS + 1);
  });

  it('allowPrivate checks internal targets (tests, local development)', async () => {
    const fetched: string[] = [];
    const [r] = await checkLinks(['http://127.0.0.1:8080/ok'], {
      lookup,
      fetch: fakeFetch(fetched),
      allowPrivate: true,
    });
    assert.deepEqual([r.status, r.ok, fetched], [200, true, ['http://127.0.0.1:8080/ok']]);
  });
});

describe('sink/link-check: requests and answers', () => {
  interface Call {
    url: string;
    method: string | undefined;
    redirect: string | undefined;
    signal: boolean;
  }
  /** A fetch answering `/status/N` with N (and `?to=URL` as its Location), recording each request. */
  function scripted(calls: Call[], headStatus: (path: string) => number | null = () => null) {
    let inFlight = 0;
    const peak = { value: 0 };
    const f: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      calls.push({
        url: url.href,
        method: init?.method,
        redirect: init?.redirect,
        signal: init?.signal instanceof AbortSignal,
      });
      inFlight++;
      peak.value = Math.max(peak.value, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      const forced = init?.method === 'HEAD' ? headStatus(url.pathname) : null;
      const status = forced ?? Number(url.pathname.split('/')[2] ?? 200);
      const to = url.searchParams.get('to');
      return new Response(null, { status, headers: to === null ? {} : { location: to } });
    };
    return { fetch: f, peak };
  }
  const answer = (
    url: string,
    status: number | null,
    ok: boolean,
    error: string | null = null,
  ) => ({
    url,
    status,
    ok,
    error,
  });

  it('only http(s) links, in any case, at most 4 at a time, results in order', async () => {
    const calls: Call[] = [];
    const { fetch, peak } = scripted(calls);
    const links = [
      'mailto:a@public.test',
      'ftp://public.test/x',
      'xhttp://public.test/status/200',
      ...Array.from({ length: 9 }, (_, i) => `HTTP://public.test/status/${200 + i}`),
    ];
    const results = await checkLinks(links, { lookup, fetch });
    assert.deepEqual(
      results,
      Array.from({ length: 9 }, (_, i) =>
        answer(`HTTP://public.test/status/${200 + i}`, 200 + i, true),
      ),
    );
    assert.equal(peak.value, 4);
  });

  it(`checks the first ${MAX_LINKS_CHECKED} links only`, async () => {
    const calls: Call[] = [];
    const { fetch } = scripted(calls);
    const links = Array.from(
      { length: MAX_LINKS_CHECKED + 1 },
      (_, i) => `http://public.test/status/200?n=${i}`,
    );
    const results = await checkLinks(links, { lookup, fetch });
    assert.deepEqual(
      results.map((r) => r.url),
      links.slice(0, MAX_LINKS_CHECKED),
    );
    assert.equal(calls.length, MAX_LINKS_CHECKED);
  });

  it('HEAD first, with manual redirects and a deadline; GET when HEAD is 405 or 501', async () => {
    const calls: Call[] = [];
    const { fetch } = scripted(calls, (path) =>
      path === '/status/204' ? 405 : path === '/status/202' ? 501 : null,
    );
    const results = await checkLinks(
      [
        'http://public.test/status/204',
        'http://public.test/status/202',
        'http://public.test/status/404',
      ],
      { lookup, fetch },
    );
    assert.deepEqual(results, [
      answer('http://public.test/status/204', 204, true),
      answer('http://public.test/status/202', 202, true),
      answer('http://public.test/status/404', 404, false),
    ]);
    assert.deepEqual(
      calls.map((c) => [
        c.url.slice('http://public.test/status/'.length),
        c.method,
        c.redirect,
        c.signal,
      ]),
      [
        ['204', 'HEAD', 'manual', true],
        ['202', 'HEAD', 'manual', true],
        ['404', 'HEAD', 'manual', true],
        ['204', 'GET', 'manual', true],
        ['202', 'GET', 'manual', true],
      ],
    );
  });

  it('follows 300 to 399 with a Location (to https too), not other statuses; without follow, the first answer', async () => {
    const to = encodeURIComponent('https://public.test/status/200');
    const links = [300, 399, 201, 404].map((s) => `http://public.test/status/${s}?to=${to}`);
    const { fetch } = scripted([]);
    assert.deepEqual(
      await checkLinks([...links, 'http://public.test/status/300'], { lookup, fetch }),
      [
        answer(links[0], 200, true),
        answer(links[1], 200, true),
        answer(links[2], 201, true),
        answer(links[3], 404, false),
        answer('http://public.test/status/300', 300, false),
      ],
    );
    assert.deepEqual(await checkLinks([links[0]], { lookup, fetch, follow: false }), [
      answer(links[0], 300, false),
    ]);
  });

  it('a host that resolves to nothing, or fails without a code, is not fetched', async () => {
    const calls: Call[] = [];
    const { fetch } = scripted(calls);
    const odd: LinkLookup = async (host) => {
      if (host === 'empty.test') return [];
      throw new Error('resolver broke');
    };
    assert.deepEqual(
      await checkLinks(['http://empty.test/', 'http://broken.test/'], { lookup: odd, fetch }),
      [
        answer('http://empty.test/', null, false, 'host not resolved'),
        answer('http://broken.test/', null, false, 'host not resolved'),
      ],
    );
    assert.deepEqual(calls, []);
  });
});
