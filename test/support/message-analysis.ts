import type { MessageAnalysis } from '../../src/protocol.ts';

/** The analysis of a clean message (store, analysis-queue and flow tests); override what matters. */
export function analysis(over: Partial<MessageAnalysis> = {}): MessageAnalysis {
  return {
    requiredHeaders: { from: true, date: true, messageId: true },
    listUnsubscribe: { present: false, oneClick: false, urls: [], mailto: [] },
    dkim: { result: 'none', signatures: [] },
    links: [],
    hasText: true,
    hasHtml: false,
    spamScore: 0,
    reasons: [],
    ...over,
  };
}
