import {
  sinkEvent,
  type EventDataMap,
  type MessageAnalysis,
  type MessageDetail,
  type SinkEvent,
} from '../../../../src/protocol.ts';
import { FlowHistory } from '../../../../src/flow/history.ts';
import { analysis } from '../../../support/message-analysis.ts';

let seq = 0;

export interface MessageInit {
  id?: string;
  from?: string;
  to?: string[];
  subject?: string | null;
  text?: string | null;
  html?: string | null;
  headers?: Array<{ name: string; value: string }>;
  attachments?: Array<{ filename: string | null; contentType: string }>;
  analysis?: MessageAnalysis | null;
}

export { analysis };

export function detail(init: MessageInit = {}): MessageDetail {
  const id = init.id ?? `m${++seq}`;
  const to = init.to ?? ['user@example.test'];
  const from = init.from ?? 'sender@example.test';
  return {
    id,
    time: '2026-11-28T00:00:00.000Z',
    envelope: {
      helo: 'localhost',
      mailFrom: { address: from, tag: null },
      rcptTo: to.map((address) => ({ address, tag: null })),
      clientAddress: '127.0.0.1',
      tls: false,
      authUser: null,
    },
    from,
    to,
    subject: init.subject === undefined ? 'Hello' : init.subject,
    messageId: `<${id}@example.test>`,
    size: 100,
    parsed: true,
    parseError: null,
    headers: init.headers ?? [{ name: 'Subject', value: init.subject ?? 'Hello' }],
    text: init.text === undefined ? 'Hello there' : init.text,
    html: init.html === undefined ? null : init.html,
    attachments: (init.attachments ?? []).map((a, index) => ({
      index,
      filename: a.filename,
      contentType: a.contentType,
      size: 10,
      contentId: null,
      disposition: 'attachment',
      checksum: null,
    })),
    analysis: init.analysis === undefined ? null : init.analysis,
  };
}

/** A history whose detail fetches are answered from an in-memory store (counting them). */
export class FakeSink {
  readonly details = new Map<string, MessageDetail>();
  readonly history: FlowHistory;
  fetches = 0;
  #seq = 0;

  constructor() {
    this.history = new FlowHistory(async (id) => {
      this.fetches++;
      const d = this.details.get(id);
      if (!d) throw new Error(`no message ${id}`);
      return d;
    });
  }

  event<T extends SinkEvent['type']>(type: T, data: EventDataMap[T]): SinkEvent<T> {
    const e = sinkEvent(++this.#seq, '2026-11-28T00:00:00.000Z', type, data);
    this.history.ingest(e);
    return e;
  }

  /** Delivers a message: `message.received` (and the analysis event when given). */
  deliver(init: MessageInit = {}): MessageDetail {
    const d = detail({ ...init, analysis: null });
    this.details.set(d.id, d);
    const { headers: _h, text: _t, html: _x, attachments: _a, analysis: _an, ...summary } = d;
    this.event('message.received', summary);
    if (init.analysis) this.analyze(d.id, init.analysis);
    return d;
  }

  analyze(id: string, a: MessageAnalysis): void {
    const d = this.details.get(id);
    if (d) d.analysis = a;
    this.event('message.analyzed', { id, analysis: a, parseError: null });
  }

  reject(
    to: string,
    code = 550,
    enhancedCode = '5.1.1',
    type: 'message.rejected' | 'message.deferred' = 'message.rejected',
  ): void {
    this.event(type, {
      stage: 'rcpt',
      code,
      enhancedCode,
      text: 'No such user',
      from: 'sender@example.test',
      to,
      clientAddress: '127.0.0.1',
      rule: null,
    });
  }
}
