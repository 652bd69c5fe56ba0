/**
 * Mailpit's REST API (v1, as the `mailpit-api` client 2.x calls it) under
 * `/mailpit`, so a Mailpit client given `http://sink:8025/mailpit` as its base
 * URL works unchanged. Under its own prefix because Mailpit reuses MailHog's
 * paths with other meanings (`GET /api/v1/messages` is an array in MailHog and
 * an object in Mailpit). Shapes follow Mailpit's server/apiv1 and
 * internal/storage/structs.go; JSON keys are Mailpit's.
 *
 * What differs, because the sink is not Mailpit: IDs are the sink's; `Snippet`
 * is computed when a list or search asks for it (a parse per message listed,
 * cached; never at ingest), so the WebSocket `new` event carries it empty; part IDs are the
 * sink's attachment indexes; tags are the recipients' plus-address tags
 * (read-only); read state lives in memory; `link-check` checks the links our
 * analysis found with HEAD requests. Routes the sink cannot answer reply 501
 * with EV_ERR_NOT_IMPLEMENTED and a hint naming what to use instead.
 * Errors Mailpit reports as `400 text/plain` (a missing query, bad JSON) are
 * answered the same way.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import nodemailer from 'nodemailer';
import type {
  AttachmentMeta,
  MessageDetail,
  MessageSummary,
  SinkEvent,
} from '../../../src/protocol.ts';
import { isEnvelopeMailbox } from '../../../src/address/envelope.ts';
import { evError, isEmailValidateError } from '../../../src/errors.ts';
import { checkLinks } from '../../link-check.ts';
import { splitAddressList } from '../../message-headers.ts';
import type { ReleaseTarget } from '../../release-targets.ts';
import type { Logger, SinkContext } from '../../types.ts';
import { declaresJson, readBody } from '../body.ts';
import { CompatStream, type CompatHandle } from '../compat-streams.ts';
import { release, smtpRelay, type Relay } from '../mailhog/release.ts';
import { sendBuffer, setCommonHeaders } from '../respond.ts';
import type { Router } from '../router.ts';
import { matchesMailpitQuery, parseMailpitQuery, type SearchSubject } from './search.ts';

/** Prefix of the Mailpit-compatible API. */
export const MAILPIT_PREFIX = '/mailpit';
/** Mailpit's default and largest page (its getStartLimit). */
export const MAILPIT_DEFAULT_LIMIT = 50;
export const MAILPIT_MAX_LIMIT = 1000;
/** Request bodies (send, delete, read status): a send may carry attachments; 10 MiB bounds it. */
export const MAX_MAILPIT_BODY_BYTES = 10 * 1024 * 1024;
/** Recipients of one release: a test relays to a few addresses; more would make the sink a bulk mailer. */
export const MAX_RELEASE_RECIPIENTS = 100;
/** The version we report (the Mailpit API level these routes follow). */
export const MAILPIT_COMPAT_VERSION = 'v1.21.0 (kubectl-email-validate sink)';

export interface MailpitRoutesOptions {
  corsOrigin?: string | null;
  releaseTo?: readonly ReleaseTarget[];
  relay?: Relay;
  logger?: Logger;
  /** Where the sink's own SMTP listens (the send route delivers through it, so rules and events apply). */
  localSmtp?: () => { host: string; port: number | null };
  /** Seconds since start. */
  uptime?: () => number;
  /** The link check may fetch loopback/private addresses (`--link-check-private`). */
  linkCheckPrivate?: boolean;
}

interface Address {
  Name: string;
  Address: string;
}

/** `"Name" <a@b>` or `a@b` to Mailpit's address object. */
export function mailpitAddress(text: string): Address {
  const lt = text.lastIndexOf('<');
  const gt = text.lastIndexOf('>');
  if (lt >= 0 && gt > lt) {
    return {
      Name: text
        .slice(0, lt)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
      Address: text.slice(lt + 1, gt).trim(),
    };
  }
  return { Name: '', Address: text.trim() };
}

function notImplemented(what: string, instead: string) {
  return evError('EV_ERR_NOT_IMPLEMENTED', `the sink does not implement Mailpit's ${what}`, {
    hint: instead,
  });
}

export function addMailpitRoutes(
  router: Router,
  ctx: SinkContext,
  options: MailpitRoutesOptions = {},
): CompatHandle {
  const P = MAILPIT_PREFIX;
  const cors = options.corsOrigin ?? null;
  const relay = options.relay ?? smtpRelay;
  const releaseTo = options.releaseTo ?? [];
  const read = new Set<string>();
  let chaos: Record<
    'Sender' | 'Recipient' | 'Authentication',
    { ErrorCode: number; Probability: number }
  > = {
    Sender: { ErrorCode: 451, Probability: 0 },
    Recipient: { ErrorCode: 451, Probability: 0 },
    Authentication: { ErrorCode: 451, Probability: 0 },
  };

  const json = (res: ServerResponse, body: unknown) => {
    const text = JSON.stringify(body);
    setCommonHeaders(res);
    if (cors !== null) res.setHeader('access-control-allow-origin', cors);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const text = (
    res: ServerResponse,
    status: number,
    body: string,
    contentType = 'text/plain; charset=utf-8',
  ) => {
    setCommonHeaders(res);
    if (cors !== null) res.setHeader('access-control-allow-origin', cors);
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  /** Mailpit's httpError: 400 with the message as plain text. */
  const badRequest = (res: ServerResponse, message: string) => text(res, 400, message);

  const resolveId = (id: string): string | undefined => {
    if (id === 'latest') return ctx.store.list(0, 1).items[0]?.id;
    return ctx.store.get(id) === undefined ? undefined : id;
  };
  const mustResolve = (id: string): string => {
    const found = resolveId(id);
    if (found === undefined)
      throw evError('EV_ERR_NOT_FOUND', `no message with id ${JSON.stringify(id.slice(0, 200))}`, {
        hint: `list messages with GET ${P}/api/v1/messages`,
      });
    return found;
  };
  const attachmentCount = (raw: Buffer | undefined) =>
    raw !== undefined &&
    /content-disposition:\s*attachment/i.test(
      raw.toString('latin1', 0, Math.min(raw.length, 1024 * 1024)),
    )
      ? 1
      : 0;
  const listItem = (s: MessageSummary, snippet = '') => ({
    ID: s.id,
    MessageID: s.messageId ?? '',
    Read: read.has(s.id),
    From:
      s.from === null
        ? s.envelope.mailFrom
          ? { Name: '', Address: s.envelope.mailFrom.address }
          : null
        : mailpitAddress(s.from),
    To: s.to.map(mailpitAddress),
    Cc: [] as Address[],
    Bcc: [] as Address[],
    ReplyTo: [] as Address[],
    Subject: s.subject ?? '',
    Created: s.time,
    Username: s.envelope.authUser ?? '',
    Tags: tagsOf(s),
    Size: s.size,
    Attachments: attachmentCount(ctx.store.raw(s.id)),
    Snippet: snippet,
  });
  const tagsOf = (s: MessageSummary) => [
    ...new Set(s.envelope.rcptTo.map((r) => r.tag).filter((t): t is string => t !== null)),
  ];
  const allTags = () => {
    const tags = new Map<string, number>();
    for (const s of ctx.store.list(0, ctx.store.count).items)
      for (const t of tagsOf(s)) tags.set(t, (tags.get(t) ?? 0) + 1);
    return tags;
  };
  const unreadOf = (items: readonly MessageSummary[]) =>
    items.reduce((n, s) => n + (read.has(s.id) ? 0 : 1), 0);
  const startLimit = (url: URL) => {
    const n = (name: string, fallback: number) => {
      const raw = url.searchParams.get(name);
      return raw !== null && /^\d{1,9}$/.test(raw) ? Number(raw) : fallback;
    };
    const limit = n('limit', MAILPIT_DEFAULT_LIMIT);
    return {
      start: n('start', 0),
      limit: Math.min(limit === 0 ? MAILPIT_DEFAULT_LIMIT : limit, MAILPIT_MAX_LIMIT),
    };
  };
  const summaryOf = async (items: MessageSummary[], start: number, matching: MessageSummary[]) => {
    const page = matching.slice(start, start + items.length);
    const snippets = await Promise.all(
      page.map(async (s) => (await ctx.store.snippet?.(s.id)) ?? ''),
    );
    const all = ctx.store.list(0, ctx.store.count).items;
    return {
      total: all.length,
      unread: unreadOf(all),
      count: page.length,
      messages_count: matching.length,
      messages_unread: unreadOf(matching),
      start,
      tags: [...allTags().keys()].sort(),
      messages: page.map((s, i) => listItem(s, snippets[i])),
    };
  };
  const searchAll = (query: string): MessageSummary[] => {
    const terms = parseMailpitQuery(query);
    return ctx.store.list(0, ctx.store.count).items.filter((s) => {
      let lower: string | undefined;
      const subject: SearchSubject = {
        summary: s,
        read: read.has(s.id),
        text: () => (lower ??= (ctx.store.raw(s.id)?.toString('utf8') ?? '').toLowerCase()),
        hasAttachment: () => attachmentCount(ctx.store.raw(s.id)) > 0,
      };
      return matchesMailpitQuery(terms, subject);
    });
  };
  const jsonBody = async (
    req: Parameters<Parameters<Router['add']>[2]>[0]['req'],
  ): Promise<Record<string, unknown> | null | undefined> => {
    const body = (await readBody(req, MAX_MAILPIT_BODY_BYTES)).toString('utf8');
    if (body.trim() === '') return undefined;
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  };
  const detailOf = async (id: string): Promise<MessageDetail> => {
    const d = await ctx.store.detail(id);
    if (d === undefined)
      throw evError('EV_ERR_NOT_FOUND', `no message with id ${JSON.stringify(id.slice(0, 200))}`);
    return d;
  };
  const attachment = (a: AttachmentMeta) => ({
    PartID: String(a.index),
    FileName: a.filename ?? '',
    ContentType: a.contentType,
    ContentID: a.contentId ?? '',
    Size: a.size,
    Checksums: { MD5: '', SHA1: '', SHA256: a.checksum ?? '' },
  });
  const header = (d: MessageDetail, name: string) =>
    d.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);

  // --- messages ---------------------------------------------------------------
  router.add('GET', `${P}/api/v1/messages`, async ({ res, url }) => {
    const { start, limit } = startLimit(url);
    const all = ctx.store.list(0, ctx.store.count).items;
    json(res, await summaryOf(all.slice(start, start + limit), start, all));
  });
  router.add('PUT', `${P}/api/v1/messages`, async ({ req, res }) => {
    const body = await jsonBody(req);
    if (body === null || body === undefined) return badRequest(res, 'invalid JSON body');
    const ids = Array.isArray(body.IDs)
      ? body.IDs.filter((x): x is string => typeof x === 'string')
      : [];
    const search = typeof body.Search === 'string' ? body.Search : '';
    if (ids.length > 0 && search !== '')
      return badRequest(res, 'You may specify either IDs or a search query, not both');
    const targets =
      search !== ''
        ? searchAll(search).map((s) => s.id)
        : ids.length > 0
          ? ids
          : ctx.store.list(0, ctx.store.count).items.map((s) => s.id);
    for (const id of targets) {
      if (body.Read === true && ctx.store.get(id) !== undefined) read.add(id);
      else read.delete(id);
    }
    text(res, 200, 'ok');
  });
  router.add('DELETE', `${P}/api/v1/messages`, async ({ req, res }) => {
    const body = await jsonBody(req);
    const ids =
      body && Array.isArray(body.IDs)
        ? body.IDs.filter((x): x is string => typeof x === 'string')
        : [];
    // No IDs (or no valid body) deletes everything, as Mailpit does (messages.go, DeleteMessages).
    if (ids.length === 0) ctx.store.clear();
    else for (const id of ids) ctx.store.delete(id);
    text(res, 200, 'ok');
  });
  router.add('GET', `${P}/api/v1/search`, async ({ res, url }) => {
    const query = (url.searchParams.get('query') ?? '').trim();
    if (query === '') return badRequest(res, 'Error: no search query');
    const { start, limit } = startLimit(url);
    const matching = searchAll(query);
    json(res, await summaryOf(matching.slice(start, start + limit), start, matching));
  });
  router.add('DELETE', `${P}/api/v1/search`, ({ res, url }) => {
    const query = (url.searchParams.get('query') ?? '').trim();
    if (query === '') return badRequest(res, 'Error: no search query');
    for (const s of searchAll(query)) ctx.store.delete(s.id);
    text(res, 200, 'ok');
  });

  // --- one message ------------------------------------------------------------
  router.add('GET', `${P}/api/v1/message/:id`, async ({ res, params }) => {
    const id = mustResolve(params.id);
    const d = await detailOf(id);
    read.add(id);
    // Commas inside quoted names and comments do not separate addresses (as Go's net/mail in Mailpit).
    const addresses = (name: string) =>
      header(d, name)
        .flatMap((v) => splitAddressList(v))
        .map(mailpitAddress);
    const unsubscribe = header(d, 'list-unsubscribe')[0] ?? '';
    json(res, {
      ID: d.id,
      MessageID: d.messageId ?? '',
      From: d.from === null ? null : mailpitAddress(d.from),
      To: d.to.map(mailpitAddress),
      Cc: addresses('cc'),
      Bcc: [],
      ReplyTo: addresses('reply-to'),
      ReturnPath: d.envelope.mailFrom?.address ?? '',
      Subject: d.subject ?? '',
      ListUnsubscribe: {
        Header: unsubscribe,
        Links: d.analysis
          ? [...d.analysis.listUnsubscribe.mailto, ...d.analysis.listUnsubscribe.urls]
          : [],
        Errors: '',
        HeaderPost: header(d, 'list-unsubscribe-post')[0] ?? '',
      },
      Date: (() => {
        const t = Date.parse(header(d, 'date')[0] ?? '');
        return Number.isNaN(t) ? d.time : new Date(t).toISOString();
      })(),
      Tags: tagsOf(d),
      Username: d.envelope.authUser ?? '',
      Text: d.text ?? '',
      HTML: d.html ?? '',
      Size: d.size,
      Inline: d.attachments.filter((a) => a.disposition === 'inline').map(attachment),
      Attachments: d.attachments.filter((a) => a.disposition !== 'inline').map(attachment),
    });
  });
  router.add('GET', `${P}/api/v1/message/:id/headers`, async ({ res, params }) => {
    const d = await detailOf(mustResolve(params.id));
    const out: Record<string, string[]> = {};
    for (const h of d.headers) {
      // Go's textproto canonical form (Content-Type, Message-Id), as Mailpit's net/mail header map has it.
      const key = h.name
        .toLowerCase()
        .replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
      (out[key] ??= []).push(h.value);
    }
    json(res, out);
  });
  router.add('GET', `${P}/api/v1/message/:id/raw`, ({ res, params }) => {
    const raw = ctx.store.raw(mustResolve(params.id));
    if (raw === undefined) throw evError('EV_ERR_NOT_FOUND', 'message gone');
    sendBuffer(res, 200, raw, { 'content-type': 'text/plain; charset=utf-8' });
  });
  router.add('GET', `${P}/api/v1/message/:id/part/:part`, async ({ res, params }) => {
    const id = mustResolve(params.id);
    if (!/^\d{1,6}$/.test(params.part))
      throw evError('EV_ERR_NOT_FOUND', `no part ${JSON.stringify(params.part.slice(0, 40))}`, {
        hint: "part IDs are the PartID values of the message's Attachments and Inline lists",
      });
    const found = await ctx.store.attachment(id, Number(params.part));
    if (found === undefined)
      throw evError('EV_ERR_NOT_FOUND', `no part ${params.part} in message ${JSON.stringify(id)}`);
    sendBuffer(res, 200, found.content, {
      'content-type': found.meta.contentType || 'application/octet-stream',
      'content-disposition': `attachment; filename="${(found.meta.filename ?? `part-${params.part}`).replace(/[^\x20-\x7e]|["\\]/g, '_')}"`,
      'content-security-policy': "default-src 'none'; sandbox",
    });
  });
  router.add('GET', `${P}/api/v1/message/:id/part/:part/thumb`, () => {
    throw notImplemented(
      'attachment thumbnails',
      `download the part itself: GET ${P}/api/v1/message/{id}/part/{part}`,
    );
  });
  router.add('GET', `${P}/api/v1/message/:id/html-check`, () => {
    throw notImplemented(
      'HTML compatibility check (caniemail data)',
      "GET /api/messages/{id} returns the sink's analysis: hasHtml, hasText and the reasons it found",
    );
  });
  router.add('GET', `${P}/api/v1/message/:id/sa-check`, () => {
    throw notImplemented(
      'SpamAssassin check',
      "GET /api/messages/{id} returns the sink's analysis: spamScore and its reasons (heuristics, not SpamAssassin)",
    );
  });
  router.add('GET', `${P}/api/v1/message/:id/link-check`, async ({ res, params, url }) => {
    const d = await detailOf(mustResolve(params.id));
    // The inbox's link checker (bounded in count, concurrency and time), in Mailpit's shape.
    const checked = await checkLinks(d.analysis?.links ?? [], {
      follow: url.searchParams.get('follow') === 'true',
      allowPrivate: options.linkCheckPrivate ?? false,
    });
    const results = checked.map((c) => ({
      URL: c.url,
      StatusCode: c.status ?? 0,
      Status: c.error ?? STATUS_CODES[c.status ?? 0] ?? String(c.status),
    }));
    json(res, {
      Errors: results.filter((r) => r.StatusCode === 0 || r.StatusCode >= 400).length,
      Links: results,
    });
  });
  router.add('POST', `${P}/api/v1/message/:id/release`, async ({ req, res, params }) => {
    if (!declaresJson(req)) return badRequest(res, 'Content-Type must be application/json');
    const id = mustResolve(params.id);
    const body = await jsonBody(req);
    const to =
      body && Array.isArray(body.To)
        ? body.To.filter((x): x is string => typeof x === 'string')
        : [];
    if (to.length === 0) return badRequest(res, 'No valid addresses found');
    if (to.length > MAX_RELEASE_RECIPIENTS)
      return badRequest(
        res,
        `at most ${MAX_RELEASE_RECIPIENTS} recipients per release (got ${to.length})`,
      );
    const bad = to.find((t) => !isEnvelopeMailbox(t));
    if (bad !== undefined)
      return badRequest(
        res,
        `not a mailbox an SMTP envelope can carry: ${JSON.stringify(bad.slice(0, 200))}`,
      );
    // Mailpit relays through its one configured relay: here the first --release-to entry with a port.
    const target = releaseTo.find((t) => t.port !== null);
    const raw = ctx.store.raw(id);
    if (raw === undefined) throw evError('EV_ERR_NOT_FOUND', 'message gone');
    try {
      await release(
        ctx,
        relay,
        releaseTo,
        'mailpit.example',
        options.logger,
        'mailpit',
        id,
        raw,
        target?.host ?? '',
        target?.port ?? NaN,
        to,
      );
    } catch (err) {
      if (isEmailValidateError(err) && err.code === 'EV_ERR_RELEASE_FAILED')
        return badRequest(res, err.message);
      throw err;
    }
    text(res, 200, 'ok');
  });

  // --- send, tags, info, chaos, web UI config -----------------------------------
  router.add('POST', `${P}/api/v1/send`, async ({ req, res }) => {
    if (!declaresJson(req)) return badRequest(res, 'Content-Type must be application/json');
    const body = await jsonBody(req);
    if (body === null || body === undefined) return badRequest(res, 'invalid JSON body');
    const str = (v: unknown, fallback = '') => (typeof v === 'string' ? v : fallback);
    const addr = (x: unknown) => {
      if (typeof x !== 'object' || x === null || !('Email' in x) || typeof x.Email !== 'string')
        return null;
      return { name: 'Name' in x ? str(x.Name) : '', address: x.Email };
    };
    const from = addr(body.From);
    const to = Array.isArray(body.To) ? body.To.map(addr).filter((x) => x !== null) : [];
    const cc = Array.isArray(body.Cc) ? body.Cc.map(addr).filter((x) => x !== null) : [];
    const bcc = Array.isArray(body.Bcc)
      ? body.Bcc.filter((x): x is string => typeof x === 'string')
      : [];
    if (from === null) return badRequest(res, 'From is required');
    if (to.length + cc.length + bcc.length === 0)
      return badRequest(res, 'at least one recipient is required');
    const smtp = options.localSmtp?.();
    if (smtp === undefined || smtp.port === null)
      throw notImplemented('send API on an embedded API without SMTP', 'send over SMTP');
    const headers =
      typeof body.Headers === 'object' && body.Headers !== null
        ? (Object.fromEntries(
            Object.entries(body.Headers).filter(([, v]) => typeof v === 'string'),
          ) as Record<string, string>)
        : {};
    const tags = Array.isArray(body.Tags)
      ? body.Tags.filter((x): x is string => typeof x === 'string')
      : [];
    if (tags.length > 0) headers['X-Tags'] = tags.join(', ');
    const attachments = (Array.isArray(body.Attachments) ? (body.Attachments as unknown[]) : [])
      .filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
      .map((a) => ({
        filename: str(a.Filename, 'attachment'),
        content: Buffer.from(str(a.Content), 'base64'),
        ...(typeof a.ContentType === 'string' ? { contentType: a.ContentType } : {}),
        ...(typeof a.ContentID === 'string' ? { cid: a.ContentID } : {}),
      }));
    const host = smtp.host === '0.0.0.0' ? '127.0.0.1' : smtp.host === '::' ? '::1' : smtp.host;
    const transport = nodemailer.createTransport({
      host,
      port: smtp.port,
      secure: false,
      ignoreTLS: true,
    });
    try {
      const info = await transport.sendMail({
        from,
        to,
        cc,
        bcc,
        headers,
        attachments,
        subject: typeof body.Subject === 'string' ? body.Subject : '',
        ...(typeof body.Text === 'string' ? { text: body.Text } : {}),
        ...(typeof body.HTML === 'string' ? { html: body.HTML } : {}),
        ...(Array.isArray(body.ReplyTo)
          ? { replyTo: body.ReplyTo.map(addr).filter((x) => x !== null) }
          : {}),
      });
      const queued = /queued as (\S+)/.exec(info.response);
      json(res, { ID: queued?.[1] ?? '' });
    } catch (err) {
      badRequest(res, err instanceof Error ? err.message : String(err));
    } finally {
      transport.close();
    }
  });
  router.add('GET', `${P}/api/v1/tags`, ({ res }) => json(res, [...allTags().keys()].sort()));
  for (const [method, path] of [
    ['PUT', `${P}/api/v1/tags`],
    ['PUT', `${P}/api/v1/tags/:tag`],
    ['DELETE', `${P}/api/v1/tags/:tag`],
  ] as const) {
    router.add(method, path, () => {
      throw notImplemented(
        'tag editing',
        "tags are the recipients' plus-address tags (alice+TAG@example.com); search with tag:TAG or GET /api/messages?tag=TAG",
      );
    });
  }
  router.add('GET', `${P}/api/v1/info`, ({ res }) => {
    const all = ctx.store.list(0, ctx.store.count).items;
    const stats = ctx.stats();
    json(res, {
      Version: MAILPIT_COMPAT_VERSION,
      LatestVersion: '',
      Database: 'memory',
      DatabaseSize: ctx.store.bytes,
      Messages: all.length,
      Unread: unreadOf(all),
      Tags: Object.fromEntries(allTags()),
      RuntimeStats: {
        Uptime: options.uptime?.() ?? stats.uptimeSeconds,
        Memory: process.memoryUsage().rss,
        MessagesDeleted: 0,
        SMTPAccepted: stats.received,
        SMTPAcceptedSize: 0,
        SMTPRejected: stats.rejected,
        SMTPIgnored: 0,
      },
    });
  });
  router.add('GET', `${P}/api/v1/webui`, ({ res }) => {
    const relayTarget = releaseTo.find((t) => t.port !== null);
    json(res, {
      Label: '',
      MessageRelay: {
        Enabled: relayTarget !== undefined,
        SMTPServer: relayTarget ? `${relayTarget.host}:${relayTarget.port}` : '',
        ReturnPath: '',
        AllowedRecipients: '',
        BlockedRecipients: '',
        OverrideFrom: '',
        PreserveMessageIDs: false,
        RecipientAllowlist: '',
      },
      SpamAssassin: false,
      ChaosEnabled: ctx.rules.overlay !== undefined,
      DuplicatesIgnored: false,
      HideDeleteAllButton: false,
    });
  });
  router.add('GET', `${P}/api/v1/chaos`, ({ res }) => json(res, chaos));
  router.add('PUT', `${P}/api/v1/chaos`, async ({ req, res }) => {
    const body = await jsonBody(req);
    if (body === null) return badRequest(res, 'invalid JSON body');
    if (ctx.rules.overlay === undefined)
      throw notImplemented(
        'chaos triggers here',
        'PUT /api/rules with reject rules and a probability',
      );
    const next = { ...chaos };
    for (const key of ['Sender', 'Recipient', 'Authentication'] as const) {
      const t = body?.[key] as { ErrorCode?: unknown; Probability?: unknown } | undefined;
      if (t === undefined || t === null) {
        next[key] = { ErrorCode: 451, Probability: 0 };
        continue;
      }
      const code = Number(t.ErrorCode ?? 451);
      const probability = Number(t.Probability ?? 0);
      if (!Number.isInteger(code) || code < 400 || code > 599)
        return badRequest(res, `${key}: ErrorCode must be a 4xx or 5xx code`);
      if (!(probability >= 0 && probability <= 100))
        return badRequest(res, `${key}: Probability must be from 0 to 100`);
      next[key] = { ErrorCode: code, Probability: probability };
    }
    ctx.rules.overlay(chaosRules(next), 'mailpit-chaos');
    chaos = next;
    json(res, chaos);
  });

  // --- rendered views (served sandboxed: captured HTML is hostile) -----------------
  router.add('GET', `${P}/view/:file`, async ({ res, params }) => {
    const m = /^(.+)\.(html|txt)$/.exec(params.file);
    if (!m) throw evError('EV_ERR_NOT_FOUND', 'views are {id}.html and {id}.txt');
    const d = await detailOf(mustResolve(m[1] ?? ''));
    setCommonHeaders(res);
    res.setHeader(
      'content-security-policy',
      "sandbox; default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'",
    );
    if (m[2] === 'html') text(res, 200, d.html ?? '', 'text/html; charset=utf-8');
    else text(res, 200, d.text ?? '', 'text/plain; charset=utf-8');
  });

  // --- live events: {Type, Data} frames as Mailpit's web UI receives them --------------
  const stream = new CompatStream(ctx.events, (event: SinkEvent) => {
    if (event.type === 'message.received')
      return JSON.stringify({ Type: 'new', Data: listItem(event.data) });
    if (event.type === 'message.deleted' || event.type === 'message.evicted') {
      read.delete(event.data.id);
      return JSON.stringify({ Type: 'delete', Data: { ID: event.data.id } });
    }
    if (event.type === 'messages.cleared') {
      read.clear();
      return JSON.stringify({ Type: 'truncate', Data: null });
    }
    return undefined;
  });
  // Read marks of messages that are gone are dropped even while nobody watches the stream.
  const forget = ctx.events.subscribe((event) => {
    if (event.type === 'message.deleted' || event.type === 'message.evicted')
      read.delete(event.data.id);
    else if (event.type === 'messages.cleared') read.clear();
  });

  return {
    websockets: new Map([
      [
        `${P}/api/events`,
        (ws: WebSocket) => {
          if (stream.full) ws.close(1013, 'too many clients');
          else stream.addWebSocket(ws);
        },
      ],
    ]),
    close: () => {
      forget();
      stream.close();
    },
  };
}

/** Mailpit's chaos triggers as rules: Probability is a percentage; 4xx defers, 5xx rejects; Authentication is not simulated. */
export function chaosRules(
  c: Record<'Sender' | 'Recipient' | 'Authentication', { ErrorCode: number; Probability: number }>,
): string {
  const rules: string[] = [];
  for (const [key, stage] of [
    ['Sender', 'mail'],
    ['Recipient', 'rcpt'],
  ] as const) {
    const t = c[key];
    if (t.Probability <= 0) continue;
    const klass = Math.floor(t.ErrorCode / 100);
    const action =
      klass === 4
        ? `defer: { attempts: 100, code: ${t.ErrorCode}, enhanced: 4.0.0, text: "Chaos: ${key} deferred" }`
        : `reject: { code: ${t.ErrorCode}, enhanced: 5.0.0, text: "Chaos: ${key} rejected" }`;
    rules.push(
      `  - name: mailpit-chaos-${key.toLowerCase()}\n    stage: ${stage}\n    match: { probability: ${t.Probability / 100} }\n    ${action}`,
    );
  }
  return rules.length === 0 ? 'rules: []\n' : `rules:\n${rules.join('\n')}\n`;
}
