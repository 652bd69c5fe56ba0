/**
 * A tiny method + path router: patterns like `/api/messages/:id/raw`, params
 * percent-decoded, 404 for unknown paths and 405 (with Allow) for a known path
 * with the wrong method. Enough for a dozen routes without a framework.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  url: URL;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

export interface RouteOptions {
  /** False for the probe and metrics routes that must work without the token. */
  auth: boolean;
}

/** A registered route as data (the API fuzzer walks every one of them). */
export interface RouteInfo {
  method: string;
  pattern: string;
  auth: boolean;
}

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: RouteHandler;
  options: RouteOptions;
}

export type RouteMatch =
  | { kind: 'found'; handler: RouteHandler; params: Record<string, string>; options: RouteOptions }
  | { kind: 'method-not-allowed'; allow: string[]; options: RouteOptions }
  | { kind: 'not-found' };

export class Router {
  readonly #routes: Route[] = [];

  add(
    method: string,
    pattern: string,
    handler: RouteHandler,
    options: RouteOptions = { auth: true },
  ): this {
    this.#routes.push({ method, pattern, segments: split(pattern), handler, options });
    return this;
  }

  /** Every route, in registration order. */
  list(): RouteInfo[] {
    return this.#routes.map((r) => ({
      method: r.method,
      pattern: r.pattern,
      auth: r.options.auth,
    }));
  }

  match(method: string, pathname: string): RouteMatch {
    const segments = split(pathname);
    const allow: string[] = [];
    let allowOptions: RouteOptions | undefined;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { kind: 'found', handler: route.handler, params, options: route.options };
      }
      allow.push(route.method);
      allowOptions ??= route.options;
    }
    return allow.length > 0
      ? { kind: 'method-not-allowed', allow, options: allowOptions ?? { auth: true } }
      : { kind: 'not-found' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(actual[i]);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = value;
    } else if (p !== actual[i]) {
      return undefined;
    }
  }
  return params;
}
