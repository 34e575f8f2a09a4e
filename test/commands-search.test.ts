import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../commands/index.js';
import type { IncidentList } from '../src/core/answer-model.js';
import { createIncidentService } from '../src/core/create-service.js';
import { parseIncident, type IncidentInput } from '../src/core/incident.js';
import { SEARCH_FILTERS } from '../src/core/search-list.js';

const month = (n: number) => `${2010 + Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, '0')}`;
const rec = (over: Partial<IncidentInput> & Pick<IncidentInput, 'id' | 'title'>) =>
  parseIncident({ kind: 'incident', summary: `${over.title} happened.`, ...over });

// 150 flaws of one vendor, one a month from January 2010: more than the ranked search keeps as candidates, so a
// filter applied after its cut would lose most of the matches.
const FLAWS = Array.from({ length: 150 }, (_, i) =>
  rec({ id: `vuln:${String(i).padStart(3, '0')}`, kind: 'vulnerability', title: `Widget flaw ${i}`, date: { value: `${month(i)}-15`, precision: 'day' }, tags: ['vendor:Acme Widgets', 'type:vulnerability'] }),
);
const RECORDS = [
  ...FLAWS,
  rec({ id: 'grp:heron', kind: 'group', title: 'Grey Heron', aliases: ['APT 99'], summary: 'An espionage group.', tags: ['type:group'] }),
  rec({ id: 'camp:early', title: 'Operation Reed', date: { value: '2019-03', precision: 'month' }, tags: ['attributed-to:Grey Heron'] }),
  rec({ id: 'camp:late', title: 'Operation Marsh', date: { value: '2024-08', precision: 'month' }, tags: ['attributed-to:APT 99'] }),
  rec({ id: 'sw:beak', kind: 'software', title: 'BeakLoader', tags: ['used-by:Grey Heron'] }),
  rec({ id: 'camp:other', title: 'Operation Pond', date: { value: '2025-01', precision: 'month' }, tags: ['attributed-to:Someone Else'] }),
  rec({ id: 'post:0123456789abcdef', title: 'Widget maker patches a flaw', date: { value: '2025-06-02', precision: 'day' }, summary: 'A feed post about a widget flaw.' }),
];

const ctx: CommandContext = { incidents: createIncidentService(RECORDS), commands: COMMANDS };

async function search(query: string, cursor?: string): Promise<IncidentList> {
  const reply = await findCommand('incidents')!.handle({ subcommand: 'search', options: { query }, cursor }, ctx);
  assert.equal(reply.type, 'list', JSON.stringify(reply));
  return (reply as { list: IncidentList }).list;
}
const ids = (list: IncidentList) => list.items.map((i) => i.id);

/** Every page of a search, following the cursors. */
async function allPages(query: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const list = await search(query, cursor);
    out.push(...ids(list));
    cursor = list.cursor;
    if (!cursor) return out;
  }
  assert.fail('the cursors never ended');
}

describe('incidents search filters', () => {
  it('filters before the cut-off: every match of a date filter is counted and listed, newest first', async () => {
    const list = await search('widget since:2021-06');
    // Flaws 137..149 fall on or after June 2021: 13 of them, and the post about a widget flaw.
    assert.equal(list.total, 14);
    const all = await allPages('widget since:2021-06');
    assert.deepEqual(all, ['post:0123456789abcdef', ...FLAWS.slice(137).reverse().map((f) => f.id)]);
  });

  it('until: keeps records dated on or before the date, and a range can be closed at both ends', async () => {
    assert.deepEqual(await allPages('widget until:2010-03'), ['vuln:002', 'vuln:001', 'vuln:000']);
    assert.deepEqual(await allPages('widget since:2015-02 until:2015-04'), ['vuln:063', 'vuln:062', 'vuln:061']);
  });

  it('kind: keeps one kind, several with commas, and post keeps only feed posts', async () => {
    assert.deepEqual(await allPages('kind:group'), ['grp:heron']);
    assert.deepEqual(await allPages('widget kind:post'), ['post:0123456789abcdef']);
    assert.ok(!(await allPages('widget kind:incident')).includes('post:0123456789abcdef'), 'a post is not listed as an incident');
    assert.deepEqual((await allPages('kind:group,software')).sort(), ['grp:heron', 'sw:beak']);
  });

  it('actor: keeps what the group is behind or uses, by any of its names', async () => {
    const byAlias = await allPages('actor:apt-99');
    assert.deepEqual(byAlias.sort(), ['camp:early', 'camp:late', 'sw:beak']);
    assert.deepEqual(await allPages('actor:grey-heron kind:incident'), ['camp:late', 'camp:early'], 'newest first without words');
  });

  it('actor: says so when no group bears the name', async () => {
    const list = await search('actor:blue-egret');
    assert.equal(list.total, 0);
    assert.match(list.note ?? '', /No group is named "blue egret"/);
  });

  it('vendor: matches the vendor by its leading words only', async () => {
    assert.equal((await search('vendor:acme')).total, 150);
    assert.equal((await search('vendor:acme-widgets')).total, 150);
    assert.equal((await search('vendor:acm')).total, 0, 'not part of a word');
  });

  it('sorts by date when the words ask for recency, and by relevance otherwise', async () => {
    const latest = await search('latest widget flaws');
    assert.equal(latest.items[0].id, 'post:0123456789abcdef');
    assert.deepEqual(ids(latest).slice(1, 4), ['vuln:149', 'vuln:148', 'vuln:147']);
    assert.match(latest.title, /widget flaws/);
    assert.doesNotMatch(latest.title, /latest/, 'the cue is not searched as a word');
    assert.equal((await search('widget flaw 42')).items[0].id, 'vuln:042');
  });

  it('reads time phrases in the words as filters', async () => {
    assert.deepEqual(await allPages('widget flaws between March and May 2012'), ['vuln:028', 'vuln:027', 'vuln:026']);
    assert.deepEqual(await allPages('widget before 2010-03'), ['vuln:001', 'vuln:000']);
  });

  it('pages like lists: a cursor per page, the same total, no record twice, none after the last page', async () => {
    const first = await search('vendor:acme');
    assert.equal(first.items.length, 10);
    assert.ok(first.cursor);
    const second = await search('vendor:acme', first.cursor);
    assert.equal(second.total, 150);
    assert.equal(ids(first).filter((id) => ids(second).includes(id)).length, 0);
    const all = await allPages('vendor:acme');
    assert.equal(all.length, 150);
    assert.equal(new Set(all).size, 150);
    assert.deepEqual(ids(await search('vendor:acme', 'not-a-cursor')), ids(first), 'a foreign cursor starts over');
  });

  for (const [query, pattern] of [
    ['widget kind:malware', /kind: expects incident, group, software, vulnerability, post \(got "malware"\)/],
    ['widget until:soon', /until: expects YYYY, YYYY-MM or YYYY-MM-DD \(got "soon"\)/],
    ['widget since:2024-13', /since: expects/],
    ['widget actor:', /actor: needs a value/],
  ] as const) {
    it(`replies with what is wrong when given "${query}"`, async () => {
      const list = await search(query);
      assert.deepEqual(list.items, []);
      assert.match(list.note ?? '', pattern);
    });
  }

  it('help lists every filter', () => {
    const help = findCommand('incidents')!.definition.help;
    for (const f of SEARCH_FILTERS) assert.match(help, new RegExp(`${f.key}:`), f.key);
  });
});

describe('incidents recent paging', () => {
  it('pages the newest incidents with a cursor', async () => {
    const reply = await findCommand('incidents')!.handle({ subcommand: 'recent', options: { count: 2 } }, ctx);
    assert.ok(reply.type === 'list');
    assert.equal(reply.list.total, 4, 'the dated incidents, posts included');
    const next = await findCommand('incidents')!.handle({ subcommand: 'recent', options: { count: 2 }, cursor: reply.list.cursor }, ctx);
    assert.ok(next.type === 'list');
    assert.deepEqual([...ids(reply.list), ...ids(next.list)], ['post:0123456789abcdef', 'camp:other', 'camp:late', 'camp:early']);
    assert.equal(next.list.cursor, undefined, 'the last page');
  });
});
