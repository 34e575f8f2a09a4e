import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compactName, splitSentences, stripMarkup, truncateWords } from '../../src/core/text.js';

describe('stripMarkup', () => {
  it('stripMarkup keeps the link text when given ATT&CK markdown links', () => {
    const out = stripMarkup('[APT28](https://attack.mitre.org/groups/G0007) used [X-Agent](https://attack.mitre.org/software/S0161) against NATO.');
    assert.equal(out, 'APT28 used X-Agent against NATO.');
  });

  it('stripMarkup removes (Citation: ...) markers when present', () => {
    const out = stripMarkup('The group phished diplomats.(Citation: FireEye APT28 2017) It also used USB drives. (Citation: ESET Sednit Part 1)');
    assert.equal(out, 'The group phished diplomats. It also used USB drives.');
    assert.doesNotMatch(out, /Citation/);
  });

  it('stripMarkup removes Tidal <sup> reference tags when present', () => {
    const out = stripMarkup(
      'The actor targeted banks.<sup>[[Talos Report](/references/0a1b2c3d-4e5f-6789-abcd-ef0123456789)]</sup> Then it moved on.<sup>[[2](/references/abc)]</sup>',
    );
    assert.equal(out, 'The actor targeted banks. Then it moved on.');
    assert.doesNotMatch(out, /references|sup|\[/);
  });

  it('stripMarkup converts HTML to text when given tags and entities', () => {
    const out = stripMarkup('<p>Hello <b>world</b> &amp; <a href="https://example.com/x">the link</a></p><img src="x.png">');
    assert.equal(out, 'Hello world & the link');
    assert.doesNotMatch(out, /[<>]|example\.com/);
  });

  it('stripMarkup leaves plain text as it is when there is no markup', () => {
    assert.equal(stripMarkup('Sky ECC users (about 70,000) were monitored.'), 'Sky ECC users (about 70,000) were monitored.');
  });
});

describe('splitSentences', () => {
  it('splitSentences keeps "U.S." inside its sentence when an abbreviation ends with a dot', () => {
    assert.deepEqual(splitSentences('The U.S. Treasury sanctioned the group. Europol led the raids.'), [
      'The U.S. Treasury sanctioned the group.',
      'Europol led the raids.',
    ]);
  });

  it('splitSentences splits on ! and ? and returns [] when given only whitespace', () => {
    assert.deepEqual(splitSentences('Was it hacked? Yes! It was.'), ['Was it hacked?', 'Yes!', 'It was.']);
    assert.deepEqual(splitSentences('   \n '), []);
  });
});

describe('truncateWords', () => {
  const text = 'The quick brown fox jumps over the lazy dog';

  it('truncateWords cuts at a word boundary with an ellipsis when the text is too long', () => {
    const out = truncateWords(text, 20);
    assert.equal(out, 'The quick brown…');
    assert.ok(out.length <= 20);
  });

  it('truncateWords never exceeds max when given any max', () => {
    for (let max = 0; max <= text.length + 2; max++) {
      const out = truncateWords(text, max);
      assert.ok(out.length <= max, `max ${max}: "${out}" is ${out.length} chars`);
      if (max < text.length && max > 1) assert.ok(out.endsWith('…'), `max ${max}: "${out}" has no ellipsis`);
    }
  });

  it('truncateWords returns the text unchanged when it fits', () => {
    assert.equal(truncateWords(text, text.length), text);
  });

  it('truncateWords cuts inside a word when the text has no space to cut at', () => {
    const out = truncateWords('x'.repeat(50), 10);
    assert.equal(out, `${'x'.repeat(9)}…`);
  });
});

describe('compactName', () => {
  it('compactName drops spaces and case when given multi-word names', () => {
    assert.equal(compactName('Sky ECC'), 'skyecc');
    assert.equal(compactName('Juicy Mix'), 'juicymix');
  });

  it('compactName drops punctuation and accents when given them', () => {
    assert.equal(compactName('Café-Noir!'), 'cafenoir');
    assert.equal(compactName('CVE-2017-7269'), 'cve20177269');
  });
});
