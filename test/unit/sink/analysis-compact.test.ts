import assert from 'node:assert/strict';
import type { MessageAnalysis } from '../../../src/protocol.ts';
import {
  ANALYSIS_INTERN_MAX_JSON,
  ANALYSIS_INTERN_MAX_PARTS,
  AnalysisCompactor,
} from '../../../sink/analysis-compact.ts';

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

  it('keeps whole an analysis with the right number of keys in another order or with another name', () => {
    const c = new AnalysisCompactor();
    const { hasHtml, ...rest } = analysis();
    const reordered: MessageAnalysis = { hasHtml, ...rest };
    assert.equal(c.compact(reordered), reordered);
    const renamed = { ...rest, hasHTML: hasHtml } as unknown as MessageAnalysis;
    assert.equal(c.compact(renamed), renamed);
    const { reasons, ...short } = analysis();
    assert.ok(reasons);
    const missingLast = short as MessageAnalysis;
    assert.equal(c.compact(missingLast), missingLast, 'one key fewer');
    assert.equal(c.size, 0);
  });

  it('shares parts of up to 512 characters of JSON, keeps longer ones as they are, and a missing part missing', () => {
    const c = new AnalysisCompactor();
    // ["x…x"]: the brackets and quotes are 4 characters.
    const links = (chars: number) => ['x'.repeat(chars - 4)];
    const atBound = [
      c.compact(analysis({ links: links(ANALYSIS_INTERN_MAX_JSON) })),
      c.compact(analysis({ links: links(ANALYSIS_INTERN_MAX_JSON) })),
    ];
    assert.equal(JSON.stringify(atBound[0].links).length, ANALYSIS_INTERN_MAX_JSON);
    assert.equal(atBound[0].links, atBound[1].links);
    const past = [
      c.compact(analysis({ links: links(ANALYSIS_INTERN_MAX_JSON + 1) })),
      c.compact(analysis({ links: links(ANALYSIS_INTERN_MAX_JSON + 1) })),
    ];
    assert.notEqual(past[0].links, past[1].links);
    assert.equal(c.size, 5, 'the four common parts and the link list at the bound');
    const missing = c.compact(analysis({ dkim: undefined as unknown as MessageAnalysis['dkim'] }));
    assert.equal(missing.dkim, undefined);
  });

  it('starts over once it holds ANALYSIS_INTERN_MAX_PARTS parts', () => {
    const c = new AnalysisCompactor();
    // The first analysis brings the four common parts and its link list.
    for (let i = 0; c.size < ANALYSIS_INTERN_MAX_PARTS; i++)
      c.compact(analysis({ links: [`https://example.com/${i}`] }));
    assert.equal(c.size, ANALYSIS_INTERN_MAX_PARTS);
    c.compact(analysis({ links: ['https://example.com/one-more'] }));
    assert.equal(
      c.size,
      2,
      'cleared for the new link list; the reasons, shared after it, added again',
    );
  });
});
