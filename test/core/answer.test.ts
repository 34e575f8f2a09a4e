import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answerQuery, factsOf, MAX_SUMMARY_CHARS, quoteFor, rankSources, summarize } from '../../src/core/answer.js';
import type { Incident } from '../../src/core/incident.js';
import { IncidentIndex } from '../../src/core/incident-index.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { parseQuery } from '../../src/core/query.js';
import { splitSentences } from '../../src/core/text.js';
import { buildIncident, day } from '../fixtures/core/build-incident.js';

const SKY = 'seed:skyecc-2021';

/** Returns an `answer(query)` function over these records, as the service wires it. */
function answererOver(records: readonly Incident[]) {
  const index = IncidentIndex.build(records);
  const byId = new Map(records.map((r) => [r.id, r]));
  return (query: string) => answerQuery(index, (id) => byId.get(id), query);
}

const bundled = loadIncidentDir(BUNDLED_DATA_DIR);
const lanternGroup = buildIncident({ id: 'test:lantern-group', kind: 'group', title: 'Lantern Spider', summary: 'Lantern Spider is a financially motivated group. It targets ports.' });
const lanternCampaign = buildIncident({ id: 'test:lantern-campaign', kind: 'incident', title: 'Lantern Spider', summary: 'Lantern Spider hit harbour operators in 2022. It stole manifests.' });
const answer = answererOver([...bundled, lanternGroup, lanternCampaign]);

describe('answerQuery status', () => {
  it('answerQuery returns found with the Sky ECC incident when asked "sky ecc"', () => {
    const a = answer('sky ecc');
    assert.equal(a.status, 'found');
    assert.equal(a.incident?.id, SKY);
    assert.equal(a.incident?.title, 'Sky ECC takedown');
    assert.ok(a.incident?.aliases.includes('Operation Argus'));
    assert.deepEqual(a.candidates, []);
  });

  it('answerQuery returns ambiguous with candidates when two records match about as well', () => {
    const a = answer('lantern');
    assert.equal(a.status, 'ambiguous');
    const ids = a.candidates.map((c) => c.id).sort();
    assert.deepEqual(ids, ['test:lantern-campaign', 'test:lantern-group']);
    assert.ok(a.incident, 'the top candidate is still given');
    assert.equal(a.candidates[0].id, a.incident.id);
    assert.ok(a.suggestions.length >= 2);
  });

  it('answerQuery returns not-found with a message when nothing matches', () => {
    const a = answer('xyzzy plugh');
    assert.equal(a.status, 'not-found');
    assert.equal(a.incident, undefined);
    assert.match(a.summary, /xyzzy plugh/);
    assert.deepEqual(a.sources, []);
  });

  it('answerQuery suggests a close name when not-found but something close exists', () => {
    const a = answer('sk');
    assert.equal(a.status, 'not-found');
    assert.ok(a.suggestions.includes('Sky ECC takedown'), `suggestions ${JSON.stringify(a.suggestions)}`);
  });
});

describe('answerQuery with bad queries', () => {
  const junk: [string, string][] = [
    ['empty', ''],
    ['whitespace', '   \t\n '],
    ['only punctuation', '?!.,'],
    ['10,000 characters', 'x'.repeat(10_000)],
    ['regex metacharacters', '.*+?^${}()|[]\\'],
    ['emoji', '😀🔥💥'],
    ['null bytes', '\u0000\u0000\u0000'],
  ];
  for (const [what, q] of junk) {
    it(`answerQuery returns not-found with a message when given ${what}`, () => {
      const a = answer(q);
      assert.equal(a.status, 'not-found');
      assert.ok(a.summary.length > 0, 'the user gets a message');
      assert.ok(a.query.length <= 300);
    });
  }

  const sensible: [string, string][] = [
    ['mixed scripts', 'Скай ECC 天空'],
    ['a 10,000-character repetition', 'sky ecc '.repeat(1250)],
    ['a null byte inside a name', 'sky\u0000ecc'],
    ['regex metacharacters around a name', '(sky.*ecc)+?'],
  ];
  for (const [what, q] of sensible) {
    it(`answerQuery returns Sky ECC or not-found and never throws when given ${what}`, () => {
      const a = answer(q);
      assert.ok(a.status === 'not-found' || a.incident?.id === SKY, `${a.status} ${a.incident?.id}`);
      assert.ok(a.query.length <= 300);
    });
  }

  it('answerQuery answers within a bounded time when given a 10,000-character query', () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) answer(`${'lorem ipsum dolor '.repeat(600)} ${i}`);
    assert.ok(performance.now() - started < 2000, 'work per query is bounded');
  });
});

describe('answerQuery questions', () => {
  it('answerQuery quotes the 70,000 users sentence with its source when asked "how many users did Sky ECC have?"', () => {
    const a = answer('how many users did Sky ECC have?');
    assert.equal(a.status, 'found');
    assert.equal(a.incident?.id, SKY);
    assert.ok(a.quote, 'a question gets a quote');
    assert.match(a.quote.text, /70,000/);
    assert.match(a.quote.source?.url ?? '', /^https:\/\//);
  });

  it('answerQuery quotes a sentence naming the authorities when asked "who took down sky ecc?"', () => {
    const a = answer('who took down sky ecc?');
    assert.equal(a.incident?.id, SKY);
    assert.match(a.quote?.text ?? '', /Europol|authorities/);
    assert.ok(a.quote?.source, 'the quote carries its source');
  });

  it('answerQuery gives no quote when the query is not a question', () => {
    assert.equal(answer('sky ecc').quote, undefined);
  });

  it('quoteFor returns undefined when no sentence answers the question', () => {
    const incident = buildIncident({ title: 'Quiet Harbor', summary: 'Quiet Harbor was a campaign. It was small.' });
    assert.equal(quoteFor(incident, parseQuery('what ransom was paid for quiet harbor?'), undefined), undefined);
  });

  it('quoteFor prefers the sentence with a number when asked "how many"', () => {
    const incident = buildIncident({ title: 'Quiet Harbor', summary: 'Quiet Harbor was a campaign against ports. About 1,200 ports were affected. It ended in 2022.' });
    assert.match(quoteFor(incident, parseQuery('how many ports did Quiet Harbor affect?'), undefined)?.text ?? '', /1,200/);
  });
});

describe('summarize', () => {
  it('summarize returns 2-4 sentences within the limit for Sky ECC', () => {
    const a = answer('skyecc');
    const n = splitSentences(a.summary).length;
    assert.ok(n >= 2 && n <= 4, `${n} sentences`);
    assert.ok(a.summary.length <= MAX_SUMMARY_CHARS && a.summary.length <= 600, `${a.summary.length} chars`);
  });

  it('summarize keeps at most 4 sentences and about 600 characters when the summary is long', () => {
    const long = Array.from({ length: 12 }, (_, i) => `Sentence number ${i + 1} describes the intrusion at some length with many details about it.`).join(' ');
    const out = summarize(buildIncident({ summary: long }));
    const n = splitSentences(out).length;
    assert.ok(n >= 2 && n <= 4, `${n} sentences`);
    assert.ok(out.length <= 600, `${out.length} chars`);
  });

  it('summarize truncates at a word boundary when one sentence is longer than the limit', () => {
    const out = summarize(buildIncident({ summary: `${'word '.repeat(300)}end.` }));
    assert.ok(out.length <= 600, `${out.length} chars`);
    assert.ok(out.endsWith('…'));
  });

  it('summarize adds body sentences when the summary has only one sentence', () => {
    const out = summarize(buildIncident({ summary: 'Only one sentence here.', body: 'The body adds detail. And more detail.' }));
    assert.ok(splitSentences(out).length >= 2, out);
    assert.match(out, /The body adds detail\./);
  });

  it('summarize strips markup when the summary carries ATT&CK links and citations', () => {
    const out = summarize(buildIncident({ summary: '[Harbor Spider](https://attack.mitre.org/groups/G9001) ran it.(Citation: Vendor 2022) It ended.<sup>[[1](/references/x)]</sup>' }));
    assert.equal(out, 'Harbor Spider ran it. It ended.');
  });
});

describe('factsOf', () => {
  it('factsOf gives When and Who for Sky ECC', () => {
    const facts = answer('sky ecc').facts;
    const when = facts.find((f) => f.label === 'When');
    const who = facts.find((f) => f.label === 'Who');
    assert.equal(when?.value, '9 March 2021');
    assert.match(who?.value ?? '', /Europol/);
    assert.equal(facts[0].label, 'When');
  });

  it('factsOf gives a date range and leaves out what the record lacks', () => {
    const facts = factsOf(buildIncident({ date: day('2023-01-05'), dateEnd: day('2023-02-01'), entities: { countries: ['Norway'] } }));
    assert.equal(facts.find((f) => f.label === 'When')?.value, '5 January 2023 – 1 February 2023');
    assert.equal(facts.find((f) => f.label === 'Where')?.value, 'Norway');
    assert.equal(facts.find((f) => f.label === 'Who'), undefined);
  });

  it('factsOf gives no When when the record has no date', () => {
    assert.equal(factsOf(buildIncident()).find((f) => f.label === 'When'), undefined);
  });
});

describe('rankSources', () => {
  it('rankSources keeps one source when the same URL differs by www, trailing slash, scheme or fragment', () => {
    const out = rankSources([
      { url: 'https://www.example.com/report/', title: 'Report' },
      { url: 'https://example.com/report' },
      { url: 'http://example.com/report#section-2' },
      { url: 'https://EXAMPLE.com/report/' },
    ]);
    assert.equal(out.length, 1);
    assert.equal(out[0].title, 'Report');
  });

  it('rankSources keeps different URLs and puts linked sources first', () => {
    const out = rankSources([
      { publisher: 'Mandiant', published: '2024-04-17' },
      { url: 'https://example.com/a' },
      { url: 'https://example.com/b', title: 'B' },
    ]);
    assert.equal(out.length, 3);
    assert.deepEqual(out.map((s) => s.url), ['https://example.com/b', 'https://example.com/a', undefined]);
    assert.equal(out[1].title, 'example.com', 'a source without title is titled by its host');
    assert.equal(out[2].title, 'Mandiant');
  });

  it('answerQuery returns deduplicated sources when a record repeats a URL', () => {
    const record = buildIncident({
      title: 'Duplicate Sources Case',
      summary: 'A case with repeated sources. It is a fixture.',
      sources: [{ url: 'https://www.example.org/case/' }, { url: 'https://example.org/case' }, { url: 'https://example.org/other' }],
    });
    const a = answererOver([record])('duplicate sources case');
    assert.equal(a.status, 'found');
    assert.equal(a.sources.length, 2);
  });
});

describe('answerQuery related incidents', () => {
  it('answerQuery lists related incidents for Sky ECC, EncroChat among them', () => {
    const a = answer('sky ecc');
    assert.ok(a.related.some((r) => r.id === 'seed:encrochat-2020'), JSON.stringify(a.related.map((r) => r.id)));
    assert.ok(!a.related.some((r) => r.id === SKY), 'an incident is not related to itself');
    assert.ok(a.related.length <= 5);
  });

  it('answerQuery skips related ids that do not exist when the data names them', () => {
    const a = answererOver([buildIncident({ title: 'Orphan Case', summary: 'Orphan. Case.', related: ['test:missing'] })])('orphan case');
    assert.deepEqual(a.related, []);
  });
});
