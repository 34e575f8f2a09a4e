import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerToText } from '../../src/adapters/console/render.js';
import { answerToMessage } from '../../src/adapters/discord/render.js';
import { answerToBlocks } from '../../src/adapters/slack/render.js';
import { createIncidentService } from '../../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import { dataHint, withDataHints, type DataStatus } from '../../src/sources/data-hint.js';

const empty: DataStatus = { records: 5, configuredSources: 7, sourcesWithData: 0, autoSync: true };

describe('data hint', () => {
  it('says how to load the datasets on an almost empty store, and the last failure', () => {
    assert.equal(
      dataHint(empty),
      'I know only 5 records so far. To load the public datasets (MITRE ATT&CK, CISA KEV, MISP galaxies), run `npm run cli -- sources sync` where the bot runs.',
    );
    assert.match(dataHint({ ...empty, autoSync: false }) ?? '', /or start it with SOURCES_SYNC=true\.$/);
    assert.match(dataHint({ ...empty, lastError: 'https://example.org/x.json: host not found (ENOTFOUND)' }) ?? '', /The last sync failed: https:\/\/example\.org\/x\.json: host not found \(ENOTFOUND\)$/);
  });

  it('gives the start-up sync’s progress while sources without data are being synced', () => {
    assert.equal(dataHint({ ...empty, syncing: { current: 'ATT&CK Enterprise', done: 2, total: 7 } }), 'Still loading the datasets: syncing ATT&CK Enterprise… 2 of 7 sources done. Ask again in a minute.');
  });

  it('says nothing once the data is there, even during a routine re-sync', () => {
    assert.equal(dataHint({ ...empty, records: 6000, sourcesWithData: 7 }), undefined);
    assert.equal(dataHint({ ...empty, records: 6000, sourcesWithData: 7, syncing: { current: 'CISA KEV', done: 0, total: 1 } }), undefined);
  });

  it('adds the hint to not-found answers and empty searches only, leaving the core answer as it was', () => {
    const core = createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR));
    const service = withDataHints(core, () => empty);
    const miss = service.answer('volt typhoon');
    assert.equal(miss.status, 'not-found');
    assert.match(miss.hint ?? '', /sources sync/);
    assert.equal(core.answer('volt typhoon').hint, undefined, 'the core answer carries no hint');
    assert.equal(service.answer('skyecc').hint, undefined, 'a found answer carries none');
    assert.match(service.searchList('volt typhoon').note ?? '', /No incidents match.*sources sync/);
    assert.equal(service.size, core.size);
  });

  it('passes feed posts on to the index (the feed watcher writes through this service)', () => {
    const core = createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR));
    const service = withDataHints(core, () => empty);
    const story = core.recent(1).items[0]!.id;
    service.addPosts!([{ postId: 'feed-post:hint', incidentId: story, title: 'A fresh look at an old breach', url: null, published: '2099-01-02', createdAt: 0, summary: '' }]);
    assert.equal(core.answer('anything recent?').items?.[0]?.id, 'feed-post:hint');
  });

  it('is rendered by every adapter: console, Discord, Slack', () => {
    const service = withDataHints(createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR)), () => empty);
    const miss = service.answer('volt typhoon');
    assert.match(answerToText(miss), /Nothing in the index matches "volt typhoon"\.\n\nI know only 5 records so far\./);
    const discord = JSON.stringify(answerToMessage(miss));
    assert.match(discord, /I know only 5 records so far/);
    assert.match(discord, /sources sync/);
    const slack = answerToBlocks(miss);
    assert.match(JSON.stringify(slack.blocks), /I know only 5 records so far/);
    assert.match(slack.text, /I know only 5 records so far/, 'the notification fallback has it too');
  });
});
