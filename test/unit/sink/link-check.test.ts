/**
 * The link check refuses internal targets (resolved through an injected
 * lookup, redirects re-checked hop by hop) unless allowPrivate is set.
 * Fetch is injected too: nothing leaves the process.
 */
import assert from 'node:assert/strict';
import { checkLinks, MAX_LINK_REDIRECTS, type LinkLookup } from '../../../sink/link-check.ts';

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
