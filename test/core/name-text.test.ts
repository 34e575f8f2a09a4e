import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { foldedNames, NameText } from '../../src/core/name-text.js';

const named = (id: string, title: string, aliases: string[] = [], tags: string[] = []) => ({ id, title, aliases, tags });

describe('one string of every record\'s names', () => {
  it('finds the records whose names or tag values hold a word starting with a term, as a test per record would', () => {
    const records = Array.from({ length: 500 }, (_, i) => named(`r:${i}`, `Record ${i % 7 === 0 ? 'Zorblax' : 'Plain'} ${i}`, i % 11 === 0 ? ['Widget Crew'] : [], i % 13 === 0 ? ['type:ransomware'] : []));
    const text = NameText.build(records);
    for (const term of ['zorblax', 'zorb', 'widget', 'crew', 'ransom', 'record', 'missing', '13']) {
      const expected = records.filter((r) => foldedNames(r).includes(` ${term}`)).map((r) => r.id);
      assert.deepEqual(text.withWord(term), expected, term);
    }
  });

  it('forgets what a record was called once it is replaced or removed, through many changes', () => {
    const text = NameText.build([named('a', 'Harrow Loader'), named('b', 'Quillpen'), named('c', 'Harrow Dropper')]);
    assert.deepEqual(text.withWord('harrow'), ['a', 'c']);
    text.upsert(named('a', 'Lantern Loader'));
    text.remove('c');
    assert.deepEqual(text.withWord('harrow'), []);
    assert.deepEqual(text.withWord('lantern'), ['a']);
    // Enough replacements that the dead entries are dropped and the text written again.
    for (let i = 0; i < 50; i++) text.upsert(named('b', `Quillpen ${i}`));
    assert.deepEqual(text.withWord('quillpen'), ['b']);
    assert.deepEqual(text.withWord('lantern'), ['a']);
    assert.deepEqual(text.withWord('49'), ['b']);
    assert.deepEqual(text.withWord('48'), []);
  });
});
