/**
 * The inbox's client of the sink's API: every request carries the bearer
 * token in a header (never in a URL), and errors come back as the API's own
 * `{error: {code, message, hint}}`.
 */
import type {
  EventHistory,
  HtmlViewLink,
  InboxPage,
  LinkCheck,
  MessageDetail,
  SinkStats,
} from '../../../src/protocol.ts';

export interface ApiErrorBody {
  code: string;
  message: string;
  hint?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

export interface SinkInfo {
  protocol: number;
  instance: string;
  auth: boolean;
  oldestSeq: number;
  lastSeq: number;
  sinkName?: string;
  smtp?: { port: number | null };
}

export interface InboxQuery {
  from?: string;
  to?: string;
  subject?: string;
  containing?: string;
}

export class Api {
  token: string | null;

  constructor(token: string | null) {
    this.token = token;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === null ? extra : { ...extra, authorization: `Bearer ${this.token}` };
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(path, {
      ...init,
      headers: this.#headers(init.headers as Record<string, string> | undefined),
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
    if (!res.ok) {
      let body: ApiErrorBody = {
        code: `HTTP_${res.status}`,
        message: res.statusText || `HTTP ${res.status}`,
      };
      try {
        const parsed = (await res.json()) as { error?: ApiErrorBody };
        if (parsed.error) body = parsed.error;
      } catch {
        // not JSON: keep the status line
      }
      throw new ApiError(res.status, body);
    }
    return res;
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  info = () => this.json<SinkInfo>('/api/info');
  stats = () => this.json<SinkStats>('/api/stats');
  detail = (id: string) => this.json<MessageDetail>(`/api/messages/${encodeURIComponent(id)}`);
  view = (id: string) => this.json<HtmlViewLink>(`/api/messages/${encodeURIComponent(id)}/view`);
  raw = async (id: string) =>
    await (await this.request(`/api/messages/${encodeURIComponent(id)}/raw`)).text();
  remove = (id: string) =>
    this.json<{ deleted: number }>(`/api/messages/${encodeURIComponent(id)}`, { method: 'DELETE' });
  clear = () => this.json<{ deleted: number }>('/api/messages', { method: 'DELETE' });
  rules = async () => await (await this.request('/api/rules')).text();
  setRules = (yaml: string) =>
    this.json<{ count: number }>('/api/rules', {
      method: 'PUT',
      body: yaml,
      headers: { 'content-type': 'application/yaml' },
    });
  checkLinks = (id: string) =>
    this.json<{ links: LinkCheck[]; checked: number; total: number }>(
      `/api/messages/${encodeURIComponent(id)}/links/check`,
      { method: 'POST' },
    );
  history(types?: string[], limit?: number): Promise<EventHistory> {
    const params = new URLSearchParams();
    if (types) params.set('types', types.join(','));
    if (limit !== undefined) params.set('limit', String(limit));
    return this.json<EventHistory>(`/api/ui/events?${params}`);
  }

  inbox(start: number, limit: number, query: InboxQuery = {}): Promise<InboxPage> {
    const params = new URLSearchParams({ start: String(start), limit: String(limit) });
    for (const [k, v] of Object.entries(query) as Array<[string, string | undefined]>)
      if (v) params.set(k, v);
    return this.json<InboxPage>(`/api/ui/inbox?${params}`);
  }

  verdicts(ids: string[]): Promise<InboxPage> {
    return this.json<InboxPage>(`/api/ui/inbox?ids=${ids.map(encodeURIComponent).join(',')}`);
  }

  /** Downloads through fetch (the token cannot ride on a plain link) and saves under `filename`. */
  async download(path: string, filename: string): Promise<void> {
    const blob = await (await this.request(path)).blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
