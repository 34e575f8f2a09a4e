import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServedService } from '../../src/core/create-service.js';
import type { Incident } from '../../src/core/incident.js';
import { buildServed } from '../../src/core/served.js';
import { createServedUpdater } from '../../src/core/served-update.js';
import { recordOf } from '../support/record.js';

const rec = recordOf;

const attack = rec('attack:G9001', 'Quartz Heron', { aliases: ['QH'] });
const misp = rec('misp:threat-actor:1', 'Quartz Heron Team', { sameAs: ['attack:G9001'], aliases: ['Glass Stork'] });
const other = rec('attack:G9002', 'Velvet Mole');

/** A served service over `records`, the store they came from (a map the test edits), and an updater reading it. */
function servedOver(records: Incident[]) {
  const stored = new Map(records.map((r) => [r.id, r]));
  const served = buildServed({ bundled: [], stored: records });
  const service = createServedService(served);
  const reads: string[][] = [];
  const updater = createServedUpdater({
    service,
    canonical: served.canonical,
    read: async (ids) => {
      reads.push([...ids]);
      return new Map(ids.map((id) => [id, stored.get(id)]));
    },
  });
  return { stored, service, updater, reads };
}

const topIds = (service: { search(q: string): { id: string }[] }, q: string) => service.search(q).map((h) => h.id);

describe('createServedUpdater', () => {
  it('a record folded into another recomputes the merged record of its group, as a rebuild would make it', async () => {
    const { stored, service, updater, reads } = servedOver([attack, misp, other]);
    assert.equal(service.get('misp:threat-actor:1')?.id, 'attack:G9001', 'served merged');
    const changed = { ...misp, aliases: ['Glass Stork', 'Amber Finch'] };
    stored.set(misp.id, changed);
    assert.deepEqual(await updater.apply([misp.id]), { upserted: 1, removed: 0 });
    assert.deepEqual(reads, [['attack:G9001', 'misp:threat-actor:1']], 'the whole group is read, nothing else');
    const rebuilt = buildServed({ bundled: [], stored: [...stored.values()] }).records.find((r) => r.id === 'attack:G9001');
    assert.deepEqual(service.get('attack:G9001'), rebuilt);
    assert.equal(topIds(service, 'Amber Finch')[0], 'attack:G9001', 'the new alias finds the merged record');
    assert.equal(service.size, 2, 'the folded id is not served on its own');
  });

  it('the kept record changing keeps what its group contributes', async () => {
    const { stored, service, updater } = servedOver([attack, misp, other]);
    stored.set(attack.id, { ...attack, title: 'Quartz Heron Collective', summary: 'Renamed in a later ATT&CK release.' });
    await updater.apply([attack.id]);
    const served = service.get('attack:G9001')!;
    assert.equal(served.title, 'Quartz Heron Collective');
    assert.ok(served.aliases.includes('Glass Stork'), 'the MISP aliases stay');
    assert.deepEqual(served.sameAs, ['misp:threat-actor:1']);
    assert.equal(topIds(service, 'Collective')[0], 'attack:G9001');
  });

  it('a new record is added and a removed one taken out, without touching the rest', async () => {
    const { stored, service, updater } = servedOver([attack, misp, other]);
    stored.set('feed:1:a', rec('feed:1:a', 'Lantern Breach at a port authority', { kind: 'incident' }));
    stored.delete(other.id);
    assert.deepEqual(await updater.apply(['feed:1:a', other.id]), { upserted: 1, removed: 1 });
    assert.equal(topIds(service, 'Lantern Breach')[0], 'feed:1:a');
    assert.equal(service.get(other.id), undefined);
    assert.deepEqual(topIds(service, 'Velvet Mole'), []);
    assert.equal(service.get('attack:G9001')?.aliases.includes('Glass Stork'), true);
  });

  it('when the kept record goes, the rest of its group is served under its own ids', async () => {
    const { stored, service, updater } = servedOver([attack, misp, other]);
    stored.delete(attack.id);
    assert.deepEqual(await updater.apply([attack.id]), { upserted: 1, removed: 1 });
    assert.equal(service.get('attack:G9001'), undefined);
    assert.equal(topIds(service, 'Glass Stork')[0], 'misp:threat-actor:1');
  });

  it('yields to the event loop between slices of a large update', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) => rec(`feed:1:${i}`, `Story number ${i}`, { kind: 'incident' }));
    const { stored, service } = servedOver([attack]);
    for (const r of many) stored.set(r.id, r);
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const slow = createServedUpdater({ service, canonical: new Map(), read: (ids) => new Map(ids.map((id) => [id, stored.get(id)])), sliceMs: 1 });
    await slow.apply(many.map((r) => r.id));
    clearInterval(ticker);
    assert.ok(turns > 0, 'timers ran during the update');
    assert.equal(service.size, 3_001);
  });
});
