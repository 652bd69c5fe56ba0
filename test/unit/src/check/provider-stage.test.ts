/**
 * The provider stage at its edges: backoff after network errors and 5xx (exact
 * request times on a FakeClock), verdict values that are not strings or not
 * JSON, our own verdict words used as they are, a 429 pause that also holds
 * requests already waiting for a shared permit, and a permit given back when
 * the wait for it is aborted.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import { backoffDelay } from '../../../../src/limits/backoff.ts';
import { parseProviderConfig } from '../../../../src/check/provider-config.ts';
import {
  MAX_PROVIDER_BACKOFF_MS,
  ProviderStage,
  type HttpClient,
  type HttpResponse,
} from '../../../../src/check/provider-stage.ts';
import type { PermitSource } from '../../../../src/limits/keyed-limiter.ts';

const config = (over: Record<string, unknown> = {}) =>
  parseProviderConfig(
    {
      url: 'http://127.0.0.1:1/v?email={address}',
      verdictPath: 'result.status',
      attempts: 4,
      ...over,
    },
    'p.yaml',
    {},
  );

/** Answers in turn (an Error is thrown, as a network failure); records the fake time of each request. */
function scripted(
  clock: FakeClock,
  answers: Array<Partial<HttpResponse> | Error>,
): HttpClient & { times: number[] } {
  const h = {
    times: [] as number[],
    async request() {
      h.times.push(clock.now());
      const a = answers.shift() ?? { status: 200, body: '{"result":{"status":"valid"}}' };
      if (a instanceof Error) throw a;
      return { status: a.status ?? 200, headers: a.headers ?? {}, body: a.body ?? '' };
    },
  };
  return h;
}

const delay = (n: number, baseMs: number) =>
  backoffDelay(n, { baseMs, maxMs: MAX_PROVIDER_BACKOFF_MS, random: () => 0.5 });

describe('check/ProviderStage: retries and verdicts', () => {
  it('backs off 1x then 2x the base after network errors, then takes the answer', async () => {
    const clock = new FakeClock();
    const h = scripted(clock, [new Error('ECONNRESET'), new Error('ECONNRESET')]);
    const s = new ProviderStage({
      config: config(),
      http: h,
      clock,
      random: () => 0.5,
      backoffBaseMs: 100,
    });
    const p = s.verify('a@b.test', 'a@b.test');
    await clock.runUntilIdle();
    const r = await p;
    assert.deepEqual(h.times, [0, delay(1, 100), delay(1, 100) + delay(2, 100)]);
    assert.notEqual(delay(1, 100), delay(2, 100));
    assert.deepEqual(r, {
      details: { status: 'valid', attempts: 3, httpStatus: 200, value: 'valid' },
      reason: null,
    });
  });

  it('backs off the same way after 5xx and 408, with the default 500 ms base', async () => {
    const clock = new FakeClock();
    const h = scripted(clock, [{ status: 503 }, { status: 408 }, { status: 500 }]);
    const s = new ProviderStage({ config: config(), http: h, clock, random: () => 0.5 });
    const p = s.verify('a@b.test', 'a@b.test');
    await clock.runUntilIdle();
    await p;
    assert.deepEqual(h.times, [
      0,
      delay(1, 500),
      delay(1, 500) + delay(2, 500),
      delay(1, 500) + delay(2, 500) + delay(3, 500),
    ]);
  });

  it('is unavailable after its attempts, with the last HTTP status', async () => {
    const clock = new FakeClock();
    const h = scripted(clock, [{ status: 502 }, new Error('x'), { status: 503 }, new Error('y')]);
    const s = new ProviderStage({
      config: config({ breakerThreshold: 10 }),
      http: h,
      clock,
      random: () => 0.5,
    });
    const p = s.verify('a@b.test', 'a@b.test');
    await clock.runUntilIdle();
    assert.deepEqual(await p, {
      details: { status: 'unavailable', attempts: 4, httpStatus: 503 },
      reason: 'provider_unavailable',
    });
  });

  it('reads string, number and boolean verdict values through the map; anything else is unknown', async () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['{"result":{"status":true}}', 'valid', 'true'],
      ['{"result":{"status":0}}', 'invalid', '0'],
      ['{"result":{"status":"meh"}}', 'risky', 'meh'],
      ['{"result":{"status":{"x":1}}}', 'unknown', undefined],
      ['{"result":{"status":null}}', 'unknown', undefined],
      ['{"result":{}}', 'unknown', undefined],
      ['not json', 'unknown', undefined],
      ['', 'unknown', undefined],
    ];
    for (const [body, status, value] of cases) {
      const clock = new FakeClock();
      const h = scripted(clock, [{ status: 200, body }]);
      const s = new ProviderStage({
        config: config({ map: { true: 'valid', '0': 'invalid', meh: 'risky' } }),
        http: h,
        clock,
        random: () => 0.5,
      });
      const r = await s.verify('a@b.test', 'a@b.test');
      assert.deepEqual(
        r.details,
        { status, attempts: 1, httpStatus: 200, ...(value === undefined ? {} : { value }) },
        body,
      );
    }
  });

  it('takes our own verdict words as they are when the map does not name them', async () => {
    for (const [word, reason] of [
      ['valid', null],
      ['invalid', 'provider_invalid'],
      ['risky', 'provider_risky'],
      ['unknown', 'provider_unknown'],
      ['Valid', 'provider_unknown'],
      ['', 'provider_unknown'],
    ] as const) {
      const clock = new FakeClock();
      const h = scripted(clock, [
        { status: 200, body: JSON.stringify({ result: { status: word } }) },
      ]);
      const s = new ProviderStage({ config: config(), http: h, clock, random: () => 0.5 });
      const r = await s.verify('a@b.test', 'a@b.test');
      assert.equal(r.reason, reason, word);
      assert.equal(
        r.details.status,
        reason === null ? 'valid' : reason.slice('provider_'.length),
        word,
      );
    }
  });
});

describe('check/ProviderStage: answers named like Object members', () => {
  it('a value such as constructor, toString or __proto__ is unknown unless the map names it', async () => {
    for (const word of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const clock = new FakeClock();
      const h = scripted(clock, [
        { status: 200, body: JSON.stringify({ result: { status: word } }) },
      ]);
      const s = new ProviderStage({ config: config(), http: h, clock, random: () => 0.5 });
      assert.deepEqual(
        await s.verify('a@b.test', 'a@b.test'),
        {
          details: { status: 'unknown', attempts: 1, httpStatus: 200, value: word },
          reason: 'provider_unknown',
        },
        word,
      );
    }
    const clock = new FakeClock();
    const raw = JSON.parse(
      '{"url":"http://127.0.0.1:1/{address}","verdictPath":"v","map":{"__proto__":"invalid","toString":"risky"}}',
    ) as unknown;
    const mapped = parseProviderConfig(raw, 'p.yaml', {});
    for (const [word, status] of [
      ['__proto__', 'invalid'],
      ['toString', 'risky'],
    ] as const) {
      const h = scripted(clock, [{ status: 200, body: JSON.stringify({ v: word }) }]);
      const s = new ProviderStage({ config: mapped, http: h, clock, random: () => 0.5 });
      assert.equal((await s.verify('a@b.test', 'a@b.test')).details.status, status, word);
    }
  });
});

describe('check/ProviderStage: permits', () => {
  /** One permit at a time, handed out in order; counts what is held. */
  function oneAtATime(): PermitSource & { held: number } {
    const queue: Array<() => void> = [];
    const src = {
      held: 0,
      acquire(): Promise<() => void> {
        return new Promise((resolve) => {
          const grant = () => {
            src.held++;
            let released = false;
            resolve(() => {
              if (released) return;
              released = true;
              src.held--;
              queue.shift()?.();
            });
          };
          if (src.held === 0 && queue.length === 0) grant();
          else queue.push(grant);
        });
      },
    };
    return src;
  }

  it('a 429 also holds a request that got its shared permit while the pause began, and it gives the permit back', async () => {
    const clock = new FakeClock();
    const h = scripted(clock, [{ status: 429, headers: { 'retry-after': '2' } }]);
    const permits = oneAtATime();
    const s = new ProviderStage({ config: config(), http: h, clock, random: () => 0.5, permits });
    const first = s.verify('a@b.test', 'a@b.test');
    const second = s.verify('c@b.test', 'c@b.test');
    await clock.runUntilIdle();
    const rs = await Promise.all([first, second]);
    assert.deepEqual(h.times, [0, 2000, 2000]);
    assert.deepEqual(
      rs.map((r) => r.details.status),
      ['valid', 'valid'],
    );
    assert.equal(permits.held, 0);
  });

  it('a wait aborted during a 429 pause gives its slot back (local semaphore)', async () => {
    const clock = new FakeClock();
    const h = scripted(clock, [{ status: 429, headers: { 'retry-after': '5' } }]);
    const s = new ProviderStage({
      config: config({ concurrency: 1 }),
      http: h,
      clock,
      random: () => 0.5,
    });
    const ac = new AbortController();
    const aborted = s.verify('a@b.test', 'a@b.test', ac.signal).then(
      () => 'resolved',
      () => 'rejected',
    );
    await clock.advance(1000);
    ac.abort(new Error('stop'));
    await clock.advance(0);
    assert.equal(await aborted, 'rejected');
    let done = false;
    const next = s.verify('c@b.test', 'c@b.test').then((r) => {
      done = true;
      return r;
    });
    await clock.runUntilIdle();
    await flushMicrotasks();
    assert.equal(done, true, 'the slot was given back');
    assert.equal((await next).details.status, 'valid');
    assert.deepEqual(h.times, [0, 5000]);
  });
});
