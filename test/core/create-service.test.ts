import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHOICE_MAX_CHARS, createIncidentService, createIncidentServiceFromSnapshot, parseFilters } from '../../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { buildIncident, day, month } from '../fixtures/core/build-incident.js';

const records = [
  buildIncident({ id: 'test:old', title: 'Old Ransomware Case', summary: 'An old ransomware case. It hit a hospital.', date: day('2019-05-01'), tags: ['ransomware', 'healthcare'] }),
  buildIncident({ id: 'test:mid', title: 'Middle Ransomware Case', summary: 'A ransomware case. It hit a port.', date: month('2023-02'), tags: ['ransomware', 'type:campaign'] }),
  buildIncident({ id: 'test:new', title: 'New Phishing Case', summary: 'A phishing case. It hit a bank.', date: day('2024-06-30'), tags: ['phishing', 'takedown'] }),
  buildIncident({ id: 'test:newest-group', kind: 'group', title: 'Newest Group', summary: 'A group. It is context.', date: day('2025-01-01'), tags: ['ransomware'] }),
  buildIncident({ id: 'test:undated', title: 'Undated Ransomware Case', summary: 'A ransomware case without a date. It is vague.', tags: ['ransomware'] }),
];

describe('createIncidentService recent', () => {
  const service = createIncidentService(records);

  it('recent returns incidents newest first when asked for n', () => {
    const list = service.recent(10);
    assert.deepEqual(list.items.map((i) => i.id), ['test:new', 'test:mid', 'test:old']);
    assert.equal(list.total, 3);
    assert.ok(list.items.every((i) => i.kind === 'incident'), 'only incidents');
  });

  it('recent returns at most n items when more exist', () => {
    assert.deepEqual(service.recent(2).items.map((i) => i.id), ['test:new', 'test:mid']);
  });

  it('recent returns an empty list with a note when no incident is dated', () => {
    const list = createIncidentService([buildIncident()]).recent(5);
    assert.deepEqual(list.items, []);
    assert.ok(list.note);
  });

  it('recent lists the bundled seed incidents newest first', () => {
    const service = createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR));
    const bundled = service.recent(25);
    assert.ok(bundled.items.some((i) => i.id === 'seed:skyecc-2021'));
    const dates = bundled.items.map((i) => service.get(i.id)?.date?.value ?? '');
    assert.deepEqual(dates, [...dates].sort().reverse());
    assert.equal(bundled.items.at(-1)?.id, 'seed:encrochat-2020');
  });
});

describe('createIncidentService searchList', () => {
  const service = createIncidentService(records);

  it('searchList keeps only records with the tag when given tag:', () => {
    const list = service.searchList('case tag:phishing');
    assert.deepEqual(list.items.map((i) => i.id), ['test:new']);
    assert.match(list.title, /tag:phishing/);
  });

  it('searchList matches a prefixed tag when given its bare value', () => {
    assert.deepEqual(service.searchList('ransomware tag:campaign').items.map((i) => i.id), ['test:mid']);
  });

  it('searchList keeps only records dated on or after since: when given a year', () => {
    const ids = service.searchList('ransomware since:2023').items.map((i) => i.id);
    assert.ok(ids.includes('test:mid'));
    assert.ok(!ids.includes('test:old') && !ids.includes('test:undated'), `got ${ids}`);
  });

  it('searchList accepts since: with a month or a day when given them', () => {
    assert.deepEqual(service.searchList('case since:2024-06').items.map((i) => i.id), ['test:new']);
    assert.deepEqual(service.searchList('case since:2024-07-01').items.map((i) => i.id), []);
  });

  it('searchList lists the newest matches when given only filters', () => {
    const list = service.searchList('tag:ransomware since:2019');
    assert.deepEqual(list.items.map((i) => i.id), ['test:newest-group', 'test:mid', 'test:old']);
  });

  it('searchList returns a note naming the problem when since: is not a date', () => {
    const list = service.searchList('ransomware since:last-week');
    assert.deepEqual(list.items, []);
    assert.match(list.note ?? '', /since:/);
    assert.match(list.note ?? '', /YYYY/);
    assert.match(list.note ?? '', /last-week/);
  });

  it('searchList returns an empty list with a note when nothing matches', () => {
    const list = service.searchList('ransomware tag:nonexistent');
    assert.deepEqual(list.items, []);
    assert.ok(list.note);
  });
});

describe('parseFilters', () => {
  it('parseFilters separates words and filters when both are given', () => {
    assert.deepEqual(parseFilters('ransomware  tag:Healthcare since:2023-01 hospital'), {
      query: 'ransomware hospital',
      tag: 'Healthcare',
      since: '2023-01',
      error: undefined,
    });
  });

  it('parseFilters returns an error when since: is malformed', () => {
    const f = parseFilters('x since:2023/01');
    assert.equal(f.since, undefined);
    assert.match(f.error ?? '', /since:/);
  });
});

describe('createIncidentService search and autocomplete', () => {
  const longTitle = `Operation Longname ${'Extremely Verbose Title Words '.repeat(6)}`.trim();
  const many = Array.from({ length: 40 }, (_, i) =>
    buildIncident({ id: `test:long-${String(i).padStart(2, '0')}`, title: `${longTitle} ${i}`, summary: 'A long-named case. It exists for limits.', date: day(`2020-01-${String((i % 28) + 1).padStart(2, '0')}`) }),
  );
  const longId = buildIncident({ id: `test:${'x'.repeat(120)}`, title: 'Operation Longname Overlong Id', summary: 'Its id is too long for a choice. It is a fixture.' });
  const service = createIncidentService([...records, ...many, longId]);

  it('autocomplete returns at most 25 choices of at most 100 characters when many names match', () => {
    const choices = service.autocomplete('operation longname');
    assert.ok(choices.length > 0 && choices.length <= 25, `${choices.length} choices`);
    for (const c of choices) {
      assert.ok(c.name.length <= CHOICE_MAX_CHARS && c.name.length <= 100, `name ${c.name.length}`);
      assert.ok(c.value.length <= 100, `value ${c.value.length}`);
      assert.ok(c.name.length > 0);
    }
    assert.ok(!choices.some((c) => c.value === longId.id), 'an id too long for a choice value is left out');
  });

  it('autocomplete respects a smaller limit when given one', () => {
    assert.equal(service.autocomplete('operation', 3).length, 3);
  });

  it('autocomplete offers recent incidents when the prefix is empty', () => {
    const choices = service.autocomplete('   ');
    assert.ok(choices.length > 0 && choices.length <= 25);
    assert.equal(choices[0].value, 'test:new');
  });

  it('autocomplete returns valid choices and never throws when given junk', () => {
    for (const q of ['?!', '.*+?^${}()|[]\\', 'x'.repeat(10_000), '😀', '\u0000']) {
      for (const c of service.autocomplete(q)) assert.ok(c.name.length <= 100 && c.value.length <= 100);
    }
  });

  it('search honours kinds and limit when given them', () => {
    const hits = service.search('ransomware', { kinds: ['group'] });
    assert.deepEqual(hits.map((h) => h.id), ['test:newest-group']);
    assert.ok(service.search('operation longname', { limit: 4 }).length <= 4);
  });

  it('upsert replaces a record in get() and in answers when its id exists', () => {
    const s = createIncidentService(records);
    const size = s.size;
    s.upsert([buildIncident({ id: 'test:old', title: 'Renamed Hospital Case', summary: 'Renamed. Still old.', date: day('2019-05-01') })]);
    assert.equal(s.size, size);
    assert.equal(s.get('test:old')?.title, 'Renamed Hospital Case');
    assert.equal(s.answer('renamed hospital case').incident?.id, 'test:old');
  });

  it('createIncidentServiceFromSnapshot answers like the built service when given its snapshot', () => {
    const snap = createIncidentServiceFromSnapshot(service.index.toSnapshot(), [...records, ...many, longId]);
    assert.deepEqual(snap.search('middle ransomware').map((h) => h.id), service.search('middle ransomware').map((h) => h.id));
    assert.equal(snap.answer('new phishing case').incident?.id, 'test:new');
  });
});
