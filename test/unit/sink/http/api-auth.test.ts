import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { TokenVerifier, subprotocolToken, MAX_TOKEN_LENGTH } from '../../../../sink/http/auth.ts';
import { startFakeApi } from '../../../support/fake-sink-context.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('sink API authentication', () => {
  describe('TokenVerifier', () => {
    const v = new TokenVerifier('s3cret-token');

    it('matches only the exact token', () => {
      assert.equal(v.matches('s3cret-token'), true);
      for (const bad of [
        's3cret-toke',
        's3cret-token ',
        'S3CRET-TOKEN',
        '',
        null,
        undefined,
        'x'.repeat(MAX_TOKEN_LENGTH + 1),
      ]) {
        assert.equal(v.matches(bad), false, String(bad));
      }
    });

    it('reads Bearer (any case) and Basic with the token as password', () => {
      assert.equal(v.authorize(req({ authorization: 'Bearer s3cret-token' })), true);
      assert.equal(v.authorize(req({ authorization: 'bearer s3cret-token' })), true);
      assert.equal(
        v.authorize(
          req({ authorization: `Basic ${Buffer.from('u:s3cret-token').toString('base64')}` }),
        ),
        true,
      );
      assert.equal(
        v.authorize(
          req({ authorization: `Basic ${Buffer.from('s3cret-token:').toString('base64')}` }),
        ),
        false,
      );
      assert.equal(v.authorize(req({ authorization: 'Token s3cret-token' })), false);
      assert.equal(v.authorize(req({})), false);
    });

    it('accepts the subprotocol token only for WebSocket upgrades', () => {
      const r = req({ 'sec-websocket-protocol': 'email-validate.v1, bearer.s3cret-token' });
      assert.equal(subprotocolToken(r), 's3cret-token');
      assert.equal(v.authorize(r, { websocket: true }), true);
      assert.equal(v.authorize(r), false);
    });

    it('refuses a wrong or empty subprotocol token, and a wrong or empty header token, on an upgrade', () => {
      for (const offered of [
        'email-validate.v1, bearer.wrong',
        'email-validate.v1, bearer.',
        'bearer.s3cret-toke',
        'bearer.s3cret-token-and-more',
        'email-validate.v1',
      ]) {
        assert.equal(
          v.authorize(req({ 'sec-websocket-protocol': offered }), { websocket: true }),
          false,
          offered,
        );
      }
      for (const authorization of [
        'Bearer wrong',
        'Bearer ',
        'Bearer',
        `Basic ${Buffer.from('u:').toString('base64')}`,
        `Basic ${Buffer.from('u:wrong').toString('base64')}`,
      ]) {
        assert.equal(
          v.authorize(req({ authorization }), { websocket: true }),
          false,
          authorization,
        );
        assert.equal(v.authorize(req({ authorization }), {}), false, authorization);
      }
      assert.equal(
        subprotocolToken(req({ 'sec-websocket-protocol': 'email-validate.v1, bearer.' })),
        '',
        'an empty offer is read as empty, then refused',
      );
    });

    it('refuses an empty configured token', () => {
      assert.throws(() => new TokenVerifier(''), {
        name: 'RangeError',
        message: 'the API token must not be empty',
      });
    });

    it('bounds: a token of MAX_TOKEN_LENGTH is checked, a longer one never matches', () => {
      const longest = 'k'.repeat(MAX_TOKEN_LENGTH);
      assert.equal(
        new TokenVerifier(longest).authorize(req({ authorization: `Bearer ${longest}` })),
        true,
      );
      const tooLong = `${longest}k`;
      assert.equal(new TokenVerifier(tooLong).matches(tooLong), false);
      // Basic: at most twice the token length of base64 is decoded.
      const padded = Buffer.from(`${'u'.repeat(MAX_TOKEN_LENGTH * 2)}:s3cret-token`).toString(
        'base64',
      );
      assert.equal(v.authorize(req({ authorization: `Basic ${padded}` })), false);
      // Exactly twice the token length of base64 is still decoded (6,144 bytes, no padding).
      const atBound = Buffer.from(
        `${'u'.repeat((MAX_TOKEN_LENGTH * 2 * 3) / 4 - ':s3cret-token'.length)}:s3cret-token`,
      ).toString('base64');
      assert.equal(atBound.length, MAX_TOKEN_LENGTH * 2);
      assert.equal(v.authorize(req({ authorization: `Basic ${atBound}` })), true);
      // Spaces between the scheme and the credential are not part of it.
      assert.equal(v.authorize(req({ authorization: 'Bearer   s3cret-token' })), true);
      // The subprotocol header: up to twice the token length is read.
      const offer = (n: number) =>
        `bearer.s3cret-token,${' '.repeat(n - 'bearer.s3cret-token,'.length)}`;
      assert.equal(
        subprotocolToken(req({ 'sec-websocket-protocol': offer(MAX_TOKEN_LENGTH * 2) })),
        's3cret-token',
      );
      assert.equal(
        subprotocolToken(req({ 'sec-websocket-protocol': offer(MAX_TOKEN_LENGTH * 2 + 1) })),
        undefined,
      );
    });

    it('schemes are whole words; Basic needs a colon and takes any user, even none', () => {
      const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
      for (const authorization of [
        'XBearer s3cret-token',
        'Bearerx s3cret-token',
        `XBasic ${Buffer.from('u:s3cret-token').toString('base64')}`,
        `Basicx ${Buffer.from('u:s3cret-token').toString('base64')}`,
        `Token ${Buffer.from('u:s3cret-token').toString('base64')}`,
        basic('s3cret-token'),
      ])
        assert.equal(v.authorize(req({ authorization })), false, authorization);
      assert.equal(v.authorize(req({ authorization: basic(':s3cret-token') })), true);
      // A header that is only a scheme has no credential, even when the token is that word.
      assert.equal(new TokenVerifier('Bearer').authorize(req({ authorization: 'Bearer' })), false);
    });
  });

  describe('routes', () => {
    it('every API route needs the token; probes and metrics do not; the token is never logged', async () => {
      const api = await startFakeApi();
      try {
        const m = api.ctx.addMessage({ raw: 'Subject: x\r\n\r\ny' });
        const guarded: Array<[string, string]> = [
          ['GET', '/api/messages'],
          ['GET', `/api/messages/${m.id}`],
          ['GET', `/api/messages/${m.id}/raw`],
          ['GET', `/api/messages/${m.id}/attachments/0`],
          ['GET', '/api/search?q=x'],
          ['DELETE', `/api/messages/${m.id}`],
          ['DELETE', '/api/messages'],
          ['GET', '/api/rules'],
          ['PUT', '/api/rules'],
          ['GET', '/api/stats'],
          ['GET', '/api/info'],
          ['GET', '/api/v2/messages'],
          ['GET', '/api/v2/search?kind=to&query=x'],
          ['GET', '/api/v1/messages'],
          ['DELETE', '/api/v1/messages'],
          ['GET', `/api/v1/messages/${m.id}`],
          ['DELETE', `/api/v1/messages/${m.id}`],
          ['GET', `/api/v1/messages/${m.id}/download`],
          ['GET', '/api/events'],
        ];
        for (const [method, path] of guarded) {
          for (const headers of [{}, { authorization: 'Bearer wrong-token' }]) {
            const res = await fetch(`${api.base}${path}`, {
              method,
              headers,
              body: method === 'PUT' ? 'rules: []' : undefined,
            });
            assert.equal(res.status, 401, `${method} ${path}`);
            assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="email-sink"');
            const body = (await res.json()) as { error: { code: string; hint: string } };
            assert.equal(body.error.code, 'EV_ERR_UNAUTHORIZED');
            assert.ok(body.error.hint);
          }
        }
        assert.equal(api.ctx.store.count, 1, 'nothing was deleted');
        for (const path of ['/livez', '/readyz', '/metrics'])
          assert.equal((await fetch(`${api.base}${path}`)).status, 200, path);
        await api.fetch('/api/nothing-here');
        assert.doesNotMatch(api.logger.text(), new RegExp(api.token as string));
      } finally {
        await api.close();
      }
    });

    it('--no-auth opens every route and /api/info says so', async () => {
      const api = await startFakeApi({ token: null });
      try {
        assert.equal((await fetch(`${api.base}/api/messages`)).status, 200);
        const info = (await (await fetch(`${api.base}/api/info`)).json()) as { auth: boolean };
        assert.equal(info.auth, false);
      } finally {
        await api.close();
      }
    });
  });
});
