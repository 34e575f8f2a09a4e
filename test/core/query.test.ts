import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_QUERY_CHARS, MAX_QUERY_TERMS, parseQuery } from '../../src/core/query.js';

describe('parseQuery', () => {
  it('parseQuery normalises CVE ids when written with spaces, dashes or any case', () => {
    for (const q of ['cve 2017 7269', 'CVE-2017-7269', 'cve-2017-7269', 'what is Cve_2017_7269?']) {
      assert.deepEqual(parseQuery(q).cves, ['CVE-2017-7269'], q);
    }
  });

  it('parseQuery keeps CVE digits out of the search terms when given a CVE id', () => {
    const q = parseQuery('cve 2017 7269 iis');
    assert.deepEqual(q.cves, ['CVE-2017-7269']);
    assert.ok(!q.terms.includes('2017') && !q.terms.includes('7269'), `terms ${q.terms}`);
    assert.ok(q.terms.includes('iis'));
  });

  it('parseQuery reads the date when given "November 30, 2023"', () => {
    assert.deepEqual(parseQuery('what happened on November 30, 2023?').dates, [{ year: 2023, month: 11, day: 30 }]);
  });

  it('parseQuery reads the date when given "4 March 2024"', () => {
    assert.deepEqual(parseQuery('attack on 4 March 2024').dates, [{ year: 2024, month: 3, day: 4 }]);
  });

  it('parseQuery reads the date when given ISO "2023-07-17"', () => {
    assert.deepEqual(parseQuery('incident on 2023-07-17').dates, [{ year: 2023, month: 7, day: 17 }]);
  });

  it('parseQuery reads a month date when given "May 2021"', () => {
    const q = parseQuery('May 2021 breach');
    assert.equal(q.dates.length, 1);
    assert.equal(q.dates[0].year, 2021);
    assert.equal(q.dates[0].month, 5);
    assert.equal(q.dates[0].day, undefined);
  });

  it('parseQuery reads no date when "may" is a verb', () => {
    assert.deepEqual(parseQuery('who may have done it').dates, []);
  });

  it('parseQuery gives a kind hint when the wording names a kind', () => {
    assert.equal(parseQuery('which group used Cobalt Strike').kindHint, 'group');
    assert.equal(parseQuery('Emotet malware').kindHint, 'software');
    assert.equal(parseQuery('Juicy Mix campaign').kindHint, 'incident');
    assert.equal(parseQuery('ivanti vulnerability').kindHint, 'vulnerability');
    assert.equal(parseQuery('CVE-2017-7269').kindHint, 'vulnerability');
    assert.equal(parseQuery('sky ecc').kindHint, undefined);
  });

  it('parseQuery gives a weak group hint when asked "who uses X"', () => {
    const q = parseQuery('who uses mimikatz');
    assert.equal(q.kindHint, 'group');
    assert.equal(q.weakHint, true);
  });

  it('parseQuery detects a question when given a question mark or a leading question word', () => {
    const q = parseQuery('how many users did Sky ECC have?');
    assert.equal(q.isQuestion, true);
    assert.equal(q.questionWord, 'how');
    assert.equal(q.wantsNumber, true);
    assert.equal(parseQuery('who took down sky ecc').isQuestion, true);
    assert.equal(parseQuery('who took down sky ecc').questionWord, 'who');
    assert.equal(parseQuery('sky ecc?').isQuestion, true);
    assert.equal(parseQuery('sky ecc').isQuestion, false);
    assert.equal(parseQuery('sky ecc').wantsNumber, false);
  });

  it('parseQuery drops stop words from the terms when given a question', () => {
    assert.deepEqual(parseQuery('how many users did Sky ECC have?').terms, ['users', 'sky', 'ecc']);
  });

  it('parseQuery bounds text and terms when given 10,000 characters', () => {
    const words = Array.from({ length: 2000 }, (_, i) => `word${i}`).join(' ');
    const q = parseQuery(words.slice(0, 10_000));
    assert.ok(q.text.length <= MAX_QUERY_CHARS && q.text.length <= 300, `text ${q.text.length}`);
    assert.ok(q.terms.length <= MAX_QUERY_TERMS && q.terms.length <= 12, `terms ${q.terms.length}`);
    const one = parseQuery('x'.repeat(10_000));
    assert.ok(one.text.length <= 300);
    assert.ok(one.terms.every((t) => t.length <= 64), 'an over-long word is not a term');
  });

  it('parseQuery returns empty parts and never throws when given junk', () => {
    for (const raw of ['', '   ', '?!.,', '.*+?^${}()|[]\\', '😀🔥', 'a\u0000b', null as unknown as string, undefined as unknown as string]) {
      const q = parseQuery(raw);
      assert.ok(Array.isArray(q.terms) && Array.isArray(q.dates) && Array.isArray(q.cves), String(raw));
    }
    assert.deepEqual(parseQuery('   ').words, []);
    assert.deepEqual(parseQuery('.*+?^${}()|[]\\').words, []);
  });

  it('parseQuery folds case and accents when given mixed scripts', () => {
    const q = parseQuery('Скай ECC 天空 Café');
    assert.ok(q.words.includes('скаи') || q.words.includes('скай'), `words ${q.words}`);
    assert.ok(q.words.includes('ecc') && q.words.includes('cafe'), `words ${q.words}`);
  });
});
