import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists } from '../../../../src/address/lists.ts';
import { checkOffline, createOfflineContext } from '../../../../src/check/pipeline.ts';
import { jsonString, resultToJsonLine } from '../../../../src/check/serialize.ts';

describe('check/serialize: the JSON line beyond the common case', () => {
  let offline: ReturnType<typeof createOfflineContext>;
  before(() => {
    offline = createOfflineContext(createLists());
  });

  it('syntax details that are not shared (not frozen) are serialised as they are now, never from a cache', () => {
    const r = checkOffline('someone@example.com', 1, offline);
    r.checks.syntax = { ...r.checks.syntax };
    assert.equal(resultToJsonLine(r), `${JSON.stringify(r)}\n`);
    r.checks.syntax.idn = !r.checks.syntax.idn;
    assert.equal(resultToJsonLine(r), `${JSON.stringify(r)}\n`);
  });

  it('quotes printable ASCII as is and escapes the rest as JSON.stringify does', () => {
    for (const s of ['', ' ~', 'a"b', 'a\\b', '\u001f', '\u007f', 'é', '\ud800'])
      assert.equal(jsonString(s), JSON.stringify(s), JSON.stringify(s));
  });
});
