/**
 * The mutation-score script: counts by status, the score as CONTRIBUTING.md defines it, and
 * the reading of a report in the mutation-testing-report-schema shape, and the glob matcher
 * the Stryker config shares with it.
 */
import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  count,
  mutantsOf,
  score,
  scopeCovers,
  type Counts,
} from '../../../../support/stryker/scores.ts';
import { IO_GLUE, globTest } from '../../../../support/stryker/scope.ts';

const counts = (...statuses: string[]): Counts => {
  const c = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, errors: 0 };
  for (const s of statuses) count(c, s);
  return c;
};

describe('test/support/stryker: mutation scores', () => {
  it('scores (killed + timeout) over (killed + timeout + survived + no coverage)', () => {
    const c = counts('Killed', 'Killed', 'Timeout', 'Survived', 'NoCoverage', 'Ignored');
    assert.deepEqual(c, {
      killed: 2,
      timeout: 1,
      survived: 1,
      noCoverage: 1,
      ignored: 1,
      errors: 0,
    });
    assert.deepEqual(score(c), { scored: 5, percent: 60 });
  });

  it('leaves ignored mutants and compile or runtime errors out of the score', () => {
    const c = counts('Killed', 'Survived', 'Ignored', 'CompileError', 'RuntimeError');
    assert.equal(c.errors, 2);
    assert.deepEqual(score(c), { scored: 2, percent: 50 });
    assert.deepEqual(score(counts('Ignored', 'CompileError')), { scored: 0, percent: null });
  });

  it('refuses a status it does not know (a pending mutant means an unfinished run)', () => {
    assert.throws(() => counts('Pending'), /unknown mutant status Pending/);
  });

  it("reads each file's mutants with their position and replacement", () => {
    const files = mutantsOf({
      schemaVersion: '2',
      files: {
        'src/a.ts': {
          language: 'typescript',
          source: 'x',
          mutants: [
            {
              id: '1',
              mutatorName: 'EqualityOperator',
              replacement: 'a <= b',
              status: 'Survived',
              location: { start: { line: 3, column: 7 }, end: { line: 3, column: 13 } },
            },
          ],
        },
      },
    });
    assert.deepEqual(files.get('src/a.ts'), [
      {
        status: 'Survived',
        mutatorName: 'EqualityOperator',
        replacement: 'a <= b',
        line: 3,
        column: 7,
      },
    ]);
    assert.throws(() => mutantsOf({ files: { 'src/a.ts': {} } }), /src\/a\.ts: no mutants/);
    assert.throws(() => mutantsOf([]), /not a mutation report/);
  });

  it("matches the config's globs: ** across folders, * within a name, a final ** below", () => {
    assert.equal(globTest('src/address/**/*.ts')('src/address/syntax.ts'), true);
    assert.equal(globTest('src/address/**/*.ts')('src/address/x/y.ts'), true);
    assert.equal(globTest('src/address/**/*.ts')('src/addressx/y.ts'), false);
    assert.equal(globTest('src/*.ts')('src/errors.ts'), true);
    assert.equal(globTest('src/*.ts')('src/flow/parse.ts'), false);
    assert.equal(globTest('sink/ui/**')('sink/ui/web/src/app.ts'), true);
    assert.equal(globTest('sink/ui/**')('sink/uix.ts'), false);
    assert.equal(globTest('src/a.ts')('src/aXts'), false);
    const glue = (f: string) => IO_GLUE.some((g) => globTest(g)(f));
    assert.equal(glue('sink/ui/web/main.ts'), true);
    assert.equal(glue('src/address/tr46.d.ts'), true);
    assert.equal(glue('sink/http/api-server.ts'), true);
    assert.equal(glue('sink/http/router.ts'), false);
  });

  it("tells a report's own files from the old results it carries (its scope is its name)", () => {
    const smtp = 'src-check-smtp-stage+src-check-provider-config+src-check-cluster-provider-secret';
    assert.equal(scopeCovers(smtp, 'src/check/smtp-stage.ts'), true);
    assert.equal(scopeCovers(smtp, 'src/check-cluster/provider-secret.ts'), true);
    assert.equal(
      scopeCovers(smtp, 'src/check/state.ts'),
      false,
      'carried from its incremental file',
    );
    assert.equal(scopeCovers('src-check', 'src/check/state.ts'), true);
    assert.equal(scopeCovers('src-check', 'src/check/sub/deep.ts'), true);
    assert.equal(scopeCovers('src-check', 'src/checker.ts'), false);
    assert.equal(scopeCovers('src-top', 'src/duration.ts'), true);
    assert.equal(scopeCovers('src-top', 'src/check/state.ts'), false);
    assert.equal(scopeCovers('sink-http-top+sink-feed', 'sink/http/router.ts'), true);
    assert.equal(scopeCovers('sink-http-top+sink-feed', 'sink/feed.ts'), true);
    assert.equal(scopeCovers('sink-http-top+sink-feed', 'sink/http/mailhog/routes.ts'), false);
    assert.equal(scopeCovers('all', 'sink/feed.ts'), true);
  });
});
