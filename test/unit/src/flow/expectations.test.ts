import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { FakeClock, flushMicrotasks } from '../../../support/fake-clock.ts';
import {
  compileCriteria,
  compileEventCriteria,
  type LinkProbe,
} from '../../../../src/flow/criteria.ts';
import {
  MAX_REPORT_DETAIL_FETCHES,
  MAX_REPORTED_CANDIDATES,
  REPORT_DETAIL_WAIT_MS,
  watchEvents,
  watchMessages,
  type ExpectationOutcome,
} from '../../../../src/flow/expectations.ts';
import { parseFlow } from '../../../../src/flow/parse.ts';
import type { ExpectStep, StepAction } from '../../../../src/flow/types.ts';
import type { TemplateVars } from '../../../../src/flow/template.ts';
import { analysis, FakeSink } from './helpers.ts';

const vars: TemplateVars = { run: { id: 'r1' }, env: { DOMAIN: 'example.test' } };

function action(yaml: string): StepAction {
  // `expect: { a }` shorthand in the tests becomes a block mapping, so templates and regexes need no flow-style quoting.
  const m = /^(\w+): \{ (.*) \}$/s.exec(yaml.trim());
  const body = m && m[2].includes('{{') ? `${m[1]}:\n      ${m[2]}` : yaml.trim();
  const flow = parseFlow(
    `apiVersion: email-validate.dev/v1\nkind: EmailFlow\nsteps:\n  - ${body}\n`,
    't.yaml',
  );
  return flow.steps[0].action;
}

interface Watch {
  outcome: Promise<ExpectationOutcome>;
  settled(): boolean;
}

function watch(
  sink: FakeSink,
  clock: FakeClock,
  yaml: string,
  options: {
    timeoutMs?: number;
    probe?: (url: string) => number | null;
    signal?: AbortSignal;
  } = {},
): Watch {
  const a = action(yaml);
  let done = false;
  let outcome: Promise<ExpectationOutcome>;
  if (a.kind === 'expectEvent') {
    outcome = watchEvents({
      history: sink.history,
      clock,
      timeoutMs: options.timeoutMs ?? 1000,
      criteria: compileEventCriteria(a, vars),
      count: a.count,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } else {
    const e = a as ExpectStep;
    outcome = watchMessages({
      history: sink.history,
      clock,
      timeoutMs: options.timeoutMs ?? 1000,
      criteria: compileCriteria(e.criteria, vars),
      mode: a.kind === 'expectNone' ? 'none' : 'expect',
      count: a.kind === 'expect' ? e.count : 0,
      probeLink: async (url) => {
        const status = options.probe ? options.probe(url) : 200;
        return status === null ? { status: null, error: 'ECONNREFUSED' } : { status, error: null };
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  void outcome.then(() => {
    done = true;
  });
  return { outcome, settled: () => done };
}

/** Each criterion type: a message that matches it and one that does not, with what the report must say. */
const MATCHERS: Array<{
  name: string;
  yaml: string;
  good: Parameters<FakeSink['deliver']>[0];
  bad: Parameters<FakeSink['deliver']>[0];
  field: string;
  actual: RegExp;
}> = [
  {
    name: 'recipient (text: case-insensitive substring, + literal)',
    yaml: `to: 'User+{{run.id}}@Example.test'`,
    good: { to: ['user+r1@example.test'] },
    bad: { to: ['userr1@example.test'] },
    field: 'to',
    actual: /userr1@example\.test/,
  },
  {
    name: 'recipient (anchored regex: exactly one address)',
    yaml: `to: '/^user\\+{{run.id}}@example\\.test$/'`,
    good: { to: ['User+r1@example.test'] },
    bad: { to: ['otheruser+r1@example.test'] },
    field: 'to',
    actual: /otheruser\+r1@example\.test/,
  },
  {
    name: 'recipient (regex)',
    yaml: `to: '/^signup\\+r1@/'`,
    good: { to: ['signup+r1@example.test'] },
    bad: { to: ['signup+r2@example.test'] },
    field: 'to',
    actual: /signup\+r2/,
  },
  {
    name: 'recipient from an env template',
    yaml: `to: 'a@{{env.DOMAIN}}'`,
    good: { to: ['a@example.test'] },
    bad: { to: ['a@example.org'] },
    field: 'to',
    actual: /a@example\.org/,
  },
  {
    name: 'sender',
    yaml: 'from: no-reply@example.test',
    good: { from: 'No Reply <no-reply@example.test>' },
    bad: { from: 'marketing@example.test' },
    field: 'from',
    actual: /marketing@example\.test/,
  },
  {
    name: 'subject (text)',
    yaml: 'subject: Welcome',
    good: { subject: 'Welcome aboard' },
    bad: { subject: 'Goodbye' },
    field: 'subject',
    actual: /"Goodbye"/,
  },
  {
    name: 'subject (regex with flags)',
    yaml: 'subject: /^welcome/i',
    good: { subject: 'WELCOME aboard' },
    bad: { subject: 'Re: welcome' },
    field: 'subject',
    actual: /"Re: welcome"/,
  },
  {
    name: 'body text',
    yaml: `text: '/code: \\d{6}/'`,
    good: { text: 'Your code: 123456' },
    bad: { text: 'Your code: abc' },
    field: 'text',
    actual: /"Your code: abc"/,
  },
  {
    name: 'html',
    yaml: 'html: <b>Welcome</b>',
    good: { html: '<p><b>Welcome</b></p>' },
    bad: { html: null },
    field: 'html',
    actual: /no HTML part/,
  },
  {
    name: 'header value',
    yaml: `headers: { X-Campaign: '/^spring-\\d+$/' }`,
    good: { headers: [{ name: 'x-campaign', value: 'spring-2026' }] },
    bad: { headers: [{ name: 'X-Campaign', value: 'autumn' }] },
    field: 'headers.X-Campaign',
    actual: /"autumn"/,
  },
  {
    name: 'header present',
    yaml: 'headers: { X-Mailer: true }',
    good: { headers: [{ name: 'X-Mailer', value: 'app' }] },
    bad: { headers: [] },
    field: 'headers.X-Mailer',
    actual: /absent/,
  },
  {
    name: 'link',
    yaml: 'link: /\\/confirm\\?token=/',
    good: { html: '<a href="https://app.test/confirm?token=1&amp;x=2">go</a>' },
    bad: { text: 'visit https://app.test/home today' },
    field: 'link',
    actual: /https:\/\/app\.test\/home/,
  },
  {
    name: 'attachment',
    yaml: 'attachment: { filename: /\\.pdf$/, contentType: application/pdf }',
    good: { attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf' }] },
    bad: { attachments: [{ filename: 'invoice.txt', contentType: 'text/plain' }] },
    field: 'attachment',
    actual: /invoice\.txt \(text\/plain\)/,
  },
  {
    name: 'list-unsubscribe present',
    yaml: 'listUnsubscribe: present',
    good: { headers: [{ name: 'List-Unsubscribe', value: '<https://x.test/u>' }] },
    bad: { headers: [] },
    field: 'listUnsubscribe',
    actual: /absent/,
  },
  {
    name: 'dkim pass (analysis)',
    yaml: 'dkim: pass',
    good: { analysis: analysis({ dkim: { result: 'pass', signatures: [] } }) },
    bad: { analysis: analysis({ dkim: { result: 'fail', signatures: [] } }) },
    field: 'dkim',
    actual: /fail/,
  },
  {
    name: 'list-unsubscribe one-click (analysis)',
    yaml: 'listUnsubscribe: one-click',
    good: {
      analysis: analysis({
        listUnsubscribe: { present: true, oneClick: true, urls: [], mailto: [] },
      }),
    },
    bad: {
      analysis: analysis({
        listUnsubscribe: { present: true, oneClick: false, urls: [], mailto: [] },
      }),
    },
    field: 'listUnsubscribe',
    actual: /present/,
  },
  {
    name: 'spam score at most N',
    yaml: 'maxSpamScore: 3',
    good: { analysis: analysis({ spamScore: 3 }) },
    bad: {
      analysis: analysis({
        spamScore: 7,
        reasons: [{ code: 'all-caps-subject', score: 7, message: '' }],
      }),
    },
    field: 'spamScore',
    actual: /7 \(all-caps-subject \+7\)/,
  },
];

describe('flow expectations', () => {
  for (const m of MATCHERS) {
    describe(m.name, () => {
      it('passes on a matching message', async () => {
        const sink = new FakeSink();
        const clock = new FakeClock();
        const w = watch(sink, clock, `expect: { ${m.yaml} }`);
        sink.deliver(m.bad);
        sink.deliver(m.good);
        await flushMicrotasks();
        assert.equal(
          w.settled(),
          true,
          'settles as soon as the match arrives, before the deadline',
        );
        const o = await w.outcome;
        assert.equal(o.ok, true);
        assert.equal(o.matched.length, 1);
      });
      it('fails at the deadline and reports what arrived instead', async () => {
        const sink = new FakeSink();
        const clock = new FakeClock();
        const w = watch(sink, clock, `expect: { ${m.yaml} }`);
        sink.deliver(m.bad);
        await clock.advance(999);
        assert.equal(w.settled(), false);
        await clock.advance(1);
        const o = await w.outcome;
        assert.equal(o.ok, false);
        const check = o.candidates[0].checks.find((c) => c.field === m.field);
        assert.ok(check, `report has a ${m.field} check`);
        assert.equal(check.ok, false);
        assert.match(check.actual, m.actual);
      });
    });
  }

  it('sees messages that arrived before the expectation started', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    sink.deliver({ subject: 'Early' });
    const o = await watch(sink, clock, 'expect: { subject: Early }').outcome;
    assert.equal(o.ok, true);
  });

  it('waits for count matches and reports how many came', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { subject: Batch, count: 3 }');
    sink.deliver({ subject: 'Batch 1' });
    sink.deliver({ subject: 'Batch 2' });
    await flushMicrotasks();
    assert.equal(w.settled(), false);
    await clock.advance(1000);
    const o = await w.outcome;
    assert.equal(o.ok, false);
    assert.equal(o.matched.length, 2);
    assert.equal(o.wanted, 3);
  });

  it('waits for the analysis event when a verdict is asked for', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { dkim: pass }');
    const d = sink.deliver({});
    await flushMicrotasks();
    assert.equal(w.settled(), false);
    sink.analyze(d.id, analysis({ dkim: { result: 'pass', signatures: [] } }));
    await flushMicrotasks();
    assert.equal((await w.outcome).ok, true);
  });

  it('ranks the closest mismatch first', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { to: a@example.test, subject: Welcome, text: hello }');
    sink.deliver({ to: ['b@example.test'], subject: 'Other', text: 'bye' });
    sink.deliver({ to: ['a@example.test'], subject: 'Welcome!', text: 'bye' });
    sink.deliver({ to: ['a@example.test'], subject: 'Other', text: 'bye' });
    await clock.advance(1000);
    const o = await w.outcome;
    assert.equal(o.ok, false);
    assert.deepEqual(
      o.candidates.map((c) => c.passed),
      [2, 1, 0],
    );
    assert.match(o.candidates[0].description, /subject "Welcome!"/);
    assert.deepEqual(
      o.candidates[0].checks.filter((c) => !c.ok).map((c) => c.field),
      ['text'],
    );
  });

  it('checks that a link answers the expected status', async () => {
    const html = '<a href="http://app.test/confirm?t=1">confirm</a>';
    for (const [status, ok] of [
      [200, true],
      [404, false],
      [null, false],
    ] as const) {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(sink, clock, 'expect: { link: { url: /confirm/, status: 2xx } }', {
        probe: () => status,
      });
      sink.deliver({ html });
      await flushMicrotasks();
      await clock.advance(1000);
      const o = await w.outcome;
      assert.equal(o.ok, ok, `status ${status}`);
      if (!ok) {
        const check = o.candidates[0].checks.find((c) => c.field === 'link' && !c.ok);
        assert.match(
          check?.actual ?? '',
          status === null ? /answered nothing \(ECONNREFUSED\)/ : /answered 404/,
        );
      }
    }
  });

  it('expectNone passes when the window stays quiet and fails on the first match', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const quiet = watch(sink, clock, 'expectNone: { to: x@example.test }', { timeoutMs: 500 });
    sink.deliver({ to: ['y@example.test'] });
    await clock.advance(500);
    assert.equal((await quiet.outcome).ok, true);

    const noisy = watch(sink, clock, 'expectNone: { to: y@example.test }', { timeoutMs: 500 });
    const o = await noisy.outcome;
    assert.equal(o.ok, false);
    assert.match(o.candidates[0].description, /to y@example\.test/);
  });

  describe('expectEvent', () => {
    it('matches a rejection by recipient and SMTP code', async () => {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(
        sink,
        clock,
        'expectEvent: { type: rejected, to: bounce@example.test, code: 550 }',
      );
      sink.reject('bounce@example.test', 550);
      assert.equal((await w.outcome).ok, true);
    });

    it('matches a deferral by enhanced code', async () => {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(
        sink,
        clock,
        'expectEvent: { type: deferred, to: defer@example.test, code: "4.7.1" }',
      );
      sink.reject('defer@example.test', 451, '4.7.1', 'message.deferred');
      assert.equal((await w.outcome).ok, true);
    });

    it('matches an asynchronous bounce', async () => {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(
        sink,
        clock,
        'expectEvent: { type: bounced, to: gone@example.test, code: 550 }',
      );
      sink.event('message.bounced', {
        messageId: 'm',
        dsnId: 'd',
        recipient: 'gone@example.test',
        sender: 's@example.test',
        status: '5.1.1',
        diagnostic: '550 5.1.1 gone',
        rule: null,
      });
      assert.equal((await w.outcome).ok, true);
    });

    it('matches a webhook delivery by status', async () => {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(sink, clock, 'expectEvent: { type: webhook, format: sendgrid, status: 2xx }');
      sink.event('webhook.sent', {
        url: 'http://app/hook',
        format: 'sendgrid',
        status: 500,
        error: null,
        messageId: 'm',
      });
      await flushMicrotasks();
      assert.equal(w.settled(), false);
      sink.event('webhook.sent', {
        url: 'http://app/hook',
        format: 'sendgrid',
        status: 204,
        error: null,
        messageId: 'm',
      });
      assert.equal((await w.outcome).ok, true);
    });

    it('fails with the wrong code and shows what came instead, accepted mail included', async () => {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const w = watch(
        sink,
        clock,
        'expectEvent: { type: rejected, to: bounce@example.test, code: 550 }',
      );
      sink.reject('bounce@example.test', 451, '4.7.1', 'message.deferred');
      sink.deliver({ to: ['bounce@example.test'] });
      await clock.advance(1000);
      const o = await w.outcome;
      assert.equal(o.ok, false);
      const described = o.candidates.map((c) => c.description).join('\n');
      assert.match(described, /deferred at RCPT/);
      assert.match(described, /accepted message/);
      const code = o.candidates
        .find((c) => /deferred/.test(c.description))
        ?.checks.find((c) => c.field === 'code');
      assert.equal(code?.actual, '451 4.7.1');
    });
  });

  it('settles as interrupted when aborted', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const controller = new AbortController();
    const w = watch(sink, clock, 'expect: { subject: never }', { signal: controller.signal });
    controller.abort();
    const o = await w.outcome;
    assert.equal(o.interrupted, true);
    assert.equal(o.ok, false);
  });

  it('fetches each message once however many expectations need it', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const watches = Array.from({ length: 5 }, (_, i) =>
      watch(sink, clock, `expect: { text: "part ${i}" }`),
    );
    sink.deliver({ text: 'part 0 part 1 part 2 part 3 part 4' });
    for (const w of watches) assert.equal((await w.outcome).ok, true);
    assert.equal(sink.fetches, 1);
  });
});

describe('flow expectations: exact outcomes', () => {
  const short = (o: ExpectationOutcome): Array<[string, number, number]> =>
    o.candidates.map((c) => [
      c.description.replace(/^(accepted )?message (\S+) .*$/, '$1$2'),
      c.passed,
      c.total,
    ]);

  it('ranks mismatches by share of checks passed, then newest first; at most three', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { to: a@x.test, subject: Hi, text: body }');
    sink.deliver({ id: 'm1', to: ['a@x.test'], subject: 'Hi', text: 'nope' });
    sink.deliver({ id: 'm2', to: ['b@x.test'], subject: 'Hi', text: 'body' });
    sink.deliver({ id: 'm3', to: ['b@x.test'], subject: 'No', text: 'nope' });
    sink.deliver({ id: 'm4', to: ['a@x.test'], subject: 'No', text: 'nope' });
    await clock.advance(1000);
    const o = await w.outcome;
    assert.deepEqual(short(o), [
      ['m2', 2, 3],
      ['m1', 2, 3],
      ['m4', 1, 3],
    ]);
    assert.equal(o.considered, 4);
    assert.equal(o.lost, 0);
    assert.deepEqual(o.matched, []);
  });

  it('a summary-only expectation fetches no message to report a failure', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { subject: Hi }');
    sink.deliver({ id: 's1', subject: 'No' });
    await clock.advance(1000);
    const o = await w.outcome;
    assert.deepEqual(short(o), [['s1', 0, 1]]);
    assert.equal(sink.fetches, 0);
  });

  it('counts a message once when its analysis arrives later, and reports lost events', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { dkim: pass }');
    const d = sink.deliver({ id: 'a1' });
    await flushMicrotasks();
    sink.analyze(d.id, analysis({ dkim: { result: 'fail', signatures: [] } }));
    sink.event('gap', { from: 1, to: 4, missed: 3 });
    await clock.advance(1000);
    const o = await w.outcome;
    assert.equal(o.ok, false);
    assert.equal(o.considered, 1);
    assert.equal(o.lost, 3);
    assert.deepEqual(short(o), [['a1', 0, 1]]);
  });

  it('an interrupt settles at once, with no candidates', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const controller = new AbortController();
    sink.deliver({ subject: 'No' });
    const w = watch(sink, clock, 'expect: { subject: Hi }', { signal: controller.signal });
    await flushMicrotasks();
    assert.equal(w.settled(), false);
    controller.abort();
    await flushMicrotasks();
    assert.equal(w.settled(), true);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.interrupted, o.candidates, o.considered], [false, true, [], 1]);
    const early = watch(sink, clock, 'expect: { subject: No }', { signal: controller.signal });
    const e = await early.outcome;
    assert.deepEqual([e.ok, e.interrupted, e.matched], [false, true, []]);
    const ev = await watch(sink, clock, 'expectEvent: { type: rejected }', {
      signal: controller.signal,
    }).outcome;
    assert.deepEqual([ev.ok, ev.interrupted, ev.candidates], [false, true, []]);
    const controller2 = new AbortController();
    const ev2 = watch(sink, clock, 'expectEvent: { type: rejected }', {
      signal: controller2.signal,
    });
    controller2.abort();
    const o2 = await ev2.outcome;
    assert.deepEqual([o2.ok, o2.interrupted, o2.candidates], [false, true, []]);
  });

  it('expectNone lists the offending message with its checks', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expectNone: { subject: Hi }');
    sink.deliver({ id: 'n1', subject: 'Hi there' });
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.wanted, o.matched], [false, 0, ['n1']]);
    assert.deepEqual(short(o), [['n1', 1, 1]]);
    assert.deepEqual(o.candidates[0].checks, [
      { field: 'subject', expected: 'Hi', actual: '"Hi there"', ok: true },
    ]);
  });

  it('a deadline is the clock time; a negative one settles at once', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { subject: Late }', { timeoutMs: 1000 });
    await clock.advance(999);
    sink.deliver({ subject: 'Late' });
    assert.equal((await w.outcome).ok, true);
    const n = watch(sink, clock, 'expect: { subject: never }', { timeoutMs: -5 });
    await clock.advance(0);
    assert.equal(n.settled(), true);
    const ev = watch(sink, clock, 'expectEvent: { type: rejected }', { timeoutMs: 1000 });
    await clock.advance(999);
    sink.reject('late@x.test');
    assert.equal((await ev.outcome).ok, true);
    const evn = watch(sink, clock, 'expectEvent: { type: deferred }', { timeoutMs: -5 });
    await clock.advance(0);
    assert.equal(evn.settled(), true);
  });

  it('expectEvent reports events and accepted messages as candidates (not for webhooks)', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    sink.reject('a@x.test', 550);
    sink.deliver({ id: 'ok1', to: ['b@x.test'] });
    sink.reject('b@x.test', 451, '4.7.1', 'message.deferred');
    const w = watch(sink, clock, 'expectEvent: { type: rejected, to: b@x.test, count: 2 }');
    sink.reject('b@x.test', 550);
    await clock.advance(1000);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.considered, o.matched.length], [false, 3, 1]);
    assert.deepEqual(
      o.candidates.map((c) => [c.description.slice(0, 30), c.passed, c.total]),
      [
        ['deferred at RCPT: sender@examp', 1, 2],
        ['accepted message ok1 from send', 1, 2],
        ['rejected at RCPT: sender@examp', 1, 2],
      ],
    );
    const hook = watch(sink, clock, 'expectEvent: { type: webhook }');
    await clock.advance(1000);
    const h = await hook.outcome;
    assert.deepEqual(
      h.candidates.map((c) => c.description.slice(0, 9)),
      ['rejected ', 'deferred ', 'rejected '],
    );
  });
});

describe('flow expectations: settling, clean-up and bounded work', () => {
  /** Counts the history subscriptions still open (a watch must close its own when it settles). */
  function openSubscriptions(sink: FakeSink): () => number {
    let open = 0;
    const subscribe = sink.history.subscribe.bind(sink.history);
    sink.history.subscribe = (listener) => {
      open++;
      const off = subscribe(listener);
      return () => {
        open--;
        return off();
      };
    };
    return () => open;
  }

  /** A probe the test answers by hand: each call is recorded, in order, with its URL. */
  function manualProbe() {
    const calls: Array<{ url: string; answer: (status: number) => void }> = [];
    const probeLink = (url: string): Promise<LinkProbe> =>
      new Promise((resolve) => {
        calls.push({ url, answer: (status) => resolve({ status, error: null }) });
      });
    return { calls, probeLink };
  }

  function watchLinks(
    sink: FakeSink,
    clock: FakeClock,
    yaml: string,
    probeLink: (url: string) => Promise<LinkProbe>,
  ): Watch {
    const a = action(yaml) as ExpectStep;
    let done = false;
    const outcome = watchMessages({
      history: sink.history,
      clock,
      timeoutMs: 1000,
      criteria: compileCriteria(a.criteria, vars),
      mode: 'expect',
      count: a.count,
      probeLink,
    });
    void outcome.then(() => {
      done = true;
    });
    return { outcome, settled: () => done };
  }

  it('leaves no timer, history subscription or abort listener behind, however it settles', async () => {
    const cases: Array<[string, string, (sink: FakeSink, c: AbortController) => void]> = [
      ['a match', 'expect: { text: hello }', (sink) => void sink.deliver({ text: 'hello' })],
      [
        'the deadline, after fetching details',
        'expect: { text: hello }',
        (sink) => void sink.deliver({ text: 'bye' }),
      ],
      ['an abort', 'expect: { text: hello }', (_, c) => c.abort()],
      ['an event match', 'expectEvent: { type: rejected }', (sink) => sink.reject('a@x.test')],
      ['an event deadline', 'expectEvent: { type: bounced }', (sink) => sink.reject('a@x.test')],
      ['an event abort', 'expectEvent: { type: rejected }', (_, c) => c.abort()],
    ];
    for (const [name, yaml, act] of cases) {
      const sink = new FakeSink();
      const clock = new FakeClock();
      const open = openSubscriptions(sink);
      const controller = new AbortController();
      const w = watch(sink, clock, yaml, { signal: controller.signal });
      assert.equal(open(), 1, name);
      act(sink, controller);
      // A match or an abort settles without time passing: look before the deadline could
      // fire (and take a timer left behind with it).
      await flushMicrotasks();
      if (!w.settled()) await clock.advance(1000);
      assert.equal(w.settled(), true, name);
      await w.outcome;
      assert.deepEqual(
        [clock.pending, open(), getEventListeners(controller.signal, 'abort').length],
        [0, 0, 0],
        `${name}: timers, subscriptions, abort listeners left`,
      );
    }
  });

  it('waiting for an analysis event leaves the event loop free (the detail is fetched once, then it waits)', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { dkim: pass }');
    const d = sink.deliver({ id: 'wait' });
    // Other work (here, a turn of the event loop) runs while the verdict is pending.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual([w.settled(), sink.fetches], [false, 1]);
    sink.analyze(d.id, analysis({ dkim: { result: 'pass', signatures: [] } }));
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched], [true, ['wait']]);
  });

  it('a failure report waits at most REPORT_DETAIL_WAIT_MS for message details', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    sink.hold('slow'); // never answered
    const w = watch(sink, clock, 'expect: { text: hello }');
    sink.deliver({ id: 'slow', text: 'hello' });
    await clock.advance(1000);
    assert.equal(w.settled(), false, 'waiting for the detail');
    await clock.advance(REPORT_DETAIL_WAIT_MS - 1);
    assert.equal(w.settled(), false);
    await clock.advance(1);
    assert.equal(w.settled(), true);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched, o.candidates.length], [false, [], 1]);
    assert.match(o.candidates[0].description, /^message slow /);
  });

  it('a detail that arrives after the deadline does not turn the failure into a pass', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const release = sink.hold('late');
    const w = watch(sink, clock, 'expect: { text: hello }');
    sink.deliver({ id: 'late', text: 'hello' });
    await clock.advance(1000);
    release();
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched], [false, []]);
    assert.deepEqual(
      o.candidates.map((c) => [c.passed, c.total]),
      [[1, 1]],
      'reported as the closest candidate, its details fetched',
    );
  });

  it('lost counts the feed gaps and the messages forgotten over the bound', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    sink.event('gap', { from: 1, to: 3, missed: 3 });
    sink.history.forgotten = 2;
    const m = watch(sink, clock, 'expect: { subject: never }');
    const e = watch(sink, clock, 'expectEvent: { type: rejected }');
    await clock.advance(1000);
    assert.equal((await m.outcome).lost, 5);
    assert.equal((await e.outcome).lost, 5);
  });

  it('a message that matched is no candidate when too few did', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { subject: Hi, count: 2 }');
    sink.deliver({ id: 'h1', subject: 'Hi' });
    sink.deliver({ id: 'n1', subject: 'No' });
    await clock.advance(1000);
    const o = await w.outcome;
    assert.deepEqual(o.matched, ['h1']);
    assert.deepEqual(
      o.candidates.map((c) => c.description.split(' ')[1]),
      ['n1'],
    );
  });

  it('fetches a detail only for messages that pass the summary checks, and at most MAX_REPORT_DETAIL_FETCHES to report a failure', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { subject: Hi, text: body }');
    for (let i = 0; i < MAX_REPORT_DETAIL_FETCHES + 2; i++) sink.deliver({ subject: 'No' });
    await clock.advance(999);
    assert.equal(sink.fetches, 0, 'none passes the subject: nothing to fetch');
    await clock.advance(1);
    const o = await w.outcome;
    assert.equal(sink.fetches, MAX_REPORT_DETAIL_FETCHES);
    assert.equal(o.candidates.length, MAX_REPORTED_CANDIDATES);

    const s2 = new FakeSink();
    const summaryOnly = watch(s2, clock, 'expect: { subject: Hi }');
    s2.deliver({ subject: 'Hi' });
    assert.equal((await summaryOnly.outcome).ok, true);
    assert.equal(s2.fetches, 0, 'a summary-only match needs no detail');
  });

  it('a message is matched once, even when it changes after matching', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { text: hello, count: 2 }');
    const d = sink.deliver({ id: 'once', text: 'hello' });
    await flushMicrotasks();
    sink.analyze(d.id, analysis());
    sink.analyze(d.id, analysis({ spamScore: 1 }));
    await clock.advance(1000);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched, o.considered], [false, ['once'], 1]);
  });

  it('probes a message once at a time, not again once matched, and again when it changes after a failed probe', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const { calls, probeLink } = manualProbe();
    const w = watchLinks(
      sink,
      clock,
      'expect: { link: { url: /confirm/, status: 2xx }, count: 2 }',
      probeLink,
    );
    const a = sink.deliver({ id: 'a', html: '<a href="http://app.test/confirm/a">go</a>' });
    await flushMicrotasks();
    assert.deepEqual(
      calls.map((c) => c.url),
      ['http://app.test/confirm/a'],
    );
    sink.analyze(a.id, analysis()); // changes while its probe is in flight
    await flushMicrotasks();
    assert.equal(calls.length, 1, 'no second probe while the first is in flight');
    calls[0].answer(200);
    await flushMicrotasks();
    sink.analyze(a.id, analysis({ spamScore: 1 })); // changes after it matched
    await flushMicrotasks();
    assert.equal(calls.length, 1, 'a matched message is not probed again');

    const b = sink.deliver({ id: 'b', html: '<a href="http://app.test/confirm/b">go</a>' });
    await flushMicrotasks();
    calls[1].answer(404);
    await flushMicrotasks();
    assert.equal(w.settled(), false);
    sink.analyze(b.id, analysis()); // a change after a failed probe: probed again
    await flushMicrotasks();
    assert.deepEqual(
      calls.map((c) => c.url),
      ['http://app.test/confirm/a', 'http://app.test/confirm/b', 'http://app.test/confirm/b'],
    );
    calls[2].answer(204);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched], [true, ['a', 'b']]);
  });

  it('a probe answered after the deadline is not reported', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const { calls, probeLink } = manualProbe();
    const w = watchLinks(
      sink,
      clock,
      'expect: { link: { url: /confirm/, status: 2xx } }',
      probeLink,
    );
    sink.deliver({ id: 'p', html: '<a href="http://app.test/confirm">go</a>' });
    const release = sink.hold('q'); // keeps the failure report waiting for its detail
    sink.deliver({ id: 'q', text: 'no link' });
    await flushMicrotasks();
    assert.equal(calls.length, 1);
    await clock.advance(1000);
    calls[0].answer(500);
    await flushMicrotasks();
    release();
    const o = await w.outcome;
    assert.equal(o.ok, false);
    assert.deepEqual(
      o.candidates.map((c) => [c.description.split(' ')[1], c.passed, c.total]),
      [
        ['p', 1, 1],
        ['q', 0, 1],
      ],
    );
  });

  it('lists every URL of a link that failed its probe', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    const w = watch(sink, clock, 'expect: { link: { url: /confirm/, status: 2xx } }', {
      probe: () => 404,
    });
    sink.deliver({
      html: '<a href="http://app.test/confirm/1">1</a> <a href="http://app.test/confirm/2">2</a>',
    });
    await flushMicrotasks();
    await clock.advance(1000);
    const o = await w.outcome;
    const failed = o.candidates[0].checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.actual),
      ['"http://app.test/confirm/1" answered 404; "http://app.test/confirm/2" answered 404'],
    );
  });

  it('expectEvent waits for count matches before settling, and lists at most three candidates', async () => {
    const sink = new FakeSink();
    const clock = new FakeClock();
    for (const to of ['a@x.test', 'b@x.test', 'c@x.test', 'd@x.test'])
      sink.reject(to, 451, '4.7.1', 'message.deferred');
    const w = watch(sink, clock, 'expectEvent: { type: rejected, count: 2 }');
    sink.reject('e@x.test');
    await clock.advance(999);
    assert.equal(w.settled(), false, 'one of two: still waiting');
    await clock.advance(1);
    const o = await w.outcome;
    assert.deepEqual([o.ok, o.matched.length], [false, 1]);
    assert.equal(o.candidates.length, MAX_REPORTED_CANDIDATES);
  });
});
