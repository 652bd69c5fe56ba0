/**
 * Request bodies: the size bound (a declared length over it is refused before
 * a byte is read, a chunked body as soon as it passes it), a stream error, and
 * which Content-Types declare JSON (release and send require it).
 */
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { declaresJson, readBody } from '../../../../sink/http/body.ts';

/** A request whose body the test feeds (no socket traffic). */
function requestWith(headers: Record<string, string>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  return req;
}

const tooLarge = (limit: number) => ({
  code: 'EV_ERR_PAYLOAD_TOO_LARGE',
  message: `request body exceeds ${limit} bytes`,
  hint: 'send a smaller body',
  details: { limit },
});

describe('request bodies (readBody, declaresJson)', () => {
  it('a declared length over the limit is refused at once, before the body arrives', async () => {
    const req = requestWith({ 'content-length': '11' });
    // Nothing is pushed and the body never ends: only the declared length can refuse it.
    await assert.rejects(readBody(req, 10), tooLarge(10));
  });

  it('a body of exactly the limit is read whole, declared or chunked', async () => {
    const declared = requestWith({ 'content-length': '10' });
    const read = readBody(declared, 10);
    declared.push(Buffer.from('01234'));
    declared.push(Buffer.from('56789'));
    declared.push(null);
    assert.equal((await read).toString(), '0123456789');
    const chunked = requestWith({});
    const all = readBody(chunked, 10);
    chunked.push(Buffer.from('0123456789'));
    chunked.push(null);
    assert.equal((await all).toString(), '0123456789');
  });

  it('a chunked body is refused as soon as it passes the limit; later chunks change nothing', async () => {
    const req = requestWith({});
    const read = readBody(req, 10);
    req.push(Buffer.from('0123456'));
    req.push(Buffer.from('7890'));
    req.push(Buffer.from('more'));
    req.push(null);
    await assert.rejects(read, tooLarge(10));
  });

  it('a stream error (the client went away) rejects with that error', async () => {
    const req = requestWith({});
    const read = readBody(req, 10);
    req.push(Buffer.from('01'));
    req.destroy(new Error('aborted'));
    await assert.rejects(read, { message: 'aborted' });
  });

  it('JSON is application/json, any case, optionally with parameters', () => {
    for (const type of [
      'application/json',
      'Application/JSON',
      'application/json; charset=utf-8',
      'application/json ;x=1',
    ])
      assert.equal(declaresJson(requestWith({ 'content-type': type })), true, type);
    for (const type of [
      'text/plain',
      'x-application/json',
      'application/jsonp',
      'application/json+x',
      'application/json x',
    ])
      assert.equal(declaresJson(requestWith({ 'content-type': type })), false, type);
    assert.equal(declaresJson(requestWith({})), false);
  });
});
