/**
 * The one error catalog of kubectl-email-validate.
 *
 * Every error the tool raises on purpose is an {@link EmailValidateError} whose
 * `code` is listed in {@link ERROR_CODES}. Codes are permanent: they are part of
 * the JSON output and documented in the README (a test checks both). Nothing in
 * the project branches on an error's message; edges (CLI exit codes, SMTP
 * replies, HTTP statuses) map from `code` only.
 *
 * Each area owns a block below. Append new codes at the end of your block.
 */

/** How an error surfaces at the edges: CLI exit code and HTTP status. */
export interface ErrorCodeSpec {
  /** One sentence for the README's error table. */
  readonly description: string;
  /** Exit code of the CLI when this error ends a command. */
  readonly exit: ExitCode;
  /** HTTP status when the sink API returns this error. */
  readonly http?: number;
}

/** CLI exit codes, documented in the README. */
export const EXIT = Object.freeze({
  OK: 0,
  /** An expectation failed, or a check found problems the user asked to fail on. */
  FAILED: 1,
  /** The user's input (flags, flow file, rules file, address list) is wrong. */
  USAGE: 2,
  /** The cluster, the sink or the network failed. */
  ENVIRONMENT: 3,
  /** Interrupted by a signal (Ctrl-C) after cleaning up. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15, what CI systems and kubelet expect) after cleaning up. */
  TERMINATED: 143,
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const U = EXIT.USAGE;
const E = EXIT.ENVIRONMENT;
const F = EXIT.FAILED;

export const ERROR_CODES = Object.freeze({
  // --- general / configuration -------------------------------------------------
  EV_ERR_INVALID_OPTION: {
    description: 'An option or flag has an invalid value; the message names it.',
    exit: U,
    http: 400,
  },
  EV_ERR_CONFLICTING_OPTIONS: {
    description: 'Two options cannot be used together.',
    exit: U,
    http: 400,
  },
  EV_ERR_FILE_READ: { description: 'A file named on the command line could not be read.', exit: U },
  EV_ERR_INTERNAL: {
    description: 'A bug: please report it with the command you ran.',
    exit: E,
    http: 500,
  },
  EV_ERR_INTERRUPTED: {
    description: 'The command was interrupted (Ctrl-C or SIGTERM).',
    exit: EXIT.INTERRUPTED,
  },

  // --- rules (sink behaviour simulation) -----------------------------------------
  EV_ERR_RULES_INVALID: {
    description: 'A rules file is not valid YAML or does not match the rules schema.',
    exit: U,
    http: 400,
  },

  // --- sink: SMTP and store ------------------------------------------------------
  EV_ERR_SMTP_REJECTED: {
    description: 'The sink rejected an SMTP command by rule (a simulated bounce).',
    exit: F,
  },
  EV_ERR_SMTP_DEFERRED: {
    description: 'The sink deferred an SMTP command by rule (a simulated 4xx).',
    exit: F,
  },
  EV_ERR_MESSAGE_TOO_LARGE: { description: "A message exceeded the sink's SIZE limit.", exit: F },
  EV_ERR_SINK_LISTEN: {
    description: 'The sink could not listen on the requested address or port.',
    exit: E,
  },
  EV_ERR_TLS_CONFIG: { description: 'The TLS certificate or key could not be loaded.', exit: U },

  // --- sink: HTTP API and event feed ---------------------------------------------
  EV_ERR_UNAUTHORIZED: {
    description: 'The sink API requires a bearer token (use --token or --token-file).',
    exit: E,
    http: 401,
  },
  EV_ERR_NOT_FOUND: { description: 'No message or route with that id.', exit: F, http: 404 },
  EV_ERR_BAD_REQUEST: { description: 'The sink API request was malformed.', exit: U, http: 400 },
  EV_ERR_PAYLOAD_TOO_LARGE: {
    description: 'A request body sent to the sink API is too large.',
    exit: U,
    http: 413,
  },
  EV_ERR_SINK_UNREACHABLE: {
    description: 'The sink could not be reached (check --sink, the tunnel, or the pod).',
    exit: E,
  },
  EV_ERR_SINK_RESPONSE: {
    description: 'The sink answered with an unexpected status or body.',
    exit: E,
  },
  EV_ERR_FEED_GAP: {
    description: "Events were lost because the client fell behind the sink's retained window.",
    exit: E,
  },
  EV_ERR_METHOD_NOT_ALLOWED: {
    description: 'The sink API route exists but not with that HTTP method.',
    exit: U,
    http: 405,
  },
  EV_ERR_RELEASE_REFUSED: {
    description:
      'A MailHog/Mailpit release named an SMTP server that --release-to does not allow (the sink is never an open relay).',
    exit: U,
    http: 403,
  },
  EV_ERR_RELEASE_FAILED: {
    description: 'The SMTP server a message was released to refused it or could not be reached.',
    exit: E,
    http: 502,
  },
  EV_ERR_NOT_IMPLEMENTED: {
    description:
      'A MailHog- or Mailpit-compatible route the sink does not implement; the hint names what to use instead.',
    exit: U,
    http: 501,
  },

  // --- kubernetes ----------------------------------------------------------------
  EV_ERR_KUBECONFIG_MISSING: {
    description: 'No kubeconfig was found (set KUBECONFIG, --kubeconfig, or use --local / --sink).',
    exit: E,
  },
  EV_ERR_KUBECONFIG_INVALID: {
    description: 'The kubeconfig could not be parsed or names an unknown context, cluster or user.',
    exit: U,
  },
  EV_ERR_KUBE_UNREACHABLE: {
    description: 'The Kubernetes API server could not be reached.',
    exit: E,
  },
  EV_ERR_KUBE_UNAUTHORIZED: {
    description: 'The Kubernetes API server rejected the credentials (401).',
    exit: E,
  },
  EV_ERR_KUBE_FORBIDDEN: {
    description:
      'The Kubernetes API server forbade an operation (403); the message says which and what to do.',
    exit: E,
  },
  EV_ERR_KUBE_API: {
    description: 'The Kubernetes API server returned an unexpected error.',
    exit: E,
  },
  EV_ERR_KUBE_NOT_FOUND: { description: 'A Kubernetes object was not found.', exit: E },
  EV_ERR_SINK_NOT_READY: {
    description: "The sink did not become ready within --wait; the message gives the pod's reason.",
    exit: E,
  },
  EV_ERR_TUNNEL: {
    description: 'The port-forward tunnel to the sink failed and could not be re-established.',
    exit: E,
  },

  // --- flows (smoke tests) -------------------------------------------------------
  EV_ERR_FLOW_INVALID: {
    description: 'A flow file is not valid; the message points at the file, line and field.',
    exit: U,
  },
  EV_ERR_FLOW_TEMPLATE: {
    description: 'A template in a flow file references an unknown variable.',
    exit: U,
  },
  EV_ERR_FLOW_STEP: {
    description: 'A flow step could not be carried out (e.g. an HTTP request failed to connect).',
    exit: E,
  },
  EV_ERR_EXPECTATION_FAILED: {
    description: 'An expectation in a flow was not met before its deadline.',
    exit: F,
  },

  // --- address checks ------------------------------------------------------------
  EV_ERR_INPUT_INVALID: {
    description: 'An address list could not be read (bad CSV, unknown column, unreadable file).',
    exit: U,
  },
  EV_ERR_STATE_INVALID: {
    description:
      'A --state checkpoint file is corrupt, was edited, or belongs to a different input; the message gives the line and what is wrong.',
    exit: U,
  },
  EV_ERR_STATE_LOCKED: {
    description:
      'Another run is using the same --state or --out file; the message names it (pid, host, start time).',
    exit: E,
  },
  EV_ERR_PROVIDER_CONFIG: { description: 'A --provider configuration file is not valid.', exit: U },
  EV_ERR_PROVIDER_UNAVAILABLE: {
    description: 'The verification provider failed repeatedly; its circuit breaker is open.',
    exit: E,
  },
  EV_ERR_PORT25_BLOCKED: {
    description: 'Outbound SMTP (port 25) is not reachable from here, so --smtp-probe cannot run.',
    exit: E,
  },
  EV_ERR_DNS: {
    description: 'A DNS query failed in a way that is not about the address itself.',
    exit: E,
  },
  EV_ERR_CHECK_COORDINATOR: {
    description:
      "The in-cluster check's work queue (its Redis) did not become ready or refused a request (check --in-cluster). Kept from the coordinator it replaced.",
    exit: E,
  },
  EV_ERR_CHECK_REDIS: {
    description:
      "The in-cluster check's Redis stayed unreachable through the tunnel past the deadline; the run goes on in the cluster (reattach with --attach).",
    exit: E,
  },
  EV_ERR_CHECK_ATTACH: {
    description:
      'check --attach found no run to reattach to, or the run was started with other input, output or options.',
    exit: U,
  },
  EV_ERR_CHECK_SHARDS_FAILED: {
    description:
      "The shards of an in-cluster check failed (their Job gave up); the message gives a pod's reason.",
    exit: E,
  },
} satisfies Record<string, ErrorCodeSpec>);

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The base class of every deliberate error. `hint` is a one-line "what to do"
 * shown under the message by the CLI; `details` is structured context for
 * `-o json` output and logs (never secrets).
 */
export class EmailValidateError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmailValidateError';
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.details !== undefined) this.details = options.details;
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code].exit;
  }

  get httpStatus(): number {
    return (ERROR_CODES[this.code] as ErrorCodeSpec).http ?? 500;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** True when `err` is one of ours (also across realms/bundles, by shape). */
export function isEmailValidateError(err: unknown): err is EmailValidateError {
  return (
    err instanceof EmailValidateError ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'EmailValidateError' &&
      typeof (err as { code?: unknown }).code === 'string' &&
      (err as { code: string }).code in ERROR_CODES)
  );
}

/** Shorthand for the common case. */
export function evError(
  code: ErrorCode,
  message: string,
  options?: { hint?: string; details?: Record<string, unknown>; cause?: unknown },
): EmailValidateError {
  return new EmailValidateError(code, message, options);
}
