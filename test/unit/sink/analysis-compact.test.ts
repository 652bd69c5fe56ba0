import assert from 'node:assert/strict';
import type { MessageAnalysis } from '../../../src/protocol.ts';
import { ANALYSIS_INTERN_MAX_PARTS, AnalysisCompactor } from '../../../sink/analysis-compact.ts';

const analysis = (over: Partial<MessageAnalysis> = {}): MessageAnalysis => ({
  requiredHeaders: { from: true, date: true, messageId: true },
  listUnsubscribe: {
    present: false,
    oneClick: false,
    urls: [],
    mailto: [],
    oneClickDkimCovered: false,
  },
  dkim: { result: 'none', signatures: [] },
  links: [],
  hasText: true,
  hasHtml: false,
  spamScore: 0.5,
  reasons: [{ code: 'no-dkim', score: 0.5, message: 'the message is not DKIM-signed' }],
  ...over,
});

describe('AnalysisCompactor', () => {
  it('keeps the JSON byte for byte and shares equal parts between analyses', () => {
    const c = new AnalysisCompactor();
    const a = c.compact(analysis());
    const b = c.compact(analysis({ links: ['https://example.com/x'], spamScore: 1 }));
    assert.equal(JSON.stringify(a), JSON.stringify(analysis()));
    assert.equal(
      JSON.stringify(b),
      JSON.stringify(analysis({ links: ['https://example.com/x'], spamScore: 1 })),
    );
    assert.equal(a.dkim, b.dkim);
    assert.equal(a.reasons, b.reasons);
    assert.equal(a.requiredHeaders, b.requiredHeaders);
    assert.notEqual(a.links, b.links);
    assert.ok(
      Object.isFrozen(a.reasons[0]),
      'shared parts are frozen, so no reader can change them for every message',
    );
  });

  it('keeps an analysis of an unknown shape whole', () => {
    const c = new AnalysisCompactor();
    const odd: MessageAnalysis = Object.assign(analysis(), { extra: 1 });
    assert.equal(c.compact(odd), odd);
  });

  it('stays bounded whatever the mail', () => {
    const c = new AnalysisCompactor();
    for (let i = 0; i < ANALYSIS_INTERN_MAX_PARTS * 3; i++)
      c.compact(analysis({ links: [`https://example.com/${i}`] }));
    assert.ok(c.size <= ANALYSIS_INTERN_MAX_PARTS);
  });
});
