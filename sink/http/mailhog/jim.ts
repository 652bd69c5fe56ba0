/**
 * MailHog's Jim (its chaos monkey, `/api/v2/jim`) mapped onto the sink's rules.
 *
 * MailHog 1.0.1 (vendor/github.com/mailhog/MailHog-Server/api/v2.go:156-236):
 * GET answers 404 while Jim is away and his settings as JSON otherwise; POST
 * invites him (400 if he is already there) with the body's settings, or the
 * defaults when the body is not JSON, and answers 201; PUT (404 while away)
 * replaces the settings (400 on a body that is not JSON); DELETE (404 while
 * away) sends him home. A decoded body starts from zero values: a field left
 * out is 0, not its default (v2.go:204-220, Go's json.Decode into a new Jim).
 * The defaults are MailHog's docs/JIM.md table.
 *
 * Jim's chances become rules layered after the user's (RulesController.overlay):
 *  - AcceptChance: a connection is dropped at connect with 1 - AcceptChance;
 *  - DisconnectChance: the session is dropped with that chance at each of
 *    MAIL, RCPT, DATA and end of data (MailHog rolls after every read);
 *  - RejectSenderChance / RejectRecipientChance: 550 at MAIL / RCPT;
 *  - LinkSpeedAffect with LinkSpeedMin/Max (bytes/s): the reply to the end of
 *    data is delayed by the time a typical 4 KiB message takes at the mean speed
 *    (the sink does not throttle sockets);
 *  - RejectAuthChance is kept and shown but not simulated (rules have no AUTH stage).
 */

/** Jim's settings, with MailHog's JSON field names. */
export interface JimSettings {
  DisconnectChance: number;
  AcceptChance: number;
  LinkSpeedAffect: number;
  LinkSpeedMin: number;
  LinkSpeedMax: number;
  RejectSenderChance: number;
  RejectRecipientChance: number;
  RejectAuthChance: number;
}

export const JIM_FIELDS = Object.freeze([
  'DisconnectChance',
  'AcceptChance',
  'LinkSpeedAffect',
  'LinkSpeedMin',
  'LinkSpeedMax',
  'RejectSenderChance',
  'RejectRecipientChance',
  'RejectAuthChance',
] as const satisfies ReadonlyArray<keyof JimSettings>);

/** MailHog's defaults (docs/JIM.md in mailhog/MailHog). */
export const JIM_DEFAULTS: Readonly<JimSettings> = Object.freeze({
  DisconnectChance: 0.005,
  AcceptChance: 0.99,
  LinkSpeedAffect: 0.1,
  LinkSpeedMin: 1024,
  LinkSpeedMax: 10240,
  RejectSenderChance: 0.05,
  RejectRecipientChance: 0.05,
  RejectAuthChance: 0.05,
});

/** A Jim body is eight numbers; 64 KiB bounds a hostile one. */
export const MAX_JIM_BODY_BYTES = 64 * 1024;
/** Size the link-speed delay is computed for (a typical transactional message). */
export const JIM_TYPICAL_MESSAGE_BYTES = 4096;

/**
 * Decodes a body as Go's json.Decode into a zero Jim would: field names match
 * case-insensitively, unknown fields are ignored, missing fields are 0.
 * Returns null where Go's decoder fails (not JSON, not an object, a non-number field).
 */
export function parseJimBody(text: string): JimSettings | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (parsed === null) return { ...zero() };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const out = zero();
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const field = JIM_FIELDS.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return null;
    out[field] = value;
  }
  return out;
}

function zero(): JimSettings {
  return Object.fromEntries(JIM_FIELDS.map((f) => [f, 0])) as unknown as JimSettings;
}

const clamp01 = (p: number) => Math.min(1, Math.max(0, p));

/** The rules YAML equivalent to Jim's settings (empty `rules: []` when he does nothing). */
export function jimRules(j: JimSettings): string {
  const rules: string[] = [];
  const add = (name: string, stage: string, probability: number, action: string) => {
    const p = clamp01(probability);
    if (p > 0)
      rules.push(
        `  - name: ${name}\n    stage: ${stage}\n    match: { probability: ${p} }\n    ${action}`,
      );
  };
  add('jim-refuse-connection', 'connect', 1 - j.AcceptChance, 'disconnect: true');
  for (const stage of ['mail', 'rcpt', 'data', 'end'])
    add(`jim-disconnect-${stage}`, stage, j.DisconnectChance, 'disconnect: true');
  add(
    'jim-reject-sender',
    'mail',
    j.RejectSenderChance,
    'reject: { code: 550, enhanced: 5.1.0, text: "Invalid sender (Jim)" }',
  );
  add(
    'jim-reject-recipient',
    'rcpt',
    j.RejectRecipientChance,
    'reject: { code: 550, enhanced: 5.1.1, text: "Invalid recipient (Jim)" }',
  );
  const speed = (Math.max(1, j.LinkSpeedMin) + Math.max(1, j.LinkSpeedMax)) / 2;
  const delayMs = Math.min(300_000, Math.round((JIM_TYPICAL_MESSAGE_BYTES / speed) * 1000));
  if (delayMs > 0) add('jim-link-speed', 'end', j.LinkSpeedAffect, `delay: ${delayMs}ms`);
  return rules.length === 0 ? 'rules: []\n' : `rules:\n${rules.join('\n')}\n`;
}
