/**
 * Reason codes: stable identifiers in every result's `reasons` array
 * (documented in the README; a test checks the README lists each one).
 * `effect` is the verdict a reason forces; `info` reasons never change it.
 * The verdict is the strongest effect present: invalid > unknown > risky > valid.
 */

export type Verdict = 'valid' | 'invalid' | 'risky' | 'unknown';
export type ReasonEffect = 'invalid' | 'unknown' | 'risky' | 'info';

export const REASONS = Object.freeze({
  // syntax
  syntax_invalid: {
    effect: 'invalid',
    description: 'Not a valid envelope address (RFC 5321); `checks.syntax.diagnosis` says why.',
  },
  syntax_unusual: {
    effect: 'risky',
    description:
      'Valid but rare: quoted local part, address literal, domain without a dot or numeric TLD.',
  },
  syntax_deprecated: {
    effect: 'risky',
    description:
      'Uses comments, folding white space or obsolete forms that belong to headers, not envelopes.',
  },
  smtputf8_required: {
    effect: 'info',
    description: 'The local part is UTF-8: delivery needs SMTPUTF8 (RFC 6531) on every hop.',
  },
  idn_domain: {
    effect: 'info',
    description: 'Internationalised domain, converted to its A-label form with strict IDNA.',
  },
  // lists
  disposable: {
    effect: 'risky',
    description: 'The domain belongs to a disposable (throw-away) mail service.',
  },
  role_account: {
    effect: 'risky',
    description: 'The local part names a role or team (admin, support, noreply …), not a person.',
  },
  typo_suggestion: {
    effect: 'risky',
    description:
      'The domain looks like a typo of a popular domain; `checks.lists.suggestion` has the fix.',
  },
  free_provider: {
    effect: 'info',
    description: 'The domain is a free mailbox provider (gmail.com, yahoo.com …).',
  },
  // dns
  domain_not_found: { effect: 'invalid', description: 'The domain does not exist (NXDOMAIN).' },
  null_mx: {
    effect: 'invalid',
    description: 'The domain publishes a null MX (RFC 7505): it accepts no mail.',
  },
  no_mail_server: {
    effect: 'invalid',
    description: 'The domain has no MX and no A/AAAA record to fall back on.',
  },
  mx_unresolvable: {
    effect: 'invalid',
    description: 'The MX hosts do not resolve to any address.',
  },
  mx_private: {
    effect: 'risky',
    description: 'An MX host resolves to a loopback, private or otherwise non-public address.',
  },
  implicit_mx: {
    effect: 'info',
    description: "No MX record: mail goes to the domain's own A/AAAA (RFC 5321 §5.1).",
  },
  dns_timeout: { effect: 'unknown', description: 'DNS did not answer in time; try again later.' },
  dns_error: {
    effect: 'unknown',
    description: 'DNS failed (SERVFAIL, REFUSED …) in a way that says nothing about the address.',
  },
  // smtp
  mailbox_not_found: {
    effect: 'invalid',
    description: 'The mail server rejected the recipient as unknown (5xx on RCPT, e.g. 550 5.1.1).',
  },
  smtp_rejected: {
    effect: 'invalid',
    description:
      'The mail server permanently rejected the recipient for another reason (5xx on RCPT).',
  },
  smtputf8_unsupported: {
    effect: 'invalid',
    description:
      'The address needs SMTPUTF8 and the mail server does not announce it, so it cannot accept it.',
  },
  catch_all: {
    effect: 'risky',
    description:
      'The domain accepts any recipient (checked once per domain with a random local part).',
  },
  smtp_greylisted: {
    effect: 'unknown',
    description: 'The server kept answering 4xx (greylisting or throttling) through every retry.',
  },
  smtp_unreachable: {
    effect: 'unknown',
    description: 'No MX host accepted a connection or completed the dialogue.',
  },
  smtp_blocked: {
    effect: 'unknown',
    description:
      'The server refused the probe itself (policy, block list) rather than the recipient.',
  },
  smtp_skipped_private: {
    effect: 'info',
    description: 'The probe was skipped because the MX is on a non-public address.',
  },
  // provider
  provider_invalid: {
    effect: 'invalid',
    description: 'The verification provider says the address is undeliverable.',
  },
  provider_risky: {
    effect: 'risky',
    description: 'The verification provider says the address is risky.',
  },
  provider_unknown: {
    effect: 'unknown',
    description: 'The verification provider could not decide.',
  },
  provider_unavailable: {
    effect: 'unknown',
    description:
      'The provider failed, answered 429 through every retry, or its circuit breaker is open.',
  },
} satisfies Record<string, { effect: ReasonEffect; description: string }>);

export type ReasonCode = keyof typeof REASONS;

const RANK: Record<ReasonEffect, number> = { info: 0, risky: 1, unknown: 2, invalid: 3 };
const VERDICT_OF: Record<number, Verdict> = { 0: 'valid', 1: 'risky', 2: 'unknown', 3: 'invalid' };

/** The verdict that a set of reasons implies. */
export function verdictOf(reasons: readonly ReasonCode[]): Verdict {
  let r = 0;
  for (let i = 0; i < reasons.length; i++) {
    const k = RANK[REASONS[reasons[i]].effect];
    if (k > r) r = k;
  }
  return VERDICT_OF[r];
}
