import { evError, isEmailValidateError } from '../../src/errors.ts';
import type { MessageDetail, MessageList } from '../../src/protocol.ts';
import type { SinkEndpoint } from './sink-target.ts';

/**
 * Message operations over every pod of a sink. Each replica stores the mail
 * it received, so lists are merged (newest first), lookups ask each pod in
 * turn and clears clear them all.
 */
export async function listAll(
  sinks: readonly SinkEndpoint[],
  query: { start: number; limit: number } & Record<string, string | number | undefined>,
): Promise<MessageList> {
  if (sinks.length === 1) return sinks[0].api.list(query);
  // Each pod must return start+limit items for the merged page to be right.
  const pages = await Promise.all(
    sinks.map((s) => s.api.list({ ...query, start: 0, limit: query.start + query.limit })),
  );
  const items = pages
    .flatMap((p) => p.items)
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const page = items.slice(query.start, query.start + query.limit);
  return {
    total: pages.reduce((n, p) => n + p.total, 0),
    start: query.start,
    count: page.length,
    items: page,
  };
}

async function firstFound<T>(
  sinks: readonly SinkEndpoint[],
  op: (s: SinkEndpoint) => Promise<T>,
): Promise<T> {
  let notFound: unknown;
  for (const s of sinks) {
    try {
      return await op(s);
    } catch (err) {
      if (isEmailValidateError(err) && err.code === 'EV_ERR_NOT_FOUND') {
        notFound = err;
        continue;
      }
      throw err;
    }
  }
  throw notFound;
}

export function getAny(sinks: readonly SinkEndpoint[], id: string): Promise<MessageDetail> {
  return firstFound(sinks, (s) => s.api.get(id));
}

export function rawAny(sinks: readonly SinkEndpoint[], id: string): Promise<Uint8Array> {
  return firstFound(sinks, (s) => s.api.raw(id));
}

export async function clearAll(sinks: readonly SinkEndpoint[]): Promise<number> {
  let deleted = 0;
  for (const s of sinks) deleted += (await s.api.clear()).deleted;
  return deleted;
}

/** Messages fetched per page while looking for an id prefix (the sink's own cap on one list). */
const PREFIX_PAGE = 1000;
/** Most messages scanned for an id prefix: a prefix is a convenience, not a search over an unbounded store. */
export const MAX_PREFIX_SCAN = 20_000;
/** Ids named when a prefix is ambiguous. */
const AMBIGUOUS_SHOWN = 5;

/**
 * The full id a user means: `latest` (the newest message), a full id, or a
 * unique prefix of one (case-insensitive, as ids are printed short in tables).
 */
export async function resolveMessageId(
  sinks: readonly SinkEndpoint[],
  ref: string,
): Promise<string> {
  if (ref === 'latest') {
    const newest = await listAll(sinks, { start: 0, limit: 1 });
    if (newest.items.length === 0)
      throw evError('EV_ERR_NOT_FOUND', 'the sink holds no messages yet', {
        hint: 'send one with `kubectl email-validate send --to user@example.com`',
      });
    return newest.items[0].id;
  }
  try {
    await firstFound(sinks, (s) => s.api.get(ref));
    return ref;
  } catch (err) {
    if (!isEmailValidateError(err) || err.code !== 'EV_ERR_NOT_FOUND') throw err;
  }
  const wanted = ref.toLowerCase();
  const hits: string[] = [];
  for (let start = 0; start < MAX_PREFIX_SCAN; start += PREFIX_PAGE) {
    const page = await listAll(sinks, { start, limit: PREFIX_PAGE });
    for (const m of page.items) if (m.id.toLowerCase().startsWith(wanted)) hits.push(m.id);
    if (page.items.length < PREFIX_PAGE || start + PREFIX_PAGE >= page.total) break;
  }
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) {
    throw evError(
      'EV_ERR_INVALID_OPTION',
      `message id "${ref}" is ambiguous: ${hits.length} messages start with it (${hits.slice(0, AMBIGUOUS_SHOWN).join(', ')}${hits.length > AMBIGUOUS_SHOWN ? ', …' : ''})`,
      {
        hint: 'type more characters of the id',
      },
    );
  }
  throw evError('EV_ERR_NOT_FOUND', `no message with id or id prefix "${ref}"`, {
    hint: 'list messages with `kubectl email-validate messages list`, or use `latest`',
  });
}
