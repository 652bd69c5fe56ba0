/**
 * The `--provider FILE` parser, message by message: each refusal names the
 * file and the key with EV_ERR_PROVIDER_CONFIG and the docs hint; rates,
 * verdict paths, header names and values at their edges; the templates.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  MAX_PROVIDER_HEADERS,
  parseJsonPath,
  parseProviderConfig,
  parseRate,
  providerEnvNames,
  renderBody,
  renderUrl,
} from '../../../../src/check/provider-config.ts';

const HINT = 'see "Provider" in docs/checks.md for the expected keys';
const base = { url: 'https://api.example/v?email={address}', verdictPath: 'result.status' };

/** Parses `over` on top of a valid config; `env` resolves ${env:…}. */
const parse = (over: Record<string, unknown>, env: Record<string, string> = {}) =>
  parseProviderConfig({ ...base, ...over }, 'p.yaml', env);

/** Asserts the exact refusal: code, `p.yaml: <message>`, the hint. */
function refuses(raw: unknown, message: string, env: Record<string, string> = {}): void {
  assert.throws(
    () => parseProviderConfig(raw, 'p.yaml', env),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.deepEqual(
        {
          code: (err as { code?: unknown }).code,
          message: err.message,
          hint: (err as { hint?: unknown }).hint,
        },
        { code: 'EV_ERR_PROVIDER_CONFIG', message: `p.yaml: ${message}`, hint: HINT },
      );
      return true;
    },
  );
}

describe('check/provider-config: refusals, message by message', () => {
  it('refuses what is not a mapping', () => {
    for (const raw of [null, [], 'url', 3])
      refuses(raw, 'must be a mapping with at least `url` and `verdictPath`');
  });

  it('needs {address} in the url unless a body template carries it', () => {
    const msg = '`url` must be a string containing {address} (or give a `body` template)';
    refuses({ ...base, url: 'https://api.example/v' }, msg);
    refuses({ ...base, url: 42 }, msg);
    const c = parse({ url: 'https://api.example/v', body: '{"email":"{address}"}' });
    assert.equal(c.method, 'POST');
    assert.equal(c.body, '{"email":"{address}"}');
  });

  it('refuses spaces and control characters in the url, naming the position', () => {
    refuses(
      { ...base, url: 'https://api.example/v?e={address}&x=a b' },
      '`url` has a space at position 38; encode it (%20) or remove it',
    );
    refuses(
      { ...base, url: 'https://api.example/\tv?e={address}' },
      '`url` has a control character (0x09) at position 21; encode it (%20) or remove it',
    );
    refuses(
      { ...base, url: 'https://api.example/v?e={address}\u007f' },
      '`url` has a control character (0x7f) at position 34; encode it (%20) or remove it',
    );
    // `!` (33) is the first visible character: allowed.
    assert.equal(
      parse({ url: 'https://api.example/v!?e={address}' }).url,
      'https://api.example/v!?e={address}',
    );
  });

  it('refuses a url that does not parse or is not http(s)', () => {
    refuses(
      { ...base, url: 'http://[nope/{address}' },
      '`url` is not a valid URL: http://[nope/{address}',
    );
    refuses({ ...base, url: 'ftp://files.example/{address}' }, '`url` must be http or https');
    assert.equal(
      parse({ url: 'http://api.example/{address}' }).url,
      'http://api.example/{address}',
    );
  });

  it('takes GET or POST only', () => {
    refuses({ ...base, method: 'PUT' }, '`method` must be GET or POST');
    assert.equal(parse({}).method, 'GET');
    assert.equal(parse({ method: 'POST' }).method, 'POST');
  });

  it('refuses headers that are not a mapping, or too many', () => {
    for (const headers of [null, ['a'], 'Authorization: x'])
      refuses({ ...base, headers }, '`headers` must be a mapping of strings');
    const many = Object.fromEntries(
      Array.from({ length: MAX_PROVIDER_HEADERS + 1 }, (_, i) => [`X-H${i}`, 'v']),
    );
    refuses(
      { ...base, headers: many },
      `\`headers\` has ${MAX_PROVIDER_HEADERS + 1} entries; at most ${MAX_PROVIDER_HEADERS} are allowed`,
    );
    delete many[`X-H${MAX_PROVIDER_HEADERS}`];
    assert.equal(Object.keys(parse({ headers: many }).headers).length, MAX_PROVIDER_HEADERS);
  });

  it('takes string and number header values, nothing else', () => {
    refuses({ ...base, headers: { 'X-On': true } }, 'header "X-On" must be a string');
    refuses({ ...base, headers: { 'X-On': null } }, 'header "X-On" must be a string');
    assert.deepEqual(parse({ headers: { 'X-Version': 2 } }).headers, { 'x-version': '2' });
  });

  it('takes RFC 9110 token header names only, quoting a bad one printably and cut at 60 characters', () => {
    const msg = (shown: string) =>
      `header name "${shown}" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`;
    refuses({ ...base, headers: { '': 'v' } }, msg(''));
    refuses({ ...base, headers: { 'X Y': 'v' } }, msg('X Y'));
    refuses({ ...base, headers: { 'X:Y': 'v' } }, msg('X:Y'));
    refuses({ ...base, headers: { 'X\nY': 'v' } }, msg('X\\nY'));
    refuses({ ...base, headers: { Xé: 'v' } }, msg('Xé'));
    const long60 = `${'a'.repeat(59)} `;
    refuses({ ...base, headers: { [long60]: 'v' } }, msg(long60));
    const long61 = `${'a'.repeat(60)} `;
    refuses({ ...base, headers: { [long61]: 'v' } }, msg(`${'a'.repeat(60)}…`));
    const names = ["!#$%&'*+-.^_`|~", 'AZaz09', 'X-Api-Key'];
    assert.deepEqual(
      Object.keys(parse({ headers: Object.fromEntries(names.map((n) => [n, 'v'])) }).headers),
      names.map((n) => n.toLowerCase()),
    );
  });

  it('refuses header values with CR, LF or control characters; HTAB is fine; says when ${env:…} brought it', () => {
    const tail = '; a header value is one line of visible characters';
    refuses(
      { ...base, headers: { A: 'x\ry' } },
      `header "A" has a carriage return (CR) in its value${tail}`,
    );
    refuses(
      { ...base, headers: { A: 'x\ny' } },
      `header "A" has a line feed (LF) in its value${tail}`,
    );
    refuses(
      { ...base, headers: { A: 'x\u0001y' } },
      `header "A" has a control character (0x01) in its value${tail}`,
    );
    refuses(
      { ...base, headers: { A: 'x\u007fy' } },
      `header "A" has a control character (0x7f) in its value${tail}`,
    );
    refuses(
      { ...base, headers: { A: 'x\u0100y' } },
      `header "A" has a character outside Latin-1 (HTTP headers are bytes) in its value${tail}`,
    );
    refuses(
      { ...base, headers: { Authorization: 'Bearer ${env:TOKEN}' } },
      `header "Authorization" has a line feed (LF) in its value (after \${env:…} substitution)${tail}`,
      { TOKEN: 'abc\n' },
    );
    assert.equal(parse({ headers: { A: 'x\ty é' } }).headers.a, 'x\ty é');
  });

  it('needs a string body, a verdictPath that parses, and a map to our verdicts', () => {
    refuses(
      { ...base, body: { email: '{address}' } },
      '`body` must be a string template (e.g. \'{"email": "{address}"}\')',
    );
    refuses({ url: base.url }, '`verdictPath` must be a string such as result.status');
    refuses(
      { ...base, verdictPath: 'a..b' },
      '`verdictPath` "a..b" is not a path like result.status or items[0].verdict',
    );
    for (const map of [null, ['valid'], 'valid'])
      refuses(
        { ...base, map },
        '`map` must be a mapping from provider values to valid|invalid|risky|unknown',
      );
    refuses(
      { ...base, map: { ok: 1 } },
      'map value for "ok" must be valid, invalid, risky or unknown',
    );
    assert.deepEqual(
      parse({ map: { ok: 'valid', bad: 'invalid', meh: 'risky', '?': 'unknown' } }).map,
      {
        ok: 'valid',
        bad: 'invalid',
        meh: 'risky',
        '?': 'unknown',
      },
    );
  });

  it('bounds the integer settings, with their defaults', () => {
    const c = parse({});
    assert.deepEqual(
      [c.concurrency, c.timeoutMs, c.attempts, c.breakerThreshold, c.breakerCooldownMs, c.rate],
      [4, 10_000, 4, 5, 30_000, null],
    );
    refuses({ ...base, concurrency: 0 }, '`concurrency` must be an integer from 1 to 64');
    refuses({ ...base, concurrency: 65 }, '`concurrency` must be an integer from 1 to 64');
    refuses({ ...base, attempts: 1.5 }, '`attempts` must be an integer from 1 to 10');
    refuses({ ...base, timeoutMs: '100' }, '`timeoutMs` must be an integer from 100 to 120000');
    assert.equal(parse({ concurrency: 64 }).concurrency, 64);
    assert.equal(parse({ concurrency: 1 }).concurrency, 1);
  });

  it('refuses a rate that does not parse, and derives the burst from a good one', () => {
    refuses({ ...base, rate: 'fast' }, '`rate` must look like 10/s or 600/m');
    refuses({ ...base, rate: '0/s' }, '`rate` must look like 10/s or 600/m');
    assert.deepEqual(parse({ rate: '25/s' }).rate, { perSecond: 25, burst: 3 });
    assert.deepEqual(parse({ rate: '60/m' }).rate, { perSecond: 1, burst: 1 });
  });

  it('refuses unknown keys and unset ${env:…} variables', () => {
    refuses({ ...base, retries: 3 }, 'unknown key "retries"');
    refuses(
      { ...base, url: 'https://api.example/v?k=${env:KEY}&e={address}' },
      'url uses ${env:KEY} but KEY is not set',
    );
    assert.equal(
      parse({ url: 'https://api.example/v?k=${env:KEY}&e={address}' }, { KEY: 'k1' }).url,
      'https://api.example/v?k=k1&e={address}',
    );
  });
});

describe('check/provider-config: parseRate', () => {
  it('takes positive finite numbers as per-second rates', () => {
    assert.equal(parseRate(5), 5);
    assert.equal(parseRate(0.5), 0.5);
    for (const v of [0, -1, Infinity, NaN]) assert.equal(parseRate(v), null, String(v));
    for (const v of [undefined, null, {}, true]) assert.equal(parseRate(v), null, typeof v);
  });

  it('reads N, N/s, N/m and N/h in every spelling, with blanks around the parts', () => {
    const cases: Array<[string, number | null]> = [
      ['10', 10],
      ['10/s', 10],
      ['10/sec', 10],
      ['10/second', 10],
      ['120/m', 2],
      ['120/min', 2],
      ['120/minute', 2],
      ['7200/h', 2],
      ['7200/hour', 2],
      ['1.5/s', 1.5],
      ['1.25/s', 1.25],
      [' 10 / s ', 10],
      ['10/s ', 10],
      ['10 /  min', 10 / 60],
      ['0/s', null],
      ['0', null],
      ['x10/s', null],
      ['10/sx', null],
      ['10/day', null],
      ['1.x/s', null],
      ['1./s', null],
      ['-1/s', null],
      ['', null],
    ];
    for (const [v, want] of cases) assert.equal(parseRate(v), want, JSON.stringify(v));
  });
});

describe('check/provider-config: paths, env names, templates', () => {
  it('splits verdict paths and refuses empty segments', () => {
    assert.deepEqual(parseJsonPath('a.b'), ['a', 'b']);
    assert.deepEqual(parseJsonPath('[0]'), [0]);
    assert.deepEqual(parseJsonPath('a[1][2].b'), ['a', 1, 2, 'b']);
    for (const p of ['', 'a..b', 'a.', '.a', 'a[x]', 'a]']) assert.equal(parseJsonPath(p), null, p);
  });

  it('lists the ${env:…} names used anywhere, keys included, sorted and once', () => {
    assert.deepEqual(
      providerEnvNames({
        url: 'https://x/${env:B}?e={address}',
        headers: { '${env:KEYNAME}': '${env:A} ${env:B}' },
        list: ['${env:C}', 1, null, true],
      }),
      ['A', 'B', 'C', 'KEYNAME'],
    );
    assert.deepEqual(providerEnvNames('${env:1BAD} ${env:ok_1}'), ['ok_1']);
  });

  it('puts the address into the url URL-encoded and into the body JSON-escaped, at every {address}', () => {
    const get = parse({ url: 'https://api.example/v?e={address}&again={address}' });
    assert.equal(
      renderUrl(get, 'a+b@x.test'),
      'https://api.example/v?e=a%2Bb%40x.test&again=a%2Bb%40x.test',
    );
    assert.equal(renderBody(get, 'a@x.test'), undefined);
    const post = parse({
      url: 'https://api.example/v',
      body: '{"email":"{address}","copy":"{address}"}',
    });
    assert.equal(
      renderBody(post, '"q\\"@x.test'),
      '{"email":"\\"q\\\\\\"@x.test","copy":"\\"q\\\\\\"@x.test"}',
    );
    assert.deepEqual(JSON.parse(renderBody(post, '"q\\"@x.test')!), {
      email: '"q\\"@x.test',
      copy: '"q\\"@x.test',
    });
  });

  it('keeps a header or map entry named __proto__ as an entry', () => {
    const raw = JSON.parse(
      '{"url":"http://api.example/{address}","verdictPath":"v","headers":{"__proto__":"h"},"map":{"__proto__":"valid"}}',
    ) as unknown;
    const c = parseProviderConfig(raw, 'p.yaml', {});
    assert.deepEqual(Object.entries(c.headers), [['__proto__', 'h']]);
    assert.deepEqual(Object.entries(c.map), [['__proto__', 'valid']]);
    assert.equal(Object.getPrototypeOf(c.map), Object.prototype);
  });

  it('freezes the config it returns', () => {
    const c = parse({ headers: { A: 'b' }, map: { ok: 'valid' } });
    assert.ok(
      Object.isFrozen(c) &&
        Object.isFrozen(c.headers) &&
        Object.isFrozen(c.map) &&
        Object.isFrozen(c.verdictPath),
    );
  });
});
