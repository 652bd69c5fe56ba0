/** The sink's method + path router: HEAD served by GET, 405 with the methods allowed, empty segments ignored. */
import assert from 'node:assert/strict';
import { Router } from '../../../../sink/http/router.ts';

describe('sink/http/Router', () => {
  const get = (): void => undefined;
  const post = (): void => undefined;
  const router = new Router()
    .add('GET', '/api/messages/:id', get, { auth: false })
    .add('POST', '/api/messages/:id', post, { auth: true })
    .add('DELETE', '/api/messages/:id', post);

  it('answers HEAD with the GET route, and only the GET route', () => {
    const m = router.match('HEAD', '/api/messages/a%20b');
    assert.equal(m.kind, 'found');
    assert.ok(m.kind === 'found' && m.handler === get);
    assert.deepEqual(m.kind === 'found' && m.params, { id: 'a b' });
    const postOnly = new Router().add('POST', '/x', post);
    assert.deepEqual(postOnly.match('HEAD', '/x'), {
      kind: 'method-not-allowed',
      allow: ['POST'],
      options: { auth: true },
    });
  });

  it('lists every method allowed on the path, with the options of the first route', () => {
    assert.deepEqual(router.match('PUT', '/api/messages/1'), {
      kind: 'method-not-allowed',
      allow: ['GET', 'POST', 'DELETE'],
      options: { auth: false },
    });
  });

  it('ignores empty segments and refuses a malformed escape', () => {
    assert.equal(router.match('GET', '//api///messages/1/').kind, 'found');
    assert.equal(router.match('GET', '/api/messages').kind, 'not-found');
    assert.equal(router.match('GET', '/api/messages/%E0%A4%A').kind, 'not-found');
    assert.equal(router.match('GET', '/api/other/1').kind, 'not-found');
  });
});
