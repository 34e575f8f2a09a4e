import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stem } from '../../src/core/stem.js';

describe('stem', () => {
  // Outputs of the full algorithm, as in Porter's reference vocabulary (not the per-step examples of the paper).
  const cases: [string, string][] = [
    ['caresses', 'caress'], ['ponies', 'poni'], ['ties', 'ti'], ['cats', 'cat'], ['feed', 'feed'], ['agreed', 'agre'],
    ['plastered', 'plaster'], ['motoring', 'motor'], ['sing', 'sing'], ['conflated', 'conflat'], ['troubled', 'troubl'],
    ['sized', 'size'], ['hopping', 'hop'], ['tanned', 'tan'], ['falling', 'fall'], ['hissing', 'hiss'], ['fizzed', 'fizz'],
    ['failing', 'fail'], ['filing', 'file'], ['happy', 'happi'], ['sky', 'sky'], ['generalizations', 'gener'],
    ['oscillators', 'oscil'], ['relational', 'relat'], ['adjustment', 'adjust'], ['adoption', 'adopt'], ['effective', 'effect'],
    ['controlling', 'control'], ['roll', 'roll'], ['probate', 'probat'], ['cease', 'ceas'],
  ];
  for (const [word, want] of cases) {
    it(`stem reduces "${word}" to "${want}"`, () => assert.equal(stem(word), want));
  }

  it('stem gives one stem to a word family when it is inflected', () => {
    for (const w of ['hack', 'hacks', 'hacked', 'hacking']) assert.equal(stem(w), 'hack', w);
    assert.equal(stem('satellites'), stem('satellite'));
  });

  it('stem leaves words alone when they hold digits, capitals, other scripts or are two letters long', () => {
    for (const w of ['log4shell', 'apt28', 'Running', 'ддос', 'is', '']) assert.equal(stem(w), w, w);
  });
});
