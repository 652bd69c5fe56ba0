import assert from 'node:assert/strict';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './index.ts';

/**
 * Gives each test of the enclosing `describe` a fresh fake API server, and
 * fails the test if the fake itself raised an internal error (so a bug in the
 * fake never passes for client behaviour). Call it inside `describe`; the
 * returned function gives the current test's server.
 */
export function useFakeKube(options?: FakeKubeOptions): () => FakeKube {
  let kube: FakeKube | undefined;
  beforeEach(async () => {
    kube = await startFakeKube(options);
  });
  afterEach(async () => {
    if (!kube) return;
    const errors = [...kube.internalErrors];
    await kube.close();
    kube = undefined;
    assert.deepEqual(errors, [], 'the fake itself raised no internal errors');
  });
  return () => {
    assert.ok(kube, 'useFakeKube: no fake API server outside a test');
    return kube;
  };
}
