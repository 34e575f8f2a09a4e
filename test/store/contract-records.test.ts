import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONVERSATION_TTL_MS } from '../../src/core/conversation.js';
import { Graph } from '../../src/core/graph.js';
import type { Incident } from '../../src/core/incident.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../src/core/load-data.js';
import type { Db } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { applyPgMigrations } from '../../src/store/pg-migrations.js';
import { createImporter, type ImportTarget } from '../../src/sources/import-runner.js';
import { openRecordRepos, type RecordRepos } from '../../src/store/repos/index.js';
import { RELATION_ROWS_PER_SLICE } from '../../src/store/repos/relations.js';
import { toSourceRecordRow } from '../../src/store/repos/sources.js';
import { createTextSealer } from '../../src/store/sealed-text.js';
import { dbCases, TEST_DATABASE_URL } from '../support/databases.js';

const base = loadIncidentDir(BUNDLED_DATA_DIR)[0]!;
const record = (id: string, title = `Record ${id}`): Incident => ({ ...base, id, title });
const source = (name: string) => ({ name, format: 'jsonl', url: `https://example.org/${name}.jsonl` });
const info = { bodyHash: 'h1', bytes: 100 };

/** Brings a fresh database to the current schema: PostgreSQL's migration runner, or SQLite's steps one statement at a time. */
async function migrate(db: Db): Promise<void> {
  if (db.kind === 'postgres') {
    await applyPgMigrations(db);
    return;
  }
  // The Db runs one statement per call; the SQLite steps separate theirs with a semicolon at the end of a line.
  await db.transaction(async () => {
    for (const step of MIGRATIONS) {
      for (const statement of step.sql.split(/;\s*$/m)) if (statement.replace(/--.*$/gm, '').trim()) await db.run(statement);
    }
    // As applyMigrations leaves it, so that another connection opening the file (the sync worker) finds it current.
    await db.run(`PRAGMA user_version = ${MIGRATIONS.at(-1)!.version}`);
  });
}

for (const engine of dbCases('contract records')) {
  describe(`record repositories on ${engine.name}`, { skip: engine.skip }, () => {
    let db: Db;
    let clock = 1_000;
    let repos: RecordRepos;
    before(async () => {
      db = await engine.open();
      await migrate(db);
      repos = openRecordRepos(db, { now: () => clock });
    });
    after(() => engine.cleanup());

    describe('records', () => {
      it('imports in one transaction, counts inserts and updates, logs the import and reads the records back with bodies', async () => {
        const first = await repos.records.importIncidents([{ ...record('test:b'), body: 'long text' }, record('test:a')], { origin: 'file:one', format: 'jsonl' });
        assert.deepEqual(first, { inserted: 2, updated: 0 });
        const second = await repos.records.importIncidents([record('test:a', 'Renamed'), record('test:c'), record('test:c', 'Twice')], { origin: 'file:two', format: 'jsonl' });
        assert.deepEqual(second, { inserted: 1, updated: 2 }, 'an id repeated in one import counts as an update, the last version wins');
        const all = await repos.records.allIncidents();
        assert.deepEqual(all.map((r) => [r.id, r.title]), [['test:a', 'Renamed'], ['test:b', 'Record test:b'], ['test:c', 'Twice']]);
        assert.equal(all[1]!.body, 'long text');
        assert.equal(await repos.records.getBody('test:b'), 'long text');
        assert.equal((await repos.records.getIncident('test:c'))?.title, 'Twice');
        assert.equal(await repos.records.getIncident('test:zz'), undefined);
        assert.deepEqual([...(await repos.records.incidentsById(['test:a', 'test:zz'])).keys()], ['test:a']);
        const counts = await repos.records.countIncidents();
        assert.equal(counts.total, 3);
        assert.equal(counts.byKind[base.kind], 3);
        const log = await repos.records.imports();
        assert.deepEqual(log.map((l) => [l.origin, l.format, l.count]), [['file:one', 'jsonl', 2], ['file:two', 'jsonl', 3]]);
        assert.equal(typeof log[0]!.id, 'number');
        assert.match(log[0]!.importedAt, /^\d{4}-\d\d-\d\dT/);
        const stats = await repos.records.stats();
        assert.equal(stats.n, 3);
        assert.ok(stats.bytes > 0);
      });

      it('a failed import (a bad record, or the producer throwing) keeps the previous version whole', async () => {
        const before = await repos.records.allIncidents();
        await assert.rejects(
          repos.records.importIncidents([record('test:d'), { ...record('test:e'), title: '' }], { origin: 'file:bad', format: 'jsonl' }),
          /file:bad record 2 \(test:e\)/,
        );
        await assert.rejects(
          repos.records.importWith('file:bad', 'jsonl', async () => {
            throw new Error('parse failed');
          }),
          /parse failed/,
        );
        // A failure after rows were written: the writes roll back with the log line.
        await assert.rejects(
          db.transaction(async () => {
            await repos.records.importIncidents([record('test:a', 'Half way')], { origin: 'file:half', format: 'jsonl' });
            throw new Error('crash after the write');
          }),
          /crash after the write/,
        );
        assert.deepEqual(await repos.records.allIncidents(), before);
        assert.equal((await repos.records.imports()).length, 2);
        await assert.rejects(repos.records.importIncidents([record('test:x')], { origin: ' ', format: 'jsonl' }), /origin/);
      });

      it('imports thousands of records in slices and reads them back in id order', async () => {
        const many = Array.from({ length: 3_000 }, (_, i) => record(`bulk:${String(i).padStart(5, '0')}`));
        assert.deepEqual(await repos.records.importWith('file:bulk', 'jsonl', () => many), { inserted: 3_000, updated: 0 });
        const ids = (await repos.records.allIncidents()).map((r) => r.id).filter((id) => id.startsWith('bulk:'));
        assert.deepEqual(ids, many.map((r) => r.id));
        assert.equal(await repos.records.removeOrigin('file:bulk'), 3_000);
      });

      it('removes by origin and keeps settings', async () => {
        assert.equal(await repos.records.removeOrigin('file:one'), 1, 'test:a was last imported by file:two');
        assert.deepEqual((await repos.records.allIncidents()).map((r) => r.id), ['test:a', 'test:c']);
        assert.equal(await repos.records.getMeta('k'), undefined);
        await repos.records.setMeta('k', 'v1');
        await repos.records.setMeta('k', 'v2');
        assert.equal(await repos.records.getMeta('k'), 'v2');
      });
    });

    describe('sources', () => {
      it('replaces a version in one transaction: an error part-way leaves the previous version and its state whole', async () => {
        await repos.sources.replaceRecords(source('a'), [record('test:1'), record('test:2')].map(toSourceRecordRow), { ...info, etag: '"v1"' });
        const rows = [record('test:3'), record('test:4'), record('test:3')].map(toSourceRecordRow);
        await assert.rejects(repos.sources.replaceRecords(source('a'), rows, { ...info, etag: '"v2"' }), /"test:3" appears twice/);
        await assert.rejects(
          db.transaction(async () => {
            await repos.sources.replaceRecords(source('a'), [record('test:9')].map(toSourceRecordRow), { ...info, etag: '"v3"' });
            throw new Error('crash before commit');
          }),
          /crash before commit/,
        );
        assert.deepEqual((await repos.sources.allRecords()).map((i) => i.id), ['test:1', 'test:2']);
        const state = await repos.sources.state('a');
        assert.equal(state?.etag, '"v1"');
        assert.equal(state?.recordCount, 2);
      });

      it('returns the delta: added, updated (changed content), unchanged and removed ids, with progress to the end', async () => {
        await repos.sources.replaceRecords(source('d'), [record('test:1'), record('test:2'), record('test:3')].map(toSourceRecordRow), info);
        const progress: number[] = [];
        const delta = await repos.sources.replaceRecords(
          source('d'),
          [record('test:1'), record('test:2', 'Renamed'), record('test:4')].map(toSourceRecordRow),
          info,
          (done, total) => progress.push(done / total),
        );
        assert.deepEqual(delta, { added: ['test:4'], updated: ['test:2'], unchanged: 1, removed: ['test:3'] });
        assert.equal(progress.at(-1), 1);
        assert.equal((await repos.sources.recordCounts()).get('d'), 3);
        assert.equal(await repos.sources.forget('d'), 3);
      });

      it('keeps one row per (source, id): the later source name wins a lookup, and dropping it leaves the other', async () => {
        await repos.sources.replaceRecords(source('b'), [record('test:1', 'From b')].map(toSourceRecordRow), info);
        assert.equal((await repos.sources.recordsById(['test:1'])).get('test:1')?.title, 'From b');
        assert.deepEqual((await repos.sources.allRecords()).filter((i) => i.id === 'test:1').map((i) => i.title), ['Record test:1', 'From b']);
        await repos.sources.replaceRecords(source('b'), [record('test:5')].map(toSourceRecordRow), info);
        assert.equal((await repos.sources.recordsById(['test:1'])).get('test:1')?.title, 'Record test:1');
      });

      it('records failures without touching records or validators, and clears them on the next success', async () => {
        clock = 5_000;
        await repos.sources.markFailed(source('a'), 'HTTP 500');
        await repos.sources.markFailed(source('a'), `HTTP 502 ${'x'.repeat(1_000)}`);
        let s = (await repos.sources.state('a'))!;
        assert.deepEqual([s.lastError?.length, s.consecutiveFailures, s.etag, s.recordCount, s.lastErrorAt], [500, 2, '"v1"', 2, 5_000]);
        await repos.sources.markUnchanged(source('a'), { lastModified: 'Tue, 01 Dec 2026 00:00:00 GMT' });
        s = (await repos.sources.state('a'))!;
        assert.deepEqual([s.lastError, s.consecutiveFailures, s.lastSuccessAt, s.etag, s.lastModified], [undefined, 0, 5_000, '"v1"', 'Tue, 01 Dec 2026 00:00:00 GMT']);
        assert.deepEqual((await repos.sources.states()).map((x) => x.name), ['a', 'b']);
        const stats = await repos.sources.stats();
        assert.equal(stats.n, 3);
        assert.equal(typeof stats.t, 'number');
      });

      it('replaces a large version in slices, and forgets a source with its records', async () => {
        const rows = Array.from({ length: 2_500 }, (_, i) => toSourceRecordRow(record(`big:${i}`)));
        const delta = await repos.sources.replaceRecords(source('big'), rows, info);
        assert.equal(delta.added.length, 2_500);
        assert.equal((await repos.sources.replaceRecords(source('big'), rows.slice(0, 100), info)).removed.length, 2_400);
        assert.equal(await repos.sources.forget('big'), 100);
        assert.equal(await repos.sources.state('big'), undefined);
      });
      it('imports a downloaded version through the sync worker, on a connection of its own to the same database', async () => {
        const target: ImportTarget =
          db.kind === 'postgres'
            ? { kind: 'postgres', url: TEST_DATABASE_URL, schema: (await db.one<{ s: string }>('SELECT current_schema() AS s'))!.s }
            : { kind: 'sqlite', path: (await db.one<{ file: string }>("SELECT file FROM pragma_database_list WHERE name = 'main'"))!.file };
        const importer = createImporter(target);
        try {
          const body = new TextEncoder().encode([record('worker:1'), record('worker:2')].map((r) => JSON.stringify(r)).join('\n'));
          const outcome = await importer.import({ source: source('w'), body, validators: { etag: '"w1"' }, bodyHash: 'hw' });
          assert.deepEqual(outcome.delta.added, ['worker:1', 'worker:2']);
          assert.deepEqual([...(await repos.sources.recordsById(['worker:2'])).keys()], ['worker:2'], 'written where this connection reads');
          assert.equal((await repos.sources.state('w'))?.etag, '"w1"');
          await assert.rejects(importer.import({ source: source('w'), body: new TextEncoder().encode(''), validators: {}, bodyHash: 'h0' }), /no records/);
          assert.equal((await repos.sources.state('w'))?.recordCount, 2, 'a refused version keeps the stored one');
        } finally {
          await importer.close();
        }
        assert.equal(await repos.sources.forget('w'), 2);
      });
    });

    describe('relations', () => {
      const graph = Graph.build(
        [
          { from: 'attack:C1', type: 'attributed-to', to: 'attack:G1' },
          { from: 'attack:C1', type: 'uses', to: 'attack:S1' },
          { from: 'attack:G1', type: 'uses', to: 'attack:S1' },
          { from: 'attack:G1', type: 'attributed-to', to: 'country:RU' },
          { from: 'attack:G1', type: 'same-as', to: 'misp:G1' },
        ],
        [['country:RU', 'Russia']],
      );

      it('are written as a new generation, skipped for the same inputs, and read in both directions', async () => {
        assert.equal(await repos.relations.save(graph, 'one'), true);
        assert.equal(await repos.relations.save(graph, 'one'), false, 'same inputs: nothing written');
        assert.equal((await repos.relations.read()).length, 5);
        assert.deepEqual((await repos.relations.read({ from: 'attack:C1' })).map((r) => `${r.type} ${r.to}`), ['attributed-to attack:G1', 'uses attack:S1'], 'outgoing');
        assert.deepEqual((await repos.relations.read({ to: 'attack:S1', type: 'uses' })).map((r) => r.from), ['attack:C1', 'attack:G1'], 'incoming');
        assert.equal(await repos.relations.label('country:RU'), 'Russia');
        assert.equal(await repos.relations.stored('other'), undefined);
        const stored = (await repos.relations.stored('one'))!;
        assert.equal(stored.size, 5);
        assert.deepEqual(stored.sameAs, [{ from: 'attack:G1', type: 'same-as', to: 'misp:G1' }]);
        assert.deepEqual(await stored.labels(), [['country:RU', 'Russia']]);
        const first = await stored.slice(undefined, 2);
        const rest = await stored.slice(first.at(-1), 10);
        assert.deepEqual([...first, ...rest], await repos.relations.read(), 'keyset slices walk the same order as a full read');
      });

      it('a new generation replaces the old one, written in slices when large', async () => {
        const n = RELATION_ROWS_PER_SLICE + 7;
        const big = Graph.build(Array.from({ length: n }, (_, i) => ({ from: `a:${String(i).padStart(6, '0')}`, type: 'uses' as const, to: 'attack:S1' })));
        assert.equal(await repos.relations.save(big, 'two'), true);
        assert.equal((await repos.relations.read()).length, n);
        assert.equal(await repos.relations.label('country:RU'), undefined);
        const left = await db.one<{ n: number }>('SELECT count(*) AS n FROM relations');
        assert.equal(left?.n, n, 'the old generation is gone');
        assert.equal((await repos.relations.read({ to: 'attack:S1' })).length, n);
      });
    });

    describe('Slack installations', () => {
      const install = (team: string, token: string) => ({
        teamId: team,
        isEnterpriseInstall: false,
        teamName: `Team ${team}`,
        scopes: ['app_mentions:read', 'chat:write'],
        installation: { team: { id: team }, bot: { token } },
      });

      it('saves, finds and deletes per workspace, lists without tokens, keeps the first install time on re-install', async () => {
        clock = 10_000;
        await repos.installations.save(install('T1', 'xoxb-one'));
        await repos.installations.save(install('T2', 'xoxb-two'));
        clock = 20_000;
        await repos.installations.save(install('T1', 'xoxb-one-new'));
        assert.deepEqual((await repos.installations.find({ teamId: 'T1', isEnterpriseInstall: false }))?.installation, { team: { id: 'T1' }, bot: { token: 'xoxb-one-new' } });
        assert.equal(((await repos.installations.find({ teamId: 'T2', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, 'xoxb-two');
        const list = await repos.installations.list();
        assert.deepEqual(list.map((i) => [i.teamId, i.installedAt, i.updatedAt, i.scopes]), [
          ['T1', new Date(10_000).toISOString(), new Date(20_000).toISOString(), ['app_mentions:read', 'chat:write']],
          ['T2', new Date(10_000).toISOString(), new Date(10_000).toISOString(), ['app_mentions:read', 'chat:write']],
        ]);
        assert.ok(!JSON.stringify(list).includes('xoxb'), 'no token in the list');
        assert.equal(await repos.installations.delete({ teamId: 'T1', isEnterpriseInstall: false }), true);
        assert.equal(await repos.installations.delete({ teamId: 'T1', isEnterpriseInstall: false }), false);
        assert.equal(await repos.installations.find({ teamId: 'T1', isEnterpriseInstall: false }), undefined);
        assert.equal(await repos.installations.count(), 1, "the other workspace's install stays");
      });

      it('seals tokens with a key (rows written before it are sealed on first read) and refuses another key', async () => {
        const key = Buffer.alloc(32, 7);
        const sealed = openRecordRepos(db, { now: () => clock, sealer: createTextSealer(key) }).installations;
        await sealed.save(install('T3', 'xoxb-three'));
        const raw = await db.one<{ data: string }>('SELECT data FROM slack_installations WHERE key = ?', ['team:T3']);
        assert.ok(!raw!.data.includes('xoxb'), 'no token at rest');
        assert.equal(((await sealed.find({ teamId: 'T2', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, 'xoxb-two');
        const resealed = await db.one<{ data: string }>('SELECT data FROM slack_installations WHERE key = ?', ['team:T2']);
        assert.match(resealed!.data, /^sealed:v1:/);
        const other = openRecordRepos(db, { sealer: createTextSealer(Buffer.alloc(32, 8)) }).installations;
        await assert.rejects(other.find({ teamId: 'T3', isEnterpriseInstall: false }), /SLACK_TOKEN_ENCRYPTION_KEY/);
      });
    });

    describe('conversations', () => {
      it('keep a context for its key until CONVERSATION_TTL_MS after it was saved, then forget it', async () => {
        let now = 1_000_000;
        const conversations = openRecordRepos(db, { now: () => now }).conversations;
        await conversations.set('discord:c1', { recordId: 'test:a', itemIds: ['test:a', 'test:c'], query: 'ransomware', at: now });
        await conversations.set('slack:T1:c1:1.2', { recordId: 'test:c', at: now });
        assert.deepEqual(await conversations.get('discord:c1'), { recordId: 'test:a', itemIds: ['test:a', 'test:c'], query: 'ransomware', at: 1_000_000 });
        const replica = openRecordRepos(db, { now: () => now }).conversations;
        assert.equal((await replica.get('slack:T1:c1:1.2'))?.recordId, 'test:c', 'another replica on the same database resolves it');
        now += CONVERSATION_TTL_MS;
        assert.equal((await conversations.get('discord:c1'))?.recordId, 'test:a', 'still there at the limit');
        now += 1;
        assert.equal(await conversations.get('discord:c1'), undefined, 'expired');
        await conversations.set('discord:c1', { recordId: 'test:b', at: now });
        assert.equal((await conversations.get('discord:c1'))?.recordId, 'test:b', 'a new answer starts a new context');
        const rows = await db.query<{ key: string }>('SELECT key FROM conversations ORDER BY key');
        assert.deepEqual(rows.map((r) => r.key), ['discord:c1'], 'a later save sweeps expired rows');
        assert.equal(await conversations.get('console:none'), undefined);
      });
    });
  });
}
