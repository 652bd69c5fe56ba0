import { isEmailValidateError } from '../../src/errors.ts';
import type { MessageDetail, MessageList } from '../../src/protocol.ts';
import type { SinkEndpoint } from './sink-target.ts';

/**
 * Message operations over every pod of a sink. Each replica stores the mail
 * it received, so lists are merged (newest first), lookups ask each pod in
 * turn and clears clear them all.
 */
export async function listAll(sinks: readonly SinkEndpoint[], query: { start: number; limit: number } & Record<string, string | number | undefined>): Promise<MessageList> {
  if (sinks.length === 1) return sinks[0].api.list(query);
  // Each pod must return start+limit items for the merged page to be right.
  const pages = await Promise.all(sinks.map((s) => s.api.list({ ...query, start: 0, limit: query.start + query.limit })));
  const items = pages.flatMap((p) => p.items).sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const page = items.slice(query.start, query.start + query.limit);
  return { total: pages.reduce((n, p) => n + p.total, 0), start: query.start, count: page.length, items: page };
}

async function firstFound<T>(sinks: readonly SinkEndpoint[], op: (s: SinkEndpoint) => Promise<T>): Promise<T> {
  let notFound: unknown;
  for (const s of sinks) {
    try {
      return await op(s);
    } catch (err) {
      if (isEmailValidateError(err) && err.code === 'EV_ERR_NOT_FOUND') { notFound = err; continue; }
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
