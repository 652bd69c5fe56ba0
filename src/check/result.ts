/**
 * The result schema: one object per distinct input address, written as one
 * JSON line. Field names are part of the CLI's contract (README).
 */

import type { Diagnosis, SyntaxCategory } from '../address/syntax.ts';
import type { DnsStatus } from '../address/dns.ts';
import type { ReasonCode, Verdict } from './reasons.ts';

export interface SyntaxDetails {
  category: SyntaxCategory;
  diagnosis: Diagnosis;
  smtputf8: boolean;
  idn: boolean;
  literal: boolean;
}

export interface ListDetails {
  disposable: boolean;
  role: boolean;
  free: boolean;
  suggestion: string | null;
}

export interface DnsDetails {
  status: DnsStatus;
  implicitMx: boolean;
  mx: Array<{ exchange: string; priority: number; addresses: string[]; private: boolean }>;
  errorCode?: string;
}

export type SmtpStatus =
  'deliverable' | 'undeliverable' | 'greylisted' | 'unreachable' | 'blocked' | 'skipped';

export interface SmtpDetails {
  status: SmtpStatus;
  /** MX host that gave the final answer. */
  host?: string;
  /** Reply to RCPT TO (or the failing command). */
  code?: number;
  enhanced?: string;
  message?: string;
  /** Whether the domain accepts any recipient; null when it could not be told. */
  catchAll: boolean | null;
  /** Sessions tried for this address (greylisting and connection retries). */
  attempts: number;
}

export type ProviderStatus = 'valid' | 'invalid' | 'risky' | 'unknown' | 'unavailable';

export interface ProviderDetails {
  status: ProviderStatus;
  /** The provider's own verdict value, before mapping. */
  value?: string;
  httpStatus?: number;
  attempts: number;
}

export interface CheckResult {
  /** The address as it appeared in the input (trimmed). */
  address: string;
  /** Local part as written + '@' + lower-case ASCII domain; the de-duplication key. */
  normalized: string;
  verdict: Verdict;
  reasons: ReasonCode[];
  /** 1-based position of the address among the input's non-empty records. */
  index: number;
  checks: {
    syntax: SyntaxDetails;
    lists?: ListDetails;
    dns?: DnsDetails;
    smtp?: SmtpDetails;
    provider?: ProviderDetails;
  };
}
