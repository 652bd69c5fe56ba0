import assert from 'node:assert/strict';
import { isEmailValidateError } from '../../../../src/errors.ts';
import { MAX_FLOW_STEPS, MAX_SEND_COUNT, MAX_SPAM_SCORE } from '../../../../src/flow/format.ts';
import {
  flowInvalid,
  flowProblemsOf,
  MAX_REPORTED_PROBLEMS,
  parseFlow,
  type FlowProblem,
} from '../../../../src/flow/parse.ts';
import { MAX_FLOW_FILE_BYTES } from '../../../../src/flow/yaml-source.ts';

const HEAD = 'apiVersion: email-validate.dev/v1\nkind: EmailFlow\n';
const INVALID_HINT = 'see docs/flows.md, or point your editor at schema/email-flow.schema.json';
const TEMPLATE_HINT =
  'templates know run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url and env.NAME; see docs/flows.md';

function rejection(
  source: string,
  file = 'flow.yaml',
): { code: string; message: string; hint: string; problems: FlowProblem[]; omitted: number } {
  try {
    parseFlow(source, file);
  } catch (err) {
    assert.ok(isEmailValidateError(err), 'an EmailValidateError');
    return { code: err.code, message: err.message, hint: err.hint ?? '', ...flowProblemsOf(err) };
  }
  assert.fail('expected the flow to be rejected');
}

/**
 * One bad flow per row and the exact error it must give: [source (after the
 * apiVersion/kind head when `withHead`), withHead, code, message].
 */
const BAD: Array<[string, boolean, string, string]> = [
  [
    'steps:\n  - { send: { to: a@b.test, within: 5s } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:29: steps[0].send.within: unknown field "within"; a deadline is the step\'s "timeout", written next to the action (e.g. `- timeout: 30s` then `expect: …`) (allowed: to, cc, bcc, from, subject, text, html, headers, attachments, count, rate, retries, retryDelay)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, tex: x } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:29: steps[0].send.tex: unknown field "tex"; did you mean "text"? (allowed: to, cc, bcc, from, subject, text, html, headers, attachments, count, rate, retries, retryDelay)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, tezzz: x } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:29: steps[0].send.tezzz: unknown field "tezzz" (allowed: to, cc, bcc, from, subject, text, html, headers, attachments, count, rate, retries, retryDelay)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, zzzzzz: x } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:29: steps[0].send.zzzzzz: unknown field "zzzzzz" (allowed: to, cc, bcc, from, subject, text, html, headers, attachments, count, rate, retries, retryDelay)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test }, wait: 5s }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:31: steps[0].wait: unknown field "wait" (allowed: name, timeout, send, http, job, expect, expectEvent, expectNone)',
  ],
  [
    'steps:\n  - { job: { image: } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:21: steps[0].job.image: must not be empty',
  ],
  [
    'steps:\n  - { job: {} }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:7: steps[0].job: "image" is required',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, subject: { a: 1 } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].send.subject: must be a string, got a mapping',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, subject: "{{nope}}" } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:38: steps[0].send.subject: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'steps:\n  - { send: {} }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:13: steps[0].send: "to" is required',
  ],
  [
    'steps:\n  - { send: { to: [] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:19: steps[0].send.to: must not be empty',
  ],
  [
    'steps:\n  - { send: { to: [a@b.test, { x: 1 }] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:30: steps[0].send.to[1]: must be a string, got a mapping',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, cc: [true] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:34: steps[0].send.cc[0]: must be a string, got boolean true',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, headers: [1] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].send.headers: must be a mapping of names to strings, got a list',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, headers: 5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].send.headers: must be a mapping of names to strings, got number 5',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, headers: { X: { a: 1 } } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:43: steps[0].send.headers.X: must be a string, got a mapping',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, headers: { X: "{{nope}}" } } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:43: steps[0].send.headers.X: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, count: 0 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:36: steps[0].send.count: must be a whole number from 1 to 10000, got number 0',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, count: 10001 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:36: steps[0].send.count: must be a whole number from 1 to 10000, got number 10001',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, count: 1.5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:36: steps[0].send.count: must be a whole number from 1 to 10000, got number 1.5',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, retries: -1 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].send.retries: must be a whole number from 0 to 10, got number -1',
  ],
  [
    'steps:\n  - { expect: { maxSpamScore: -0.5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:31: steps[0].expect.maxSpamScore: must be a number from 0 to 1000, got number -0.5',
  ],
  [
    'steps:\n  - { expect: { maxSpamScore: 1000.5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:31: steps[0].expect.maxSpamScore: must be a number from 0 to 1000, got number 1000.5',
  ],
  [
    'steps:\n  - { expect: { maxSpamScore: x } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:31: steps[0].expect.maxSpamScore: must be a number from 0 to 1000, got "x"',
  ],
  [
    'steps:\n  - { expect: {}, timeout: 3601s }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:28: steps[0].timeout: must be at most 1h',
  ],
  [
    'steps:\n  - { expect: {}, timeout: soon }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:28: steps[0].timeout: "soon" is not a duration; write a number with a unit: 500ms, 90s, 1m30s, 2h or 1d (a bare number is seconds)',
  ],
  [
    'steps:\n  - { expectEvent: {} }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:20: steps[0].expectEvent: "type" is required (one of: rejected, deferred, bounced, webhook)',
  ],
  [
    'steps:\n  - { expect: { subject: { a: 1 } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:26: steps[0].expect.subject: must be text or a /regular expression/, got a mapping',
  ],
  [
    'steps:\n  - { expect: { subject: "" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:26: steps[0].expect.subject: must not be empty',
  ],
  [
    'steps:\n  - { expect: { subject: "/[/" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:26: steps[0].expect.subject: invalid regular expression /[/: missing closing ]: `[`',
  ],
  [
    'steps:\n  - { expect: { subject: "{{nope}}" } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:26: steps[0].expect.subject: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", status: [] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:45: steps[0].http.status: must be an HTTP status such as 200 or "2xx" (or a list of them), got a list',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", status: [200, {}] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:45: steps[0].http.status: must be an HTTP status such as 200 or "2xx" (or a list of them), got a list',
  ],
  [
    'steps:\n  - { expect: { dkim: ~, listUnsubscribe: maybe } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:43: steps[0].expect.listUnsubscribe: must be one of present, one-click, absent, got "maybe"',
  ],
  [
    'steps:\n  - { expect: { dkim: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.dkim: must be one of pass, fail, none, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"',
  ],
  [
    'steps:\n  - { expect: { dkim: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.dkim: must be one of pass, fail, none, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
  ],
  [
    'steps:\n  - { expect: { dkim: true } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.dkim: must be one of pass, fail, none, got boolean true',
  ],
  [
    'steps:\n  - { expect: { dkim: [1] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.dkim: must be one of pass, fail, none, got a list',
  ],
  [
    'steps:\n  - { expect: { dkim: { a: 1 } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.dkim: must be one of pass, fail, none, got a mapping',
  ],
  [
    'metadata: 5\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:11: metadata: must be a mapping, got number 5',
  ],
  [
    'metadata: ~\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:11: metadata: must be a mapping, got nothing',
  ],
  [
    '- a\n',
    false,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:1:1: must be a mapping with apiVersion, kind, metadata and steps, got a list',
  ],
  [
    'kind: EmailFlow\nsteps: [{ expect: {} }]\n',
    false,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:1:1: "apiVersion" is required: apiVersion: email-validate.dev/v1',
  ],
  [
    'apiVersion: email-validate.dev/v1\nsteps: [{ expect: {} }]\n',
    false,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:1:1: "kind" is required: kind: EmailFlow',
  ],
  [
    'sink: [1]\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    "flow.yaml:3:7: sink: must be a rules mapping (the sink's rules file format), got a list",
  ],
  [
    'sink: 5\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    "flow.yaml:3:7: sink: must be a rules mapping (the sink's rules file format), got number 5",
  ],
  [
    'sink: { x: "{{nope}}" }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:3:12: sink.x: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'sink: { rules: 5 }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:16: sink.rules: must be a list of rules',
  ],
  [
    'sink: { nope: 5 }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:15: sink.nope: is not a known key (expected `rules`)',
  ],
  [
    'steps: 5\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:8: steps: must be a list of steps, got number 5',
  ],
  [
    'steps: [{ expect: {} }]\ndefaults: { timeout: never }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:22: defaults.timeout: "never" is not a duration; write a number with a unit: 500ms, 90s, 1m30s, 2h or 1d (a bare number is seconds)',
  ],
  [
    'steps:\n  - { expect: {}, send: { to: a@b.test } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:7: steps[0].expect: a step has exactly one action, found send and expect; split it into two steps',
  ],
  [
    'steps:\n  - { name: x }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:5: steps[0]: a step needs exactly one action: send, http, job, expect, expectEvent, expectNone',
  ],
  [
    'steps:\n  - 5\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:5: steps[0]: must be a step mapping with one of send, http, job, expect, expectEvent, expectNone, got number 5',
  ],
  [
    'steps:\n  - { expect: { subject: "{{nope}}" } }\n  - { expect: { subject: "{{nope2}}" } }\n  - { expect: { subject: "{{nope3}}" } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:26: steps[0].expect.subject: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME) (and 2 more problems)',
  ],
  [
    'steps:\n  - { expect: { subject: "{{nope}}" } }\n  - { expect: { subject: "{{nope2}}" } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:26: steps[0].expect.subject: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME) (and 1 more problem)',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, attachments: 5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:42: steps[0].send.attachments: must be a list of {filename, content, contentType}, got number 5',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, attachments: [5] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:43: steps[0].send.attachments[0]: must be a mapping, got number 5',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, attachments: [{ content: x }] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:43: steps[0].send.attachments[0]: "filename" is required',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, rate: 0 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:35: steps[0].send.rate: must be messages per second (a number) or "N/s", "N/m", got number 0',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, rate: "5/x" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:35: steps[0].send.rate: must be messages per second (a number) or "N/s", "N/m", got "5/x"',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, rate: "0/s" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:35: steps[0].send.rate: must be messages per second (a number) or "N/s", "N/m", got "0/s"',
  ],
  [
    'steps:\n  - { send: { to: a@b.test, rate: [1] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:35: steps[0].send.rate: must be messages per second (a number) or "N/s", "N/m", got a list',
  ],
  [
    'steps:\n  - { http: {} }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:7: steps[0].http: "url" is required',
  ],
  [
    'steps:\n  - { http: { url: "ftp://x.test" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:20: steps[0].http.url: must be an http or https URL, got ftp:',
  ],
  [
    'steps:\n  - { http: { url: "not a url" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:20: steps[0].http.url: is not a valid URL: "not a url"',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test/{{nope}}" } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:20: steps[0].http.url: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", json: {}, body: x } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:47: steps[0].http.body: give either json or body, not both',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", json: { a: "{{nope}}" } } }\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:4:48: steps[0].http.json.a: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", method: 5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:45: steps[0].http.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got number 5',
  ],
  [
    'steps:\n  - { http: { url: "http://x.test", method: fetch } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:45: steps[0].http.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "fetch"',
  ],
  [
    'steps:\n  - { job: { image: x, runAsUser: 0 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:35: steps[0].job.runAsUser: must be a whole number from 1 to 2147483647, got number 0',
  ],
  [
    'steps:\n  - { job: { image: x, command: {a: 1} } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:33: steps[0].job.command: must be a string, got a mapping',
  ],
  [
    'steps:\n  - { expect: { headers: 5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:26: steps[0].expect.headers: must map header names to a matcher (or true for "present"), got number 5',
  ],
  [
    'steps:\n  - { expect: { headers: ~ } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:26: steps[0].expect.headers: must map header names to a matcher (or true for "present"), got nothing',
  ],
  [
    'steps:\n  - { expect: { headers: { X: { a: 1 } } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:31: steps[0].expect.headers.X: must be text or a /regular expression/, got a mapping',
  ],
  [
    'steps:\n  - { expect: { link: [5] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:24: steps[0].expect.link[0]: must be a URL matcher or {url, status}, got number 5',
  ],
  [
    'steps:\n  - { expect: { link: { url: "", status: 99 } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:30: steps[0].expect.link.url: must not be empty (and 1 more problem)',
  ],
  [
    'steps:\n  - { expect: { link: { status: [] } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:33: steps[0].expect.link.status: must be an HTTP status such as 200 or "2xx" (or a list of them), got a list',
  ],
  [
    'steps:\n  - { expect: { link: "" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:23: steps[0].expect.link: must not be empty',
  ],
  [
    'steps:\n  - { expect: { attachment: [5] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:30: steps[0].expect.attachment[0]: must be a file name matcher or {filename, contentType}, got number 5',
  ],
  [
    'steps:\n  - { expect: { attachment: "" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:29: steps[0].expect.attachment: must not be empty',
  ],
  [
    'steps:\n  - { expect: { attachment: { filename: "" } } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:41: steps[0].expect.attachment.filename: must not be empty',
  ],
  [
    'steps:\n  - { expect: { listUnsubscribe: 5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:34: steps[0].expect.listUnsubscribe: must be one of present, one-click, absent, got number 5',
  ],
  [
    'steps:\n  - { expectNone: 5 }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:19: steps[0].expectNone: must be a mapping, got number 5',
  ],
  [
    'steps:\n  - { expectNone: { count: 2 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:21: steps[0].expectNone.count: unknown field "count" (allowed: to, from, subject, text, html, headers, link, attachment, dkim, listUnsubscribe, maxSpamScore)',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: 199 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got number 199',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: 600 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got number 600',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: 550.5 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got number 550.5',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: "6.1.1" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got "6.1.1"',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: "5.1.1.1" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got "5.1.1.1"',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: "5.1234.1" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got "5.1234.1"',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: "650" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got "650"',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: "5500" } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got "5500"',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, code: [1] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:44: steps[0].expectEvent.code: must be an SMTP reply code such as 550 or an enhanced status code such as "5.1.1", got a list',
  ],
  [
    'steps:\n  - { expectEvent: { type: rejected, url: x, format: y, status: 200 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].expectEvent.url: "url" applies only to type: webhook (and 2 more problems)',
  ],
  [
    'steps:\n  - { expectEvent: { type: webhook, code: 550 } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:37: steps[0].expectEvent.code: webhook events have a "status" (the application\'s HTTP response), not an SMTP "code"',
  ],
  [
    'steps:\n  - { expectEvent: { type: webhook, code: ~ } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:37: steps[0].expectEvent.code: webhook events have a "status" (the application\'s HTTP response), not an SMTP "code"',
  ],
  [
    'steps:\n  - { expectEvent: { type: nope } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:28: steps[0].expectEvent.type: must be one of rejected, deferred, bounced, webhook, got "nope"',
  ],
  [
    'steps:\n  - { expectEvent: { type: webhook, status: [] } }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:45: steps[0].expectEvent.status: must be an HTTP status such as 200 or "2xx" (or a list of them), got a list',
  ],
  [
    'steps:\n  - { expect: {}, timeout: 0s, name: [1] }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:38: steps[0].name: must be a string, got a list',
  ],
  [
    'defaults: 5\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:11: defaults: must be a mapping, got number 5',
  ],
  [
    'defaults: { from: [1] }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:19: defaults.from: must be a string, got a list',
  ],
  [
    'sink: { rules: [{ match: 5 }] }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:17: sink.rules[0]: must have exactly one action (reject, defer, delay, disconnect, bounce, webhook), found 0',
  ],
  [
    'sink: { rules: [{ nope: 5 }] }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:25: sink.rules[0].nope: is not a known key (expected name, stage, match and one of reject, defer, delay, disconnect, bounce, webhook)',
  ],
  [
    'sink: { rules: [{ when: { to: "{{nope}}" } }] }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_TEMPLATE',
    'flow.yaml:3:31: sink.rules[0].when.to: unknown template variable "{{nope}}" (known: run.id, index, sink.url, sink.smtp, sink.host, sink.port, sink.namespace, mock.url, env.NAME)',
  ],
  [
    'sink: { rules: [{ when: { to: "x" }, reply: { code: 700 } }] }\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:25: sink.rules[0].when: is not a known key (expected name, stage, match and one of reject, defer, delay, disconnect, bounce, webhook)',
  ],
  [
    'apiVersion: [1]\nkind: 5\nsteps: [{ expect: {} }]\n',
    false,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:1:13: apiVersion: unsupported apiVersion a list; this version reads email-validate.dev/v1 (and 1 more problem)',
  ],
  [
    'nope: 1\nsteps: [{ expect: {} }]\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:3:1: nope: unknown field "nope" (allowed: apiVersion, kind, metadata, sink, defaults, steps)',
  ],
  [
    'steps: [{ expect: {} }]\ndefaults: { timeout: 2h }\n',
    true,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:4:22: defaults.timeout: must be at most 1h',
  ],
  [
    'apiVersion: email-validate.dev/v1\nkd: EmailFlow\nsteps: [{ expect: {} }]\n',
    false,
    'EV_ERR_FLOW_INVALID',
    'flow.yaml:1:1: "kind" is required: kind: EmailFlow (and 1 more problem)',
  ],
];

describe('flow file parsing: exact errors', () => {
  it('gives the exact code, message and hint for each bad flow', () => {
    for (const [body, withHead, code, message] of BAD) {
      const r = rejection(withHead ? `${HEAD}${body}` : body);
      assert.equal(r.message, message, body);
      assert.equal(r.code, code, body);
      assert.equal(r.hint, code === 'EV_ERR_FLOW_TEMPLATE' ? TEMPLATE_HINT : INVALID_HINT, body);
      assert.equal(r.omitted, 0, body);
      assert.equal(
        r.problems[0] &&
          `${r.problems[0].file}:${r.problems[0].line}:${r.problems[0].col}: ${r.problems[0].path ? `${r.problems[0].path}: ` : ''}${r.problems[0].message}`,
        message.replace(/ \(and \d+ more problems?\)$/, ''),
        body,
      );
    }
  });

  it('reads a valid flow to the exact spec: defaults, scalars as strings, names from the file', () => {
    const source = `${HEAD}metadata: { name: 5, description: "{{x" }\nsink: { rules: [] }\ndefaults: { timeout: 10s, from: d@x.test }\nsteps:\n  - { send: { to: 7, headers: { X: 5, Y: true }, subject: 5, count: ${MAX_SEND_COUNT}, retries: 0 } }\n  - { job: { image: busybox }, timeout: 1h }\n  - { expect: { maxSpamScore: 0 } }\n  - { expect: { maxSpamScore: ${MAX_SPAM_SCORE}, subject: 5 }, timeout: ~ }\n`;
    const file = 'dir/sub\\my-flow.YML';
    const ref = (i: number) => ({ file, path: `steps[${i}]`, line: 7 + i, col: 5 });
    const criteria = {
      to: null,
      from: null,
      subject: null,
      text: null,
      html: null,
      headers: [],
      links: [],
      attachments: [],
      dkim: null,
      listUnsubscribe: null,
    };
    assert.deepEqual(parseFlow(source, file), {
      file,
      name: '5',
      description: '{{x',
      sinkRules: 'rules: []\n',
      sinkRulesData: { rules: [] },
      steps: [
        {
          index: 0,
          name: `send ${MAX_SEND_COUNT} to 7`,
          timeoutMs: 10_000,
          action: {
            kind: 'send',
            to: ['7'],
            cc: [],
            bcc: [],
            from: 'd@x.test',
            subject: '5',
            text: 'Test email for validation',
            html: null,
            headers: { X: '5', Y: 'true' },
            attachments: [],
            count: MAX_SEND_COUNT,
            rate: null,
            retries: 0,
            retryDelayMs: 0,
          },
          ref: ref(0),
        },
        {
          index: 1,
          name: 'job busybox',
          timeoutMs: 3_600_000,
          action: {
            kind: 'job',
            image: 'busybox',
            command: [],
            args: [],
            env: {},
            runAsUser: null,
          },
          ref: ref(1),
        },
        {
          index: 2,
          name: 'expect a message',
          timeoutMs: 10_000,
          action: { kind: 'expect', criteria: { ...criteria, maxSpamScore: 0 }, count: 1 },
          ref: ref(2),
        },
        {
          index: 3,
          name: 'expect a message subject 5',
          timeoutMs: 10_000,
          action: {
            kind: 'expect',
            criteria: { ...criteria, subject: '5', maxSpamScore: MAX_SPAM_SCORE },
            count: 1,
          },
          ref: ref(3),
        },
      ],
      templates: [],
      needsCluster: true,
    });
  });

  it('names a flow without metadata.name after its file', () => {
    const body = `${HEAD}steps: [{ expect: {} }]\n`;
    const cases: Array<[string, string]> = [
      ['a/b/c.yaml', 'c'],
      ['x.yml', 'x'],
      ['C:\\f\\y.Yaml', 'y'],
      ['flow.yamlx', 'flow.yamlx'],
      ['x.yaml.bak', 'x.yaml.bak'],
      ['d/e.yaml/f', 'f'],
    ];
    for (const [file, name] of cases) assert.equal(parseFlow(body, file).name, name, file);
    assert.equal(parseFlow(`${HEAD}metadata: {}\nsteps: [{ expect: {} }]\n`, 'q.yaml').name, 'q');
    const noSink = parseFlow(`${HEAD}sink: ~\nsteps: [{ expect: {} }]\n`, 'q.yaml');
    assert.equal(noSink.sinkRules, null);
    assert.equal(noSink.sinkRulesData, null);
    assert.equal(noSink.needsCluster, false);
    assert.equal(noSink.description, null);
  });

  it(`lists at most MAX_REPORTED_PROBLEMS (${MAX_REPORTED_PROBLEMS}) problems and counts the rest`, () => {
    const bad = (n: number) => `${HEAD}steps:\n${'  - 5\n'.repeat(n)}`;
    const at = rejection(bad(MAX_REPORTED_PROBLEMS));
    assert.equal(at.problems.length, MAX_REPORTED_PROBLEMS);
    assert.equal(at.omitted, 0);
    assert.match(at.message, new RegExp(`\\(and ${MAX_REPORTED_PROBLEMS - 1} more problems\\)$`));
    const over = rejection(bad(MAX_REPORTED_PROBLEMS + 2));
    assert.equal(over.problems.length, MAX_REPORTED_PROBLEMS);
    assert.equal(over.omitted, 2);
    assert.match(over.message, new RegExp(`\\(and ${MAX_REPORTED_PROBLEMS + 1} more problems\\)$`));
    assert.deepEqual(
      over.problems.map((p) => p.line),
      Array.from({ length: MAX_REPORTED_PROBLEMS }, (_, i) => 4 + i),
    );
  });

  it('accepts a file of exactly MAX_FLOW_FILE_BYTES, refuses one byte more', () => {
    const body = `${HEAD}steps: [{ expect: {} }]\n# `;
    const exact = body + 'x'.repeat(MAX_FLOW_FILE_BYTES - Buffer.byteLength(body));
    assert.equal(parseFlow(exact, 'big.yaml').steps.length, 1);
    const r = rejection(`${exact}x`);
    assert.equal(r.message, `flow.yaml:1:1: file is larger than ${MAX_FLOW_FILE_BYTES} bytes`);
    assert.equal(r.code, 'EV_ERR_FLOW_INVALID');
  });

  it(`accepts MAX_FLOW_STEPS (${MAX_FLOW_STEPS}) steps, refuses more`, () => {
    const flow = (n: number) => `${HEAD}steps:\n${'  - expect: {}\n'.repeat(n)}`;
    assert.equal(parseFlow(flow(MAX_FLOW_STEPS), 'f.yaml').steps.length, MAX_FLOW_STEPS);
    assert.equal(
      rejection(flow(MAX_FLOW_STEPS + 1)).message,
      `flow.yaml:4:3: steps: has ${MAX_FLOW_STEPS + 1} steps; at most ${MAX_FLOW_STEPS} are allowed`,
    );
  });

  it('flowInvalid sorts by file, line and column, counts the rest, and picks the code', () => {
    const p = (file: string, line: number, col: number, kind?: 'template'): FlowProblem => ({
      file,
      line,
      col,
      path: '',
      message: `m${file}${line}${col}`,
      ...(kind ? { kind } : {}),
    });
    const input = [p('b', 1, 1), p('a', 2, 1), p('a', 1, 3), p('a', 1, 2), p('b', 1, 1)];
    const err = flowInvalid(input);
    assert.deepEqual(
      input.map((x) => x.message),
      ['mb11', 'ma21', 'ma13', 'ma12', 'mb11'],
      "the caller's list is left as it was",
    );
    assert.equal(err.code, 'EV_ERR_FLOW_INVALID');
    assert.equal(err.message, 'a:1:2: ma12 (and 4 more problems)');
    assert.deepEqual(
      flowProblemsOf(err).problems.map((x) => `${x.file}${x.line}${x.col}`),
      ['a12', 'a13', 'a21', 'b11', 'b11'],
    );
    const two = flowInvalid([p('z', 1, 1, 'template'), p('z', 1, 1, 'template')]);
    assert.equal(two.code, 'EV_ERR_FLOW_TEMPLATE');
    assert.equal(two.message, 'z:1:1: mz11 (and 1 more problem)');
    const one = flowInvalid([p('z', 1, 1, 'template')], 1);
    assert.equal(one.code, 'EV_ERR_FLOW_INVALID', 'omitted problems may not be template ones');
    assert.equal(one.message, 'z:1:1: mz11 (and 1 more problem)');
    assert.equal(flowProblemsOf(one).omitted, 1);
    const alone = flowInvalid([{ ...p('z', 3, 4), path: 'steps[0]' }]);
    assert.equal(alone.message, 'z:3:4: steps[0]: mz34');
    assert.deepEqual(flowProblemsOf(alone).problems[0], {
      ...p('z', 3, 4),
      path: 'steps[0]',
      text: 'z:3:4: steps[0]: mz34',
    });
    assert.deepEqual(flowProblemsOf(alone).omitted, 0);
  });

  it('reads each kind of step to its exact action, default name and timeout', () => {
    /** [step, name, timeoutMs, action] */
    const GOOD: Array<[string, string, number, unknown]> = [
      [
        '{ send: { to: [a@b.test, c@d.test], count: 3 } }',
        'send 3 to a@b.test, c@d.test',
        30000,
        {
          kind: 'send',
          to: ['a@b.test', 'c@d.test'],
          cc: [],
          bcc: [],
          from: 'flow+{{run.id}}@email-validate.test',
          subject: 'Validation Email',
          text: 'Test email for validation',
          html: null,
          headers: {},
          attachments: [],
          count: 3,
          rate: null,
          retries: 0,
          retryDelayMs: 0,
        },
      ],
      [
        '{ send: { to: a@b.test, html: "<p>x</p>", rate: "2/m", attachments: [{ filename: f.txt }] } }',
        'send 1 to a@b.test',
        30000,
        {
          kind: 'send',
          to: ['a@b.test'],
          cc: [],
          bcc: [],
          from: 'flow+{{run.id}}@email-validate.test',
          subject: 'Validation Email',
          text: null,
          html: '<p>x</p>',
          headers: {},
          attachments: [{ filename: 'f.txt', content: '', contentType: null }],
          count: 1,
          rate: 0.03333333333333333,
          retries: 0,
          retryDelayMs: 0,
        },
      ],
      [
        '{ send: { to: a@b.test, rate: 4, text: t, retryDelay: 2s } }',
        'send 1 to a@b.test',
        30000,
        {
          kind: 'send',
          to: ['a@b.test'],
          cc: [],
          bcc: [],
          from: 'flow+{{run.id}}@email-validate.test',
          subject: 'Validation Email',
          text: 't',
          html: null,
          headers: {},
          attachments: [],
          count: 1,
          rate: 4,
          retries: 0,
          retryDelayMs: 2000,
        },
      ],
      [
        '{ send: { to: a@b.test, rate: "1.5 / h" } }',
        'send 1 to a@b.test',
        30000,
        {
          kind: 'send',
          to: ['a@b.test'],
          cc: [],
          bcc: [],
          from: 'flow+{{run.id}}@email-validate.test',
          subject: 'Validation Email',
          text: 'Test email for validation',
          html: null,
          headers: {},
          attachments: [],
          count: 1,
          rate: 0.0004166666666666667,
          retries: 0,
          retryDelayMs: 0,
        },
      ],
      [
        '{ http: { url: "http://x.test/a" } }',
        'GET http://x.test/a',
        30000,
        {
          kind: 'http',
          method: 'GET',
          url: 'http://x.test/a',
          headers: {},
          json: null,
          body: null,
          status: ['2xx'],
          responseBody: null,
        },
      ],
      [
        '{ http: { url: "http://x.test/a", json: { a: 1 } } }',
        'POST http://x.test/a',
        30000,
        {
          kind: 'http',
          method: 'POST',
          url: 'http://x.test/a',
          headers: {},
          json: { a: 1 },
          body: null,
          status: ['2xx'],
          responseBody: null,
        },
      ],
      [
        '{ http: { url: "{{sink.url}}/x", body: b, method: put, status: [200, "3xx"], responseBody: ok } }',
        'PUT {{sink.url}}/x',
        30000,
        {
          kind: 'http',
          method: 'PUT',
          url: '{{sink.url}}/x',
          headers: {},
          json: null,
          body: 'b',
          status: [200, '3xx'],
          responseBody: 'ok',
        },
      ],
      [
        '{ job: { image: busybox, command: sh, args: [-c, 5], env: { A: 1 }, runAsUser: 2147483647 } }',
        'job busybox',
        300000,
        {
          kind: 'job',
          image: 'busybox',
          command: ['sh'],
          args: ['-c', '5'],
          env: { A: '1' },
          runAsUser: 2147483647,
        },
      ],
      [
        '{ expect: { to: a@b.test, subject: hi, from: f@x.test, count: 2 } }',
        'expect 2 messages to a@b.test, subject hi, from f@x.test',
        30000,
        {
          kind: 'expect',
          criteria: {
            to: 'a@b.test',
            from: 'f@x.test',
            subject: 'hi',
            text: null,
            html: null,
            headers: [],
            links: [],
            attachments: [],
            dkim: null,
            listUnsubscribe: null,
            maxSpamScore: null,
          },
          count: 2,
        },
      ],
      [
        '{ expect: { from: f@x.test, headers: { X-A: true, X-B: "/v/" }, link: ["/u/", { status: 200 }, { url: x, status: "2xx" }], attachment: ["a.pdf", { contentType: "/pdf/" }], listUnsubscribe: true, dkim: pass } }',
        'expect a message from f@x.test',
        30000,
        {
          kind: 'expect',
          criteria: {
            to: null,
            from: 'f@x.test',
            subject: null,
            text: null,
            html: null,
            headers: [
              { name: 'X-A', value: null },
              { name: 'X-B', value: '/v/' },
            ],
            links: [
              { url: '/u/', status: null },
              { url: '/./', status: [200] },
              { url: 'x', status: ['2xx'] },
            ],
            attachments: [
              { filename: 'a.pdf', contentType: null },
              { filename: null, contentType: '/pdf/' },
            ],
            dkim: 'pass',
            listUnsubscribe: 'present',
            maxSpamScore: null,
          },
          count: 1,
        },
      ],
      [
        '{ expect: { listUnsubscribe: false } }',
        'expect a message',
        30000,
        {
          kind: 'expect',
          criteria: {
            to: null,
            from: null,
            subject: null,
            text: null,
            html: null,
            headers: [],
            links: [],
            attachments: [],
            dkim: null,
            listUnsubscribe: 'absent',
            maxSpamScore: null,
          },
          count: 1,
        },
      ],
      [
        '{ expect: { listUnsubscribe: one-click } }',
        'expect a message',
        30000,
        {
          kind: 'expect',
          criteria: {
            to: null,
            from: null,
            subject: null,
            text: null,
            html: null,
            headers: [],
            links: [],
            attachments: [],
            dkim: null,
            listUnsubscribe: 'one-click',
            maxSpamScore: null,
          },
          count: 1,
        },
      ],
      [
        '{ expectNone: { to: a@b.test, subject: s, from: f } }',
        'expect no message to a@b.test, subject s',
        3000,
        {
          kind: 'expectNone',
          criteria: {
            to: 'a@b.test',
            from: 'f',
            subject: 's',
            text: null,
            html: null,
            headers: [],
            links: [],
            attachments: [],
            dkim: null,
            listUnsubscribe: null,
            maxSpamScore: null,
          },
        },
      ],
      [
        '{ expectNone: {} }',
        'expect no message',
        3000,
        {
          kind: 'expectNone',
          criteria: {
            to: null,
            from: null,
            subject: null,
            text: null,
            html: null,
            headers: [],
            links: [],
            attachments: [],
            dkim: null,
            listUnsubscribe: null,
            maxSpamScore: null,
          },
        },
      ],
      [
        '{ expectEvent: { type: rejected, to: a@b.test, code: 550 } }',
        'expect rejected for a@b.test (550)',
        30000,
        {
          kind: 'expectEvent',
          type: 'rejected',
          to: 'a@b.test',
          from: null,
          code: 550,
          url: null,
          format: null,
          status: null,
          count: 1,
        },
      ],
      [
        '{ expectEvent: { type: deferred, code: "4.2.1" } }',
        'expect deferred (4.2.1)',
        30000,
        {
          kind: 'expectEvent',
          type: 'deferred',
          to: null,
          from: null,
          code: '4.2.1',
          url: null,
          format: null,
          status: null,
          count: 1,
        },
      ],
      [
        '{ expectEvent: { type: bounced, code: "599" } }',
        'expect bounced (599)',
        30000,
        {
          kind: 'expectEvent',
          type: 'bounced',
          to: null,
          from: null,
          code: 599,
          url: null,
          format: null,
          status: null,
          count: 1,
        },
      ],
      [
        '{ expectEvent: { type: rejected, code: 200 } }',
        'expect rejected (200)',
        30000,
        {
          kind: 'expectEvent',
          type: 'rejected',
          to: null,
          from: null,
          code: 200,
          url: null,
          format: null,
          status: null,
          count: 1,
        },
      ],
      [
        '{ expectEvent: { type: webhook, url: "/hook/", format: json, status: 500, count: 2 } }',
        'expect webhook',
        30000,
        {
          kind: 'expectEvent',
          type: 'webhook',
          to: null,
          from: null,
          code: null,
          url: '/hook/',
          format: 'json',
          status: [500],
          count: 2,
        },
      ],
      [
        '{ expectEvent: { type: rejected, code: "5.123.999" } }',
        'expect rejected (5.123.999)',
        30000,
        {
          kind: 'expectEvent',
          type: 'rejected',
          to: null,
          from: null,
          code: '5.123.999',
          url: null,
          format: null,
          status: null,
          count: 1,
        },
      ],
    ];
    const f = parseFlow(`${HEAD}steps:\n${GOOD.map(([s]) => `  - ${s}\n`).join('')}`, 'f.yaml');
    assert.equal(f.steps.length, GOOD.length);
    f.steps.forEach((s, i) => {
      const [source, name, timeoutMs, action] = GOOD[i] ?? ['', '', 0, null];
      assert.deepEqual(
        [s.index, s.name, s.timeoutMs, s.action],
        [i, name, timeoutMs, action],
        source,
      );
    });
    assert.deepEqual(f.templates, [
      {
        variable: 'sink.url',
        ref: { file: 'f.yaml', path: 'steps[6].http.url', line: 10, col: 20 },
      },
    ]);
    assert.equal(f.needsCluster, true);
  });

  it('keeps the first MAX_REPORTED_PROBLEMS in check order, then lists them in file order', () => {
    // "kind" is checked before the steps but written after them: it is one of the
    // first MAX_REPORTED_PROBLEMS found, so it is listed (last) and a step is left out.
    const source = `apiVersion: email-validate.dev/v1\nsteps:\n${'  - 5\n'.repeat(MAX_REPORTED_PROBLEMS)}kind: 5\n`;
    const r = rejection(source);
    assert.equal(r.problems.length, MAX_REPORTED_PROBLEMS);
    assert.equal(r.omitted, 1);
    assert.deepEqual(
      r.problems.map((p) => p.path),
      [...Array.from({ length: MAX_REPORTED_PROBLEMS - 1 }, (_, i) => `steps[${i}]`), 'kind'],
    );
    assert.match(r.message, new RegExp(`\\(and ${MAX_REPORTED_PROBLEMS} more problems\\)$`));
  });

  it('suggests a known field up to two edits away, even two letters shorter', () => {
    const r = rejection(
      'apiVersion: email-validate.dev/v1\nkd: EmailFlow\nsteps: [{ expect: {} }]\n',
    );
    assert.equal(
      r.problems[1]?.message,
      'unknown field "kd"; did you mean "kind"? (allowed: apiVersion, kind, metadata, sink, defaults, steps)',
    );
    assert.deepEqual([r.problems[1]?.line, r.problems[1]?.col, r.problems[1]?.path], [2, 1, 'kd']);
  });

  it("strips the sink parser's own position, two digits too, and points into this file", () => {
    const rule = '    - reject: { code: 550 }\n      match: { recipient: "/x/" }\n';
    const source = `${HEAD}sink:\n  rules:\n${rule.repeat(6)}    - reject: { code: 700 }\nsteps: [{ expect: {} }]\n`;
    assert.equal(
      rejection(source).message,
      'flow.yaml:17:23: sink.rules[6].reject.code: must be a 5xx SMTP reply code',
    );
  });

  it('reads an empty (null) optional field as absent, and leaves step names untemplated', () => {
    const f = parseFlow(
      `${HEAD}defaults: { from: d@x.test }\nsteps:\n  - { name: "{{x", send: { to: a@b.test, headers: ~, count: ~, cc: ~, subject: ~, rate: ~, retries: 1 } }\n  - { expect: { count: 1, maxSpamScore: ~, subject: ~, dkim: ~ } }\n  - { expectEvent: { type: rejected, code: ~ } }\n`,
      'f.yaml',
    );
    assert.deepEqual(
      f.steps.map((s) => [s.name, s.timeoutMs, s.action]),
      [
        [
          '{{x',
          30_000,
          {
            kind: 'send',
            to: ['a@b.test'],
            cc: [],
            bcc: [],
            from: 'd@x.test',
            subject: 'Validation Email',
            text: 'Test email for validation',
            html: null,
            headers: {},
            attachments: [],
            count: 1,
            rate: null,
            retries: 1,
            retryDelayMs: 0,
          },
        ],
        [
          'expect a message',
          30_000,
          {
            kind: 'expect',
            criteria: {
              to: null,
              from: null,
              subject: null,
              text: null,
              html: null,
              headers: [],
              links: [],
              attachments: [],
              dkim: null,
              listUnsubscribe: null,
              maxSpamScore: null,
            },
            count: 1,
          },
        ],
        [
          'expect rejected',
          30_000,
          {
            kind: 'expectEvent',
            type: 'rejected',
            to: null,
            from: null,
            code: null,
            url: null,
            format: null,
            status: null,
            count: 1,
          },
        ],
      ],
    );
    assert.deepEqual(f.templates, []);
  });
});
