import { before, describe, it } from 'mocha';
import assert from 'node:assert/strict';
import {
  createLists,
  MAX_PARENT_LABELS,
  MIN_TYPO_DOMAIN_LENGTH,
  POPULAR_DOMAINS,
  ROLE_LOCAL_PARTS,
  type Lists,
} from '../../../../src/address/lists.ts';
import { damerauLevenshtein } from '../../../../src/address/typo.ts';

describe('address/lists', () => {
  // Built in a hook, not in the describe body: mocha runs describe bodies while it collects the
  // tests, before a mutation-testing run switches a mutant on (CONTRIBUTING.md).
  let lists: Lists;
  before(() => {
    lists = createLists();
  });

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

describe('address/lists: edges', () => {
  it('walks at most MAX_PARENT_LABELS parents to find a disposable domain', () => {
    const l = createLists({ disposable: ['trash.example'] });
    const deep = (n: number) => `${'x.'.repeat(n)}trash.example`;
    assert.equal(l.domain(deep(1)).disposable, true);
    assert.equal(l.domain(deep(MAX_PARENT_LABELS)).disposable, true);
    assert.equal(l.domain(deep(MAX_PARENT_LABELS + 1)).disposable, false);
    assert.equal(l.domain('trash.example.org').disposable, false);
    assert.equal(l.domain('nottrash.example').disposable, false);
    assert.equal(l.domain('example').disposable, false);
  });

  it('uses the lists it is given instead of the packaged ones', () => {
    const l = createLists({
      disposable: [],
      free: ['corp.test'],
      role: [],
      popular: ['popular.test'],
    });
    assert.equal(l.domain('mailinator.com').disposable, false);
    assert.equal(l.domain('gmail.com').free, false);
    assert.equal(l.domain('corp.test').free, true);
    assert.equal(l.isRole('admin'), false);
    assert.equal(l.domain('popullar.test').suggestion, 'popular.test');
    assert.equal(l.domain('gmial.com').suggestion, null);
    assert.deepEqual(l.sizes, { disposable: 0, free: 1, role: 0, popular: 1 });
  });

  it("suggests from both popular lists (ours and the spell checker's), each once", () => {
    const l = createLists();
    assert.ok(l.sizes.popular > POPULAR_DOMAINS.length);
    assert.ok(l.sizes.popular < POPULAR_DOMAINS.length * 10);
    const dup = createLists({ popular: ['abcdef.test', 'abcdef.test'] });
    assert.equal(dup.sizes.popular, 1);
  });

  it(`gives no suggestion under ${MIN_TYPO_DOMAIN_LENGTH} characters, nor for a popular domain`, () => {
    const l = createLists({ disposable: [], free: [], popular: ['ab.cd', 'abc.de', 'abcd.ef'] });
    assert.equal(l.domain('ab.ce').suggestion, null); // 5 characters
    assert.equal(l.domain('abc.df').suggestion, 'abc.de'); // 6
    assert.equal(l.domain('abc.de').suggestion, null);
  });

  it('allows one edit below 10 characters and two from 10, and picks the closest', () => {
    const l = createLists({
      disposable: [],
      free: [],
      popular: ['abcdefg.hi', 'abcde.fgh', 'abcdef.ghij', 'zzzzzz.zzz'],
    });
    assert.equal(l.domain('abxdexg.hi').suggestion, 'abcdefg.hi'); // 10 characters, 2 edits
    assert.equal(l.domain('abxdx.fgh').suggestion, null); // 9 characters, 2 edits
    assert.equal(l.domain('abcdx.fgh').suggestion, 'abcde.fgh');
    assert.equal(l.domain('abcdef.ghi').suggestion, 'abcdef.ghij'); // one edit beats two
    assert.equal(l.domain('abxyzw.qrs').suggestion, null); // three edits
    // A length difference beyond the edits allowed is skipped before measuring.
    assert.equal(l.domain('abcde.fg').suggestion, 'abcde.fgh');
    assert.equal(l.domain('abcdefg.h').suggestion, 'abcdefg.hi');
  });

  it('with two candidates at the same distance, keeps the first in sorted order', () => {
    const l = createLists({ disposable: [], free: [], popular: ['mail-b.test', 'mail-a.test'] });
    assert.equal(l.domain('mail-c.test').suggestion, 'mail-a.test');
  });

  it('isRole: +tags, case, dots and digits', () => {
    const plain = createLists({ role: ['admin', 'info'] });
    assert.equal(plain.isRole('admin+x'), true);
    assert.equal(plain.isRole('ADMIN+x'), true);
    assert.equal(plain.isRole('+admin'), false);
    assert.equal(plain.isRole('admin+'), true);
    assert.equal(plain.isRole('admin2'), false);
    assert.equal(plain.isRole('ad.min'), false);
    assert.equal(plain.isRole('administrator'), false);
    assert.equal(plain.isRole('infos'), false);
    assert.equal(plain.isRole('Info'), true);
    assert.equal(plain.isRole(''), false);
    const dotted = createLists({ role: ['it.ops', 'team9', 'longer-name'] });
    assert.equal(dotted.isRole('it.ops'), true);
    assert.equal(dotted.isRole('team9+x'), true);
    assert.equal(dotted.isRole('Team9'), true);
    assert.equal(dotted.isRole('longer-name'), true);
    assert.equal(dotted.isRole('longer-names'), false);
    const digitOnly = createLists({ role: ['ops0'] });
    assert.equal(digitOnly.isRole('ops0'), true);
    const dotOnly = createLists({ role: ['a.b'] });
    assert.equal(dotOnly.isRole('a.b'), true);
  });
});
