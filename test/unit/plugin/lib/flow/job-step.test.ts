import assert from 'node:assert/strict';
import {
  flowJobManifest,
  hopelessJobReason,
} from '../../../../../plugin/lib/flow/cluster-steps.ts';
import {
  enforcedPolicy,
  podSecurityViolation,
} from '../../../../support/fake-kube/pod-security.ts';
import { parseFlow } from '../../../../../src/flow/parse.ts';

type Obj = Record<string, any>;

const RESTRICTED = enforcedPolicy({ 'pod-security.kubernetes.io/enforce': 'restricted' });
const request = {
  name: 'j',
  image: 'node:24-alpine',
  command: ['node', '-e', '1'],
  args: [],
  env: { A: 'b' },
  timeoutMs: 30_000,
};

describe("the flow job step's Job", () => {
  it("its pod passes restricted Pod Security (the fake's admission checks), with and without runAsUser", () => {
    for (const runAsUser of [null, 1000]) {
      const job = flowJobManifest({ ...request, runAsUser }, 'ns', 'flow-job-1') as Obj;
      const template = job.spec.template;
      assert.equal(
        podSecurityViolation(RESTRICTED, { metadata: { name: 'p' }, spec: template.spec }),
        undefined,
      );
      assert.equal(template.spec.securityContext.runAsNonRoot, true);
      assert.equal(template.spec.securityContext.runAsUser, runAsUser ?? undefined);
    }
  });

  it('the manifest before the fix (no runAsNonRoot, no pod seccomp) would have been refused: the check can fail', () => {
    const job = flowJobManifest({ ...request, runAsUser: null }, 'ns', 'x') as Obj;
    delete job.spec.template.spec.securityContext;
    assert.match(
      podSecurityViolation(RESTRICTED, { metadata: { name: 'p' }, spec: job.spec.template.spec }) ??
        '',
      /runAsNonRoot != true/,
    );
  });

  it('names why a job cannot run: a root image (with the fix to make), a bad image, a refused pod; nothing while it is starting', () => {
    const waiting = (reason: string, message: string) => [
      { status: { containerStatuses: [{ state: { waiting: { reason, message } } }] } },
    ];
    assert.match(
      hopelessJobReason(
        waiting(
          'CreateContainerConfigError',
          'container has runAsNonRoot and image will run as root (pod: "x", container: job)',
        ),
        undefined,
      ) ?? '',
      /^the pod cannot start \(CreateContainerConfigError: container has runAsNonRoot and image will run as root .*\); .*set runAsUser in the job step/,
    );
    assert.equal(
      hopelessJobReason(waiting('InvalidImageName', 'bad ref'), undefined),
      'the pod cannot start (InvalidImageName: bad ref)',
    );
    assert.equal(
      hopelessJobReason([], 'Error creating: pods "j-abcde" is forbidden: exceeded quota: q'),
      'the Job could not create its pod: pods "j-abcde" is forbidden: exceeded quota: q',
    );
    assert.equal(hopelessJobReason(waiting('ContainerCreating', ''), undefined), null);
    assert.equal(hopelessJobReason([], undefined), null);
  });

  it('runAsUser is read from the flow file: a positive integer; 0 (root) is refused', () => {
    const flow = (job: string) =>
      parseFlow(
        `apiVersion: email-validate.dev/v1\nkind: EmailFlow\nsteps:\n  - job: ${job}\n`,
        'f.yaml',
      );
    const ok = flow('{ image: "node:24-alpine", runAsUser: 1000 }');
    assert.equal((ok.steps[0].action as Obj).runAsUser, 1000);
    assert.equal((flow('{ image: x }').steps[0].action as Obj).runAsUser, null);
    assert.throws(() => flow('{ image: x, runAsUser: 0 }'), /runAsUser/);
  });
});
