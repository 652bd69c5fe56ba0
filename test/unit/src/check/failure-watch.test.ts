/**
 * The uniform-failure watch on its own: which results count, when a run of them resets, the
 * exact error (code, text, hint) at the limit, and that it stays off afterwards.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FailureWatch, UNIFORM_FAILURE_LIMIT } from '../../../../src/check/failure-watch.ts';
import type { DnsDetails, ProviderDetails, CheckResult } from '../../../../src/check/result.ts';

const DNS_HINT =
  'check --dns-server (or the system resolver) with dig; results so far were written, and --state resumes once DNS works';
const PROVIDER_HINT =
  "check the provider URL, token and headers in --provider (and the provider's status page); --state resumes once it works";

let next = 0;
function result(o: {
  dns?: Partial<DnsDetails>;
  provider?: Partial<ProviderDetails>;
}): CheckResult {
  next++;
  return {
    address: `u${next}@d${next}.test`,
    normalized: `u${next}@d${next}.test`,
    verdict: 'unknown',
    reasons: [],
    index: next,
    checks: {
      syntax: {
        category: 'valid',
        diagnosis: 'valid',
        smtputf8: false,
        idn: false,
        literal: false,
      },
      ...(o.dns ? { dns: { status: 'ok', implicitMx: false, mx: [], ...o.dns } } : {}),
      ...(o.provider ? { provider: { status: 'valid', attempts: 1, ...o.provider } } : {}),
    },
  };
}
const dnsFail = (status: 'timeout' | 'error', errorCode?: string): CheckResult =>
  result({ dns: { status, ...(errorCode === undefined ? {} : { errorCode }) } });
const providerDown = (httpStatus?: number): CheckResult =>
  result({
    provider: { status: 'unavailable', ...(httpStatus === undefined ? {} : { httpStatus }) },
  });

/** Observes `rs` in turn; returns the index of the first that stops the run, and the error. */
function feed(
  w: FailureWatch,
  rs: CheckResult[],
): { at: number; err: Error & Record<string, any> } | null {
  for (let i = 0; i < rs.length; i++) {
    const err = w.observe(rs[i]);
    if (err) return { at: i, err };
  }
  return null;
}

describe('check/failure-watch', () => {
  it('stops at the 50th identical DNS failure, with the service named by default', () => {
    assert.equal(UNIFORM_FAILURE_LIMIT, 50);
    const got = feed(
      new FailureWatch(),
      Array.from({ length: 60 }, () => dnsFail('error', 'ESERVFAIL')),
    );
    assert.equal(got?.at, 49);
    assert.equal(got.err.code, 'EV_ERR_DNS');
    assert.equal(
      got.err.message,
      'DNS is not answering usefully: every query failed with ESERVFAIL for the first 50 addresses, and none got a real answer; stopped instead of marking every address unknown',
    );
    assert.equal(got.err.hint, DNS_HINT);
  });

  it('a timeout says no answer in time; a failure without code is named by its status', () => {
    const t = feed(
      new FailureWatch({ limit: 3 }),
      [1, 2, 3].map(() => dnsFail('timeout', 'ETIMEOUT')),
    );
    assert.equal(t?.at, 2);
    assert.match(
      t.err.message,
      /^DNS is not answering usefully: no answer in time for the first 3 addresses,/,
    );
    const e = feed(new FailureWatch({ limit: 2 }), [dnsFail('timeout'), dnsFail('timeout')]);
    assert.match(e!.err.message, /: every query failed with timeout for the first 2 addresses,/);
    const s = feed(new FailureWatch({ limit: 2 }), [dnsFail('error'), dnsFail('error')]);
    assert.match(s!.err.message, /: every query failed with error for the first 2 addresses,/);
  });

  it('a different cause starts the count again', () => {
    const w = new FailureWatch({ limit: 3 });
    assert.equal(
      feed(w, [
        dnsFail('error', 'ESERVFAIL'),
        dnsFail('error', 'ESERVFAIL'),
        dnsFail('error', 'EREFUSED'),
        dnsFail('error', 'EREFUSED'),
        dnsFail('error', 'ESERVFAIL'),
        dnsFail('error', 'ESERVFAIL'),
      ]),
      null,
    );
    const got = feed(w, [dnsFail('error', 'ESERVFAIL')]);
    assert.match(got!.err.message, /ESERVFAIL for the first 3 addresses/);
  });

  it('one real DNS answer turns the DNS watch off for the rest of the run', () => {
    for (const status of ['ok', 'not_found', 'no_mail', 'null_mx'] as const) {
      const w = new FailureWatch({ limit: 2 });
      assert.equal(feed(w, [dnsFail('error', 'ESERVFAIL'), result({ dns: { status } })]), null);
      assert.equal(
        feed(
          w,
          Array.from({ length: 5 }, () => dnsFail('error', 'ESERVFAIL')),
        ),
        null,
      );
    }
  });

  it('after stopping once it stays quiet', () => {
    const w = new FailureWatch({ limit: 2 });
    assert.equal(feed(w, [dnsFail('timeout', 'ETIMEOUT'), dnsFail('timeout', 'ETIMEOUT')])?.at, 1);
    assert.equal(w.observe(dnsFail('timeout', 'ETIMEOUT')), null);
    assert.equal(w.observe(dnsFail('timeout', 'ETIMEOUT')), null);
  });

  it('stops a provider that fails every request, naming the HTTP status, with the default name', () => {
    const got = feed(new FailureWatch({ limit: 2 }), [providerDown(503), providerDown(401)]);
    assert.equal(got?.at, 1);
    assert.equal(got.err.code, 'EV_ERR_PROVIDER_UNAVAILABLE');
    assert.equal(
      got.err.message,
      'the verification provider is failing: requests were answered HTTP 401 for the first 2 addresses, and none got a verdict; stopped instead of marking every address unknown',
    );
    assert.equal(got.err.hint, PROVIDER_HINT);
  });

  it('a provider failing without a status: the last status seen, else a connection failure', () => {
    const first = feed(new FailureWatch({ limit: 1 }), [providerDown()]);
    assert.match(
      first!.err.message,
      /^the verification provider is failing: requests failed to connect or timed out for the first 1 addresses/,
    );
    const after = feed(new FailureWatch({ limit: 3 }), [
      providerDown(429),
      providerDown(),
      providerDown(),
    ]);
    assert.match(after!.err.message, /: requests were answered HTTP 429 for the first 3 addresses/);
  });

  it('one provider verdict turns the provider watch off; the DNS watch is separate', () => {
    const w = new FailureWatch({ limit: 2 });
    assert.equal(feed(w, [providerDown(500), result({ provider: { status: 'invalid' } })]), null);
    assert.equal(feed(w, [providerDown(500), providerDown(500), providerDown(500)]), null);
    const got = feed(w, [dnsFail('error', 'ESERVFAIL'), dnsFail('error', 'ESERVFAIL')]);
    assert.equal(got?.err.code, 'EV_ERR_DNS');
  });

  it('a result failing both ways: DNS short of its limit still lets the provider be watched', () => {
    const w = new FailureWatch({
      limit: 2,
      describe: (s) => (s === 'dns' ? 'DNS server 10.0.0.2' : 'the provider in p.yaml'),
    });
    const both = (code: string): CheckResult => ({
      ...dnsFail('error', code),
      checks: {
        ...dnsFail('error', code).checks,
        provider: { status: 'unavailable', httpStatus: 502, attempts: 1 },
      },
    });
    const got = feed(w, [both('ESERVFAIL'), both('EREFUSED')]);
    assert.equal(got?.at, 1);
    assert.equal(got.err.code, 'EV_ERR_PROVIDER_UNAVAILABLE');
    assert.match(
      got.err.message,
      /^the provider in p\.yaml is failing: requests were answered HTTP 502 /,
    );
    const d = feed(w, [dnsFail('error', 'EREFUSED')]);
    assert.match(
      d!.err.message,
      /^DNS server 10\.0\.0\.2 is not answering usefully: every query failed with EREFUSED for the first 2 /,
    );
  });

  it('results without network details change nothing', () => {
    const w = new FailureWatch({ limit: 2 });
    assert.equal(feed(w, [dnsFail('error', 'ESERVFAIL'), result({})]), null);
    assert.equal(feed(w, [dnsFail('error', 'ESERVFAIL')])?.err.code, 'EV_ERR_DNS');
  });
});
