/**
 * Stops a run whose network answers all fail the same way.
 *
 * A DNS server that answers SERVFAIL (or garbage) to everything passes the
 * one-query pre-check, and a provider that fails every request (a bad token,
 * a broken header) answers something; either way every address used to end
 * `unknown`, thousands of them, and the run exited 0. When the first
 * {@link UNIFORM_FAILURE_LIMIT} network results all failed with the same
 * cause and not one real answer came back, the service is broken, not the
 * addresses: the run stops with an error that says which and why.
 *
 * Once any real answer is seen (an MX, an NXDOMAIN, a provider verdict) the
 * watch is off for the rest of the run: later failures are per address.
 */

import { evError, type EmailValidateError } from '../errors.ts';
import type { CheckResult } from './result.ts';

/** Identical failures in a row, before any real answer, that prove the service itself is broken (a few pages of results, not a list). */
export const UNIFORM_FAILURE_LIMIT = 50;

type Stage = 'dns' | 'provider';

/** One stage's watch: off after its first real answer. */
class StageWatch {
  off = false;
  key: string | null = null;
  run = 0;
  cause = '';
}

export class FailureWatch {
  private readonly stages: Record<Stage, StageWatch> = {
    dns: new StageWatch(),
    provider: new StageWatch(),
  };
  private readonly limit: number;
  private readonly describe: (stage: Stage) => string;

  /** `describe` names the service in the error (e.g. "DNS server 10.0.0.2"). */
  constructor(o: { limit?: number; describe?: (stage: Stage) => string } = {}) {
    this.limit = o.limit ?? UNIFORM_FAILURE_LIMIT;
    this.describe = o.describe ?? ((s) => (s === 'dns' ? 'DNS' : 'the verification provider'));
  }

  /** Looks at one network result; returns the error that stops the run, or null. */
  observe(r: CheckResult): EmailValidateError | null {
    const dns = r.checks.dns;
    if (dns !== undefined) {
      if (dns.status === 'timeout' || dns.status === 'error') {
        const code = dns.errorCode ?? dns.status;
        const stop = this.fail(
          'dns',
          `dns:${code}`,
          code === 'ETIMEOUT' ? 'no answer in time' : `every query failed with ${code}`,
        );
        if (stop) return stop;
      } else {
        this.stages.dns.off = true;
      }
    }
    const p = r.checks.provider;
    if (p !== undefined) {
      if (p.status === 'unavailable') {
        // One key for every unavailability: once its circuit breaker opens, a
        // failing provider's results carry no status; the last one seen is the cause.
        const w = this.stages.provider;
        const cause =
          p.httpStatus !== undefined
            ? `requests were answered HTTP ${p.httpStatus}`
            : w.cause || 'requests failed to connect or timed out';
        return this.fail('provider', 'provider', cause);
      }
      this.stages.provider.off = true;
    }
    return null;
  }

  private fail(stage: Stage, key: string, cause: string): EmailValidateError | null {
    const w = this.stages[stage];
    if (w.off) return null;
    if (key === w.key) w.run++;
    else {
      w.key = key;
      w.run = 1;
    }
    w.cause = cause;
    if (w.run < this.limit) return null;
    w.off = true;
    const what = this.describe(stage);
    return stage === 'dns'
      ? evError(
          'EV_ERR_DNS',
          `${what} is not answering usefully: ${cause} for the first ${w.run} addresses, and none got a real answer; stopped instead of marking every address unknown`,
          {
            hint: 'check --dns-server (or the system resolver) with dig; results so far were written, and --state resumes once DNS works',
          },
        )
      : evError(
          'EV_ERR_PROVIDER_UNAVAILABLE',
          `${what} is failing: ${cause} for the first ${w.run} addresses, and none got a verdict; stopped instead of marking every address unknown`,
          {
            hint: "check the provider URL, token and headers in --provider (and the provider's status page); --state resumes once it works",
          },
        );
  }
}
