import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_DATA_DIR, loadIncidentDir, parseIncidentMarkdown } from '../../src/core/load-data.js';
import { IncidentValidationError } from '../../src/core/incident.js';
import { splitSentences, stripMarkup } from '../../src/core/text.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '../fixtures/data');

/** Builds a Markdown incident file; `front` lines replace the defaults with the same key, `undefined` drops one. */
function markdown(front: Record<string, string | undefined> = {}, content = 'A summary sentence. Another one.'): string {
  const fields: Record<string, string | undefined> = { id: 'test:x', kind: 'incident', title: 'X', ...front };
  const yaml = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return `---\n${yaml}\n---\n${content}\n`;
}

/** Returns the error message parseIncidentMarkdown throws for `text` (fails the test if it does not throw). */
function parseError(text: string): string {
  try {
    parseIncidentMarkdown(text, 'x.md');
  } catch (err) {
    assert.ok(err instanceof IncidentValidationError, `expected IncidentValidationError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected parseIncidentMarkdown to throw');
}

/** Returns the error message loadIncidentDir throws for a fixture folder. */
function loadError(dir: string): string {
  try {
    loadIncidentDir(path.isAbsolute(dir) ? dir : path.join(fixtures, dir));
  } catch (err) {
    assert.ok(err instanceof IncidentValidationError, `expected IncidentValidationError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected loading ${dir} to throw`);
}

describe('parseIncidentMarkdown', () => {
  it('takes the first paragraph as summary and the rest as body, unwrapping hard-wrapped lines', () => {
    const incident = parseIncidentMarkdown(
      markdown({}, 'First line\nof the summary.\n\nBody one\nwrapped.\n\n- item a\n- item b\n\n\nLast.'),
      'x.md',
    );
    assert.equal(incident.summary, 'First line of the summary.');
    assert.equal(incident.body, 'Body one wrapped.\n\n- item a\n- item b\n\nLast.');
  });

  it('leaves body undefined when there is only a summary', () => {
    assert.equal(parseIncidentMarkdown(markdown(), 'x.md').body, undefined);
  });

  it('infers the date precision from the shape of the short form', () => {
    const precision = (date: string) => parseIncidentMarkdown(markdown({ date }), 'x.md').date;
    assert.deepEqual(precision('2021-03-09'), { value: '2021-03-09', precision: 'day' });
    assert.deepEqual(precision('"2021-03"'), { value: '2021-03', precision: 'month' });
    assert.deepEqual(precision('2021'), { value: '2021', precision: 'year' });
  });

  it('accepts date_precision beside the short form and the object form', () => {
    const short = parseIncidentMarkdown(markdown({ date: '2021-03-09', date_precision: 'day' }), 'x.md');
    assert.deepEqual(short.date, { value: '2021-03-09', precision: 'day' });
    const object = parseIncidentMarkdown(markdown({ date: '{ value: "2021-03", precision: month }' }), 'x.md');
    assert.deepEqual(object.date, { value: '2021-03', precision: 'month' });
  });

  it('defaults date to null and the lists to empty when left out', () => {
    const incident = parseIncidentMarkdown(markdown(), 'x.md');
    assert.equal(incident.date, null);
    assert.deepEqual(incident.aliases, []);
    assert.deepEqual(incident.entities.cves, []);
  });

  it('rejects a date_precision that does not match the shape', () => {
    assert.match(parseError(markdown({ date: '2021-03-09', date_precision: 'month' })), /^x\.md: date: value does not match precision/);
  });

  it('rejects date_precision next to the object form', () => {
    assert.match(
      parseError(markdown({ date: '{ value: "2021", precision: year }', date_precision: 'year' })),
      /^x\.md: date_precision: /,
    );
  });

  it('rejects a date that is not on the calendar', () => {
    assert.match(parseError(markdown({ date: '2021-02-30' })), /^x\.md: date\.value: 2021-02-30 is not a calendar date/);
    assert.match(parseError(markdown({ date: '"2021-13"' })), /^x\.md: date\.value: 2021-13 is not a calendar date/);
  });

  it('rejects unknown fields and summary or body in the front matter', () => {
    assert.match(parseError(markdown({ alias: '[x]' })), /^x\.md: alias: unknown field; expected one of id, kind, title/);
    assert.match(parseError(markdown({ summary: 'In the wrong place.' })), /^x\.md: summary: comes from the Markdown/);
  });

  it('rejects a missing summary and a heading as summary', () => {
    assert.match(parseError(markdown({}, '')), /^x\.md: summary: missing/);
    assert.match(parseError(markdown({}, '# X\n\nText.')), /^x\.md: summary: the first paragraph is a Markdown heading/);
  });

  it('rejects an unclosed front matter and front matter that is not a mapping', () => {
    assert.match(parseError('---\nid: test:x\nA summary.\n'), /^x\.md: front matter: not closed/);
    assert.match(parseError('---\n- a\n- b\n---\nA summary.\n'), /^x\.md: front matter: expected "field: value" lines/);
  });

  it('rejects a non-http source url and a source with neither url nor publisher', () => {
    assert.match(parseError(markdown({ sources: '[{ url: "javascript:alert(1)" }]' })), /^x\.md: sources\.0\.url: /);
    assert.match(parseError(markdown({ sources: '[{ title: Untraceable }]' })), /^x\.md: sources\.0: a source needs a url or/);
  });

  it('names the field and the file line of a YAML error', () => {
    // Line 4 of the file: the opening "---" is line 1.
    const message = parseError('---\nid: test:x\nkind: incident\ntitle: Sky: ECC\n---\nA summary.\n');
    assert.match(message, /^x\.md: title: broken YAML at line 4, column \d+: /);
  });

  it('accepts a byte order mark and CRLF line ends', () => {
    const incident = parseIncidentMarkdown('\uFEFF' + markdown({}, 'One.\n\nTwo.').replace(/\n/g, '\r\n'), 'x.md');
    assert.equal(incident.summary, 'One.');
    assert.equal(incident.body, 'Two.');
  });
});

describe('loadIncidentDir', () => {
  it('loads every .md in file-name order with short, month and object dates', () => {
    const incidents = loadIncidentDir(path.join(fixtures, 'valid'));
    assert.deepEqual(
      incidents.map((i) => i.id),
      ['fixture:year-only', 'fixture:month', 'fixture:day'],
    );
    const [year, month, day] = incidents;
    assert.deepEqual(year.date, { value: '2019', precision: 'year' });
    assert.deepEqual(year.dateEnd, { value: '2020-06', precision: 'month' });
    assert.equal(year.sources[0].published, '2019');
    assert.equal(month.title, 'A month-dated incident: with a colon');
    assert.deepEqual(month.date, { value: '2021-03', precision: 'month' });
    assert.equal(month.summary, 'The first paragraph is the summary and may be wrapped over lines.');
    assert.equal(month.body, 'The body starts here, also wrapped.\n\n- a list item\n- another item\n\nA last paragraph.');
    assert.deepEqual(month.tags, ['type:incident', 'takedown']);
    assert.deepEqual(month.entities.actors, ['Some Agency']);
    assert.deepEqual(day.date, { value: '2021-03-09', precision: 'day' });
  });

  const badFixtures: Array<[folder: string, file: string, pattern: RegExp]> = [
    ['missing-title', 'missing-title.md', /missing-title\.md: title: missing; every file needs id, kind, title/],
    ['bad-date', 'bad-date.md', /bad-date\.md: date\.value: expected YYYY, YYYY-MM or YYYY-MM-DD/],
    ['broken-yaml', 'broken-yaml.md', /broken-yaml\.md: (aliases|tags): broken YAML at line \d+, column \d+: /],
    ['no-front-matter', 'no-front-matter.md', /no-front-matter\.md: front matter: missing/],
  ];
  for (const [folder, file, pattern] of badFixtures) {
    it(`names the file and the field for ${folder}`, () => {
      const message = loadError(folder);
      assert.match(message, pattern);
      assert.ok(message.includes(path.join('fixtures', 'data', folder, file)), `path missing in: ${message}`);
    });
  }

  it('names both files when two share an id', () => {
    const message = loadError('duplicate-id');
    assert.match(message, /second\.md: id: "fixture:same" is already used by \S*first\.md/);
  });

  it('reports every bad file at once, one per line', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'load-data-'));
    try {
      writeFileSync(path.join(dir, 'a.md'), markdown({ title: undefined }));
      writeFileSync(path.join(dir, 'b.md'), markdown({ id: 'test:b' }));
      writeFileSync(path.join(dir, 'c.md'), markdown({ id: 'test:c', date: '2021-3' }));
      writeFileSync(path.join(dir, 'notes.txt'), 'not an incident');
      const lines = loadError(dir).split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[0], /a\.md: title: /);
      assert.match(lines[1], /c\.md: date\.value: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bundled data', () => {
  const incidents = loadIncidentDir(BUNDLED_DATA_DIR);
  const byId = new Map(incidents.map((i) => [i.id, i]));

  it('BUNDLED_DATA_DIR is the project data/incidents folder', () => {
    assert.equal(BUNDLED_DATA_DIR, path.resolve(here, '../../data/incidents'));
  });

  it('holds the Sky ECC seed with its aliases, day date and a linked source', () => {
    const sky = byId.get('seed:skyecc-2021');
    assert.ok(sky, 'seed:skyecc-2021 missing');
    assert.equal(sky.kind, 'incident');
    assert.equal(sky.title, 'Sky ECC takedown');
    assert.deepEqual(sky.date, { value: '2021-03-09', precision: 'day' });
    for (const alias of ['SKY ECC', 'SkyECC', 'Sky ECC', 'Operation Argus', 'Argus']) {
      assert.ok(sky.aliases.includes(alias), `alias ${alias} missing`);
    }
    assert.ok(sky.sources.some((s) => s.url?.startsWith('https://')), 'no linked source');
    assert.ok(sky.related.includes('seed:encrochat-2020'));
  });

  it('answers "how many users" and "who" from single summary sentences of the Sky ECC seed', () => {
    const sentences = splitSentences(byId.get('seed:skyecc-2021')!.summary);
    assert.ok(
      sentences.some((s) => s.includes('70,000') && s.includes('170,000') && /users/.test(s)),
      `no sentence with both user counts in: ${sentences.join(' | ')}`,
    );
    assert.ok(
      sentences.some((s) => /Belgium, France and the Netherlands/.test(s) && /Europol/.test(s) && /Sky ECC/.test(s)),
      'no sentence saying who acted against Sky ECC',
    );
  });

  it('holds the related seed incidents', () => {
    for (const id of ['seed:encrochat-2020', 'seed:labhost-2024', 'seed:apt44-water-2024', 'seed:ukraine-military-messaging-2024']) {
      assert.ok(byId.has(id), `${id} missing`);
    }
  });

  it('links only to bundled ids, and both ways', () => {
    for (const incident of incidents) {
      for (const id of incident.related) {
        const other = byId.get(id);
        assert.ok(other, `${incident.id} links to unknown ${id}`);
        assert.ok(other.related.includes(incident.id), `${id} does not link back to ${incident.id}`);
      }
    }
  });

  it('has only http(s) source urls, and a publisher wherever a url is missing', () => {
    for (const incident of incidents) {
      assert.ok(incident.sources.length > 0, `${incident.id} has no source`);
      for (const source of incident.sources) {
        if (source.url !== undefined) assert.match(source.url, /^https?:\/\/[^\s/]+\.[^\s/]+/, `${incident.id}: ${source.url}`);
        else assert.ok(source.publisher, `${incident.id}: a source has neither url nor publisher`);
      }
    }
  });

  it('has plain-text summaries of 2 to 4 sentences, at most 600 characters', () => {
    for (const incident of incidents) {
      const count = splitSentences(incident.summary).length;
      assert.ok(count >= 2 && count <= 4, `${incident.id}: ${count} sentences`);
      assert.ok(incident.summary.length <= 600, `${incident.id}: ${incident.summary.length} characters`);
      assert.equal(stripMarkup(incident.summary), incident.summary, `${incident.id}: markup in summary`);
    }
  });

  it('files are named after their ids', () => {
    // The README's rule; it keeps ids unique for free and makes a record easy to find.
    const files = incidents.map((i) => `${i.id.split(':')[1]}.md`).sort();
    assert.deepEqual(files, readdirSync(BUNDLED_DATA_DIR).filter((n) => n.endsWith('.md')).sort());
  });

  it('the example in data/README.md parses', () => {
    const readme = readFileSync(path.resolve(BUNDLED_DATA_DIR, '../README.md'), 'utf8');
    const example = /```markdown\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, 'no markdown example in data/README.md');
    const incident = parseIncidentMarkdown(example, 'data/README.md');
    assert.equal(incident.id, 'seed:labhost-2024');
    assert.ok(incident.body);
  });
});
