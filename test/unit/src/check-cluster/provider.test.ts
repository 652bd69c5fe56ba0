/**
 * `check --in-cluster --provider`: what travels to the shards (the parsed
 * file and the credentials it refers to, in a Secret mounted as a file, never
 * in a ConfigMap, env literal or argv), how a shard reads it back (the same
 * parser as a local run), the objects a run may leave, and the provider stage
 * taking its permits from a shared source.
 */
import assert from 'node:assert/strict';
import {
  buildCheckClusterManifests,
  checkRunObjectRefs,
  type CheckClusterManifestOptions,
} from '../../../../src/check-cluster/manifests.ts';
import {
  MAX_PROVIDER_PAYLOAD_BYTES,
  PROVIDER_DIR,
  PROVIDER_FILE_ENV,
  PROVIDER_SECRET,
  PROVIDER_SECRET_KEY,
  decodeProviderPayload,
  encodeProviderPayload,
} from '../../../../src/check-cluster/provider-secret.ts';
import { providerEnvNames } from '../../../../src/check/provider-config.ts';
import { PROVIDER_PERMIT_KEY, ProviderStage } from '../../../../src/check/provider-stage.ts';
import type { PermitSource } from '../../../../src/limits/keyed-limiter.ts';
import { isEmailValidateError } from '../../../../src/errors.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

type Obj = Record<string, any>;

const SECRET_VALUE = 'tok-4f1d9a-secret';
const raw = {
  url: 'https://verify.example/v1?email={address}',
  headers: { Authorization: 'Bearer ${env:VERIFY_TOKEN}', 'X-Team': '${env:TEAM}' },
  verdictPath: 'result.status',
  concurrency: 3,
  rate: '20/s',
};
const env = { VERIFY_TOKEN: SECRET_VALUE, TEAM: 'mail', HOME: '/root', OTHER_SECRET: 'nope' };

const options = (over: Partial<CheckClusterManifestOptions> = {}): CheckClusterManifestOptions => ({
  namespace: 'email-validation-x',
  createNamespace: false,
  now: new Date('2026-01-01T00:00:00Z'),
  ttlMs: 7_200_000,
  token: 'tok',
  bundle: Buffer.from('console.log(1)'),
  shards: 3,
  shard: {
    offline: false,
    dnsTimeoutMs: 5000,
    dnsTries: 2,
    concurrency: 5,
    smtpProbe: false,
    mailFrom: '',
    smtpPort: 25,
    allowPrivateMx: false,
    greylistRetries: 3,
    greylistDelayMs: 60000,
    greylistMaxMs: 300000,
    smtpTimeoutMs: 20000,
  },
  limits: {
    concurrency: 20,
    rate: null,
    burst: 1,
    domainConcurrency: 1,
    domainRate: 1,
    mxConcurrency: 5,
    mxRate: 3,
  },
  ...over,
});

describe('check-cluster: --provider', () => {
  it('sends the parsed file and only the variables it refers to; a shard reads the same config back', () => {
    assert.deepEqual(providerEnvNames(raw), ['TEAM', 'VERIFY_TOKEN']);
    const text = encodeProviderPayload(raw, 'provider.yaml', env);
    const sent = JSON.parse(text) as Obj;
    assert.deepEqual(sent.env, { TEAM: 'mail', VERIFY_TOKEN: SECRET_VALUE });
    assert.ok(!text.includes('OTHER_SECRET') && !text.includes('/root'));
    const cfg = decodeProviderPayload(text);
    assert.equal(cfg.headers.authorization, `Bearer ${SECRET_VALUE}`);
    assert.equal(cfg.headers['x-team'], 'mail');
    assert.equal(cfg.concurrency, 3);
    assert.deepEqual(cfg.rate, { perSecond: 20, burst: 2 });
  });

  it('refuses a bad config before anything is created, with the local error; refuses junk and oversized payloads on the shard', () => {
    assert.throws(
      () => encodeProviderPayload({ ...raw, bogus: 1 }, 'p.yaml', env),
      (e: unknown) =>
        isEmailValidateError(e) && e.code === 'EV_ERR_PROVIDER_CONFIG' && /bogus/.test(e.message),
    );
    assert.throws(
      () => encodeProviderPayload(raw, 'p.yaml', { TEAM: 'x' }),
      /VERIFY_TOKEN is not set/,
    );
    assert.throws(
      () =>
        encodeProviderPayload(
          { ...raw, body: 'x'.repeat(MAX_PROVIDER_PAYLOAD_BYTES) },
          'p.yaml',
          env,
        ),
      (e: unknown) =>
        isEmailValidateError(e) && e.code === 'EV_ERR_PROVIDER_CONFIG' && /at most/.test(e.message),
    );
    for (const junk of ['', '[]', '{"source":1}', '{"source":"p","config":{},"env":[]}'])
      assert.throws(
        () => decodeProviderPayload(junk),
        (e: unknown) => isEmailValidateError(e) && e.code === 'EV_ERR_PROVIDER_CONFIG',
        junk,
      );
  });

  it('puts the credentials in an immutable Secret mounted read-only into the shards only: no ConfigMap, env literal or argv holds them', () => {
    const provider = encodeProviderPayload(raw, 'provider.yaml', env);
    const objs = buildCheckClusterManifests(options({ provider })) as Obj[];
    const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === PROVIDER_SECRET)!;
    assert.ok(secret, 'the provider Secret');
    assert.equal(secret.immutable, true);
    assert.deepEqual(Object.keys(secret.data), [PROVIDER_SECRET_KEY]);
    assert.equal(Buffer.from(secret.data[PROVIDER_SECRET_KEY], 'base64').toString(), provider);
    // Before the Job that mounts it.
    assert.ok(objs.indexOf(secret) < objs.findIndex((o) => o.kind === 'Job'));
    for (const o of objs.filter((x) => x !== secret)) {
      const s = JSON.stringify(o);
      assert.ok(!s.includes(SECRET_VALUE), `${o.kind} ${o.metadata.name} holds the credential`);
      assert.ok(
        !s.includes(Buffer.from(provider).toString('base64')),
        `${o.kind} ${o.metadata.name} holds the payload`,
      );
    }
    const job = objs.find((o) => o.kind === 'Job')!;
    const pod = job.spec.template.spec;
    const vol = (pod.volumes as Obj[]).find((v) => v.secret?.secretName === PROVIDER_SECRET)!;
    assert.deepEqual(vol.secret.items, [{ key: PROVIDER_SECRET_KEY, path: PROVIDER_SECRET_KEY }]);
    assert.equal(vol.secret.defaultMode, 0o440);
    const c = pod.containers[0];
    assert.deepEqual(
      (c.volumeMounts as Obj[]).find((m) => m.name === vol.name),
      { name: vol.name, mountPath: PROVIDER_DIR, readOnly: true },
    );
    assert.deepEqual(
      (c.env as Obj[]).find((e) => e.name === PROVIDER_FILE_ENV),
      { name: PROVIDER_FILE_ENV, value: `${PROVIDER_DIR}/${PROVIDER_SECRET_KEY}` },
    );
    // Redis never sees it.
    const redis = objs.find((o) => o.kind === 'Deployment')!;
    assert.ok(!JSON.stringify(redis).includes(PROVIDER_SECRET));
    // Without --provider, no Secret, volume or variable.
    const plain = JSON.stringify(buildCheckClusterManifests(options()));
    assert.ok(!plain.includes(PROVIDER_SECRET) && !plain.includes(PROVIDER_FILE_ENV));
  });

  it('the removal list names every object a run can create (provider Secret and every bundle part included)', () => {
    const refs = checkRunObjectRefs('ns1');
    const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;
    const listed = new Set(refs.map(key));
    assert.ok(refs.every((r) => r.metadata.namespace === 'ns1'));
    const provider = encodeProviderPayload(raw, 'provider.yaml', env);
    // A bundle of three parts (incompressible bytes).
    const bundle = Buffer.alloc(1_300_000);
    for (let i = 0; i < bundle.length; i++) bundle[i] = (i * 2654435761) >>> 24;
    for (const o of buildCheckClusterManifests(options({ provider, bundle })))
      assert.ok(listed.has(key(o)), `${key(o)} is not in the removal list`);
    assert.equal(refs.at(-1)!.kind, 'Secret', 'the password goes last');
    assert.equal(refs[0].kind, 'Job', 'the shards go first');
  });

  it('the provider stage takes one shared permit per request (slot and token together), and waits out a 429 before asking', async () => {
    const clock = new FakeClock();
    const asked: number[] = [];
    let held = 0;
    let maxHeld = 0;
    const permits: PermitSource = {
      async acquire(key) {
        assert.equal(key, PROVIDER_PERMIT_KEY);
        asked.push(clock.now());
        held++;
        maxHeld = Math.max(maxHeld, held);
        return () => {
          held--;
        };
      },
    };
    const answers = [
      { status: 429, headers: { 'retry-after': '3' }, body: '' },
      { status: 200, headers: {}, body: '{"result":{"status":"valid"}}' },
    ];
    const sent: number[] = [];
    const stage = new ProviderStage({
      config: decodeProviderPayload(encodeProviderPayload(raw, 'p.yaml', env)),
      http: {
        async request(req) {
          assert.equal(req.headers.authorization, `Bearer ${SECRET_VALUE}`);
          sent.push(clock.now());
          return answers.shift()!;
        },
      },
      clock,
      random: () => 0.5,
      permits,
    });
    const p = stage.verify('a@b.test', 'a@b.test');
    await clock.runUntilIdle();
    const r = await p;
    assert.equal(r.details.status, 'valid');
    assert.deepEqual(sent, [0, 3000]);
    assert.deepEqual(asked, [0, 3000], 'the second permit is asked for after the pause');
    assert.equal(held, 0, 'every permit released');
    assert.equal(maxHeld, 1);
  });
});
