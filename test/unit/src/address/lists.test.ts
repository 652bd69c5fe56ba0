import { describe, it } from 'mocha';
import assert from 'node:assert/strict';
import { createLists, ROLE_LOCAL_PARTS } from '../../../../src/address/lists.ts';
import { damerauLevenshtein } from '../../../../src/address/typo.ts';

describe('address/lists', () => {
  const lists = createLists();

  it('loads the data packages', () => {
    assert.ok(lists.sizes.disposable > 1000);
    assert.ok(lists.sizes.free > 1000);
    assert.equal(lists.sizes.role, ROLE_LOCAL_PARTS.length);
  });

  it('flags disposable domains and their sub-domains, never a bare TLD', () => {
    assert.equal(lists.domain('mailinator.com').disposable, true);
    assert.equal(lists.domain('x.y.mailinator.com').disposable, true);
    assert.equal(lists.domain('example.com').disposable, false);
    const only = createLists({ disposable: ['com'] });
    assert.equal(only.domain('example.com').disposable, false);
  });

  it('flags free providers', () => {
    assert.equal(lists.domain('gmail.com').free, true);
    assert.equal(lists.domain('acme-corp.example').free, false);
  });

  it('flags role local parts case-insensitively, ignoring +tags', () => {
    assert.equal(lists.isRole('admin'), true);
    assert.equal(lists.isRole('Support+ticket'), true);
    assert.equal(lists.isRole('john.smith'), false);
  });

  it('suggests popular domains for typos', () => {
    assert.equal(lists.domain('gnail.com').suggestion, 'gmail.com');
    assert.equal(lists.domain('gmail.con').suggestion, 'gmail.com');
    assert.equal(lists.domain('outlok.com').suggestion, 'outlook.com');
    assert.equal(lists.domain('yahooo.com').suggestion, 'yahoo.com');
  });

  it('never "corrects" a domain on the free-provider or disposable list (real providers one edit from a popular one)', () => {
    for (const d of ['foxmail.com', 'yopmail.com', 'gmial.com', 'hotmial.com']) {
      const f = lists.domain(d);
      assert.ok(f.free || f.disposable, `${d} is on a list`);
      assert.equal(f.suggestion, null, d);
    }
  });

  it('does not "correct" real domains', () => {
    for (const d of [
      'gmail.com',
      'mail.com',
      'hotmail.es',
      'yahoo.de',
      'example.com',
      'acme.io',
      'me.com',
    ]) {
      assert.equal(lists.domain(d).suggestion, null, d);
    }
  });

  it('computes Damerau-Levenshtein with transpositions and a cutoff', () => {
    assert.equal(damerauLevenshtein('gmail', 'gmial'), 1);
    assert.equal(damerauLevenshtein('kitten', 'sitting'), 3);
    assert.equal(damerauLevenshtein('', 'abc'), 3);
    assert.ok(damerauLevenshtein('abcdef', 'uvwxyz', 2) > 2);
  });

  it('damerauLevenshtein: transpositions, bounds and the early stop give exact values', () => {
    const cases: Array<[string, string, number | undefined, number]> = [
      ['', '', undefined, 0],
      ['a', '', undefined, 1],
      ['ab', 'ba', undefined, 1],
      ['abc', 'acb', undefined, 1],
      ['abcd', 'badc', undefined, 2],
      ['ca', 'abc', undefined, 3], // optimal string alignment: no edit of a transposed pair
      ['abc', 'xyz', undefined, 3],
      ['gmail.com', 'gmail.co', undefined, 1],
      ['abcdef', 'uvwxyz', 2, 3], // stops early, returns max + 1
      ['abc', 'abcdef', 2, 3], // the lengths alone differ by more than max
      ['abc', 'abcde', 2, 2],
      ['abcd', 'abdc', 1, 1],
      ['a'.repeat(256), 'a'.repeat(256), 5, 0],
      ['a'.repeat(257), 'a'.repeat(257), 5, 6], // longer than MAX_TYPO_INPUT
      ['a', 'b'.repeat(257), 1000, 1001],
    ];
    for (const [a, b, max, want] of cases)
      assert.equal(
        damerauLevenshtein(a, b, max),
        want,
        `${a.slice(0, 10)} / ${b.slice(0, 10)} / ${max}`,
      );
  });
});

describe('address/lists: custom role lists', () => {
  it('matches role names with dots or digits when the list has them', () => {
    const l = createLists({ role: ['it.support', 'ops24', 'admin'] });
    assert.equal(l.isRole('IT.Support'), true);
    assert.equal(l.isRole('ops24+x'), true);
    assert.equal(l.isRole('admin'), true);
    assert.equal(l.isRole('john.smith'), false);
    assert.equal(createLists().isRole('admin2'), false);
  });
});
