import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { IncidentValidationError, type Incident, type IncidentInput } from '../../src/core/incident.js';
import { applyMigrations, MIGRATIONS, SCHEMA_VERSION, type Migration } from '../../src/store/migrations.js';
import { DEFAULT_DATABASE_PATH, openStore, StoreError, type Store } from '../../src/store/store.js';

let dir: string;
let counter = 0;
/** A fresh database path in this run's temp dir (a nested folder, so openStore must create it). */
const freshPath = (): string => join(dir, `case-${++counter}`, 'nested', 'store.db');

/** A small valid incident; overrides replace top-level fields. */
function buildIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'test:alpha',
    kind: 'incident',
    title: 'Alpha breach',
    date: { value: '2021-03-09', precision: 'day' },
    aliases: [],
    summary: 'A test incident.',
    sources: [{ url: 'https://example.org/alpha', title: 'Alpha report' }],
    tags: ['type:breach'],
    entities: { actors: ['Group A'], victims: [], software: [], cves: ['CVE-2021-12345'], countries: ['FR'] },
    related: [],
    ...overrides,
  };
}

/** Opens a store, runs fn, and always closes it so the temp dir can be removed. */
function withStore<T>(path: string, fn: (store: Store) => T): T {
  const store = openStore(path);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-store-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openStore and migrations', () => {
  it('exports the default path that config falls back to', () => {
    assert.equal(DEFAULT_DATABASE_PATH, './var/incident-bot.db');
  });

  it('creates the parent directory, turns on WAL and sets user_version to the schema version', () => {
    const path = freshPath();
    withStore(path, (store) => assert.equal(store.path, path));
    assert.ok(existsSync(path));
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const tables = raw
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all()
        .map((r) => r.name);
      for (const t of ['imports', 'incidents', 'meta']) assert.ok(tables.includes(t), `table ${t} missing from ${tables.join(', ')}`);
    } finally {
      raw.close();
    }
  });

  it('runs each migration once', () => {
    const raw = new Database(':memory:');
    try {
      assert.deepEqual(applyMigrations(raw), MIGRATIONS.map((m) => m.version));
      assert.deepEqual(applyMigrations(raw), []);
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      raw.close();
    }
    // Reopening an existing file must not re-run step 1 (CREATE TABLE would fail if it did).
    const path = freshPath();
    withStore(path, () => {});
    withStore(path, (store) => assert.equal(store.countIncidents().total, 0));
  });

  it('rolls back a failing migration step, keeping the earlier steps and their version', () => {
    const steps: Migration[] = [
      { version: 1, name: 'ok', sql: 'CREATE TABLE a (x TEXT);' },
      { version: 2, name: 'broken', sql: 'CREATE TABLE b (x TEXT); INSERT INTO nowhere VALUES (1);' },
    ];
    const raw = new Database(':memory:');
    try {
      assert.throws(() => applyMigrations(raw, steps), /nowhere/);
      assert.equal(raw.pragma('user_version', { simple: true }), 1);
      const names = raw.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name);
      assert.deepEqual(names, ['a']);
    } finally {
      raw.close();
    }
  });

  it('refuses a database written by a newer schema, naming the file', () => {
    const path = freshPath();
    withStore(path, () => {});
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    assert.throws(
      () => openStore(path),
      (err: unknown) => err instanceof StoreError && err.message.includes(path) && /newer/.test(err.message),
    );
  });

  it('reports an unusable path as a StoreError that names it and DATABASE_PATH', () => {
    const blocker = join(dir, `blocker-${++counter}`);
    writeFileSync(blocker, 'a regular file where a directory is needed');
    const path = join(blocker, 'store.db');
    assert.throws(
      () => openStore(path),
      (err: unknown) =>
        err instanceof StoreError && err.path === path && err.message.includes(path) && err.message.includes('DATABASE_PATH'),
    );
    const garbage = join(dir, `garbage-${++counter}.db`);
    writeFileSync(garbage, 'this is not an SQLite database, just text long enough to have a header '.repeat(20));
    assert.throws(() => openStore(garbage), (err: unknown) => err instanceof StoreError && err.message.includes('DATABASE_PATH'));
  });
});

describe('importing and reading', () => {
  it('survives a restart: records, bodies, meta and the import log are still there', () => {
    const path = freshPath();
    const records = [
      buildIncident({ id: 'test:a', body: 'Long text about A.\n\nSecond paragraph.' }),
      buildIncident({ id: 'test:b', kind: 'group', title: 'Group B', date: null }),
    ];
    withStore(path, (store) => {
      assert.deepEqual(store.importIncidents(records, { origin: 'seed', format: 'json' }), { inserted: 2, updated: 0 });
      store.setMeta('seed.version', '3');
    });
    withStore(path, (store) => {
      assert.deepEqual(store.allIncidents(), records);
      assert.equal(store.getMeta('seed.version'), '3');
      const log = store.imports();
      assert.equal(log.length, 1);
      assert.deepEqual({ ...log[0], importedAt: undefined }, { id: 1, origin: 'seed', format: 'json', count: 2, importedAt: undefined });
      assert.ok(!Number.isNaN(Date.parse(log[0].importedAt)));
    });
  });

  it('applies schema defaults on import, so partial input is stored complete', () => {
    withStore(freshPath(), (store) => {
      const input: IncidentInput = { id: 'test:min', kind: 'software', title: 'Minimal', summary: 'Only the required fields.' };
      store.importIncidents([input], { origin: 'seed', format: 'json' });
      const got = store.getIncident('test:min');
      assert.deepEqual(got?.entities, { actors: [], victims: [], software: [], cves: [], countries: [] });
      assert.equal(got?.date, null);
      assert.equal(got?.body, undefined);
    });
  });

  it('upserts by id: a second import replaces the record and counts it as updated', () => {
    withStore(freshPath(), (store) => {
      store.importIncidents([buildIncident({ id: 'test:a' }), buildIncident({ id: 'test:b' })], { origin: 'seed', format: 'json' });
      const result = store.importIncidents(
        [buildIncident({ id: 'test:a', title: 'Alpha, revised', kind: 'vulnerability' }), buildIncident({ id: 'test:c' })],
        { origin: 'file:extra.yaml', format: 'yaml' },
      );
      assert.deepEqual(result, { inserted: 1, updated: 1 });
      assert.equal(store.getIncident('test:a')?.title, 'Alpha, revised');
      assert.deepEqual(store.countIncidents(), {
        total: 3,
        byKind: { incident: 2, group: 0, software: 0, vulnerability: 1 },
      });
      assert.deepEqual(store.imports().map((r) => [r.origin, r.format, r.count]), [
        ['seed', 'json', 2],
        ['file:extra.yaml', 'yaml', 2],
      ]);
    });
  });

  it('keeps bodies in their own column and round-trips them', () => {
    const path = freshPath();
    const body = 'Paragraph one — with unicode ✓ and "quotes".\n\n' + 'x'.repeat(20_000);
    withStore(path, (store) => {
      store.importIncidents([buildIncident({ id: 'test:long', body }), buildIncident({ id: 'test:short' })], {
        origin: 'seed',
        format: 'json',
      });
      assert.equal(store.getBody('test:long'), body);
      assert.equal(store.getIncident('test:long')?.body, body);
      assert.equal(store.getBody('test:short'), undefined);
      assert.equal(store.getBody('test:unknown'), undefined);
      assert.equal(store.getIncident('test:unknown'), undefined);
    });
    const raw = new Database(path, { readonly: true });
    try {
      const row = raw.prepare<[string], { data: string; body: string }>('SELECT data, body FROM incidents WHERE id = ?').get('test:long');
      assert.equal(row?.body, body);
      assert.equal('body' in JSON.parse(row!.data), false);
    } finally {
      raw.close();
    }
  });

  it('removeOrigin deletes only the records last imported from that origin', () => {
    withStore(freshPath(), (store) => {
      store.importIncidents([buildIncident({ id: 'test:a' }), buildIncident({ id: 'test:b' })], { origin: 'feed:one', format: 'rss' });
      store.importIncidents([buildIncident({ id: 'test:c' }), buildIncident({ id: 'test:b' })], { origin: 'feed:two', format: 'rss' });
      assert.equal(store.removeOrigin('feed:one'), 1);
      assert.deepEqual(store.allIncidents().map((i) => i.id), ['test:b', 'test:c']);
      assert.equal(store.removeOrigin('feed:none'), 0);
    });
  });

  it('stores and replaces meta values', () => {
    withStore(freshPath(), (store) => {
      assert.equal(store.getMeta('k'), undefined);
      store.setMeta('k', 'one');
      store.setMeta('k', 'two');
      assert.equal(store.getMeta('k'), 'two');
    });
  });

  it('re-validates rows on read and names the record when one was tampered with', () => {
    const path = freshPath();
    withStore(path, (store) => store.importIncidents([buildIncident({ id: 'test:a' })], { origin: 'seed', format: 'json' }));
    const raw = new Database(path);
    raw.prepare("UPDATE incidents SET data = json_set(data, '$.kind', 'rumour') WHERE id = 'test:a'").run();
    raw.close();
    withStore(path, (store) => {
      assert.throws(() => store.allIncidents(), (err: unknown) => err instanceof IncidentValidationError && /test:a.*kind/.test(err.message));
    });
  });
});

describe('atomic imports', () => {
  const seed = [buildIncident({ id: 'test:a', title: 'Original A' }), buildIncident({ id: 'test:b' })];

  it('an invalid record anywhere in the batch leaves the previous content intact', () => {
    withStore(freshPath(), (store) => {
      store.importIncidents(seed, { origin: 'seed', format: 'json' });
      const batch = [
        buildIncident({ id: 'test:a', title: 'Changed A' }),
        buildIncident({ id: 'test:new' }),
        { ...buildIncident({ id: 'test:bad' }), sources: [{ url: 'javascript:alert(1)' }] },
      ];
      assert.throws(
        () => store.importIncidents(batch, { origin: 'file:bad.json', format: 'json' }),
        (err: unknown) => err instanceof IncidentValidationError && /record 3 \(test:bad\)/.test(err.message),
      );
      assert.deepEqual(store.allIncidents(), seed);
      assert.equal(store.imports().length, 1);
    });
  });

  it('a producer that throws half-way (after a nested import) leaves the store as it was', () => {
    withStore(freshPath(), (store) => {
      store.importIncidents(seed, { origin: 'seed', format: 'json' });
      assert.throws(
        () =>
          store.importWith('file:broken.yaml', 'yaml', () => {
            store.importIncidents([buildIncident({ id: 'test:a', title: 'Half-way A' })], { origin: 'partial', format: 'yaml' });
            store.setMeta('partial', 'yes');
            throw new SyntaxError('unexpected end of YAML at line 40');
          }),
        SyntaxError,
      );
      assert.deepEqual(store.allIncidents(), seed);
      assert.equal(store.getMeta('partial'), undefined);
      assert.deepEqual(store.imports().map((r) => r.origin), ['seed']);
    });
  });

  it('importWith commits when the producer succeeds', () => {
    withStore(freshPath(), (store) => {
      const result = store.importWith('file:ok.json', 'json', () => [buildIncident({ id: 'test:x' })]);
      assert.deepEqual(result, { inserted: 1, updated: 0 });
      assert.deepEqual(store.imports().map((r) => [r.origin, r.format, r.count]), [['file:ok.json', 'json', 1]]);
    });
  });

  it('runInTransaction returns the result and rolls back on throw', () => {
    withStore(freshPath(), (store) => {
      assert.equal(store.runInTransaction(() => (store.setMeta('a', '1'), 42)), 42);
      assert.throws(() => store.runInTransaction(() => (store.setMeta('a', '2'), store.setMeta('b', '2'), assert.fail('boom'))));
      assert.equal(store.getMeta('a'), '1');
      assert.equal(store.getMeta('b'), undefined);
    });
  });

  it('rejects an empty origin before writing anything', () => {
    withStore(freshPath(), (store) => {
      assert.throws(() => store.importIncidents([buildIncident()], { origin: ' ', format: 'json' }), TypeError);
      assert.equal(store.countIncidents().total, 0);
    });
  });
});

describe('volume', () => {
  it('imports 3,000 generated incidents in one transaction', (t) => {
    const kinds = ['incident', 'group', 'software', 'vulnerability'] as const;
    const records = Array.from({ length: 3000 }, (_, i) =>
      buildIncident({
        id: `gen:${i}`,
        kind: kinds[i % 4],
        title: `Generated incident ${i}`,
        body: i % 3 === 0 ? `Body of ${i}. `.repeat(50) : undefined,
      }),
    );
    const path = freshPath();
    withStore(path, (store) => {
      let started = performance.now();
      const result = store.importIncidents(records, { origin: 'gen', format: 'generated' });
      const importMs = performance.now() - started;
      assert.deepEqual(result, { inserted: 3000, updated: 0 });

      started = performance.now();
      const again = store.importIncidents(records, { origin: 'gen', format: 'generated' });
      const reimportMs = performance.now() - started;
      assert.deepEqual(again, { inserted: 0, updated: 3000 });

      started = performance.now();
      const all = store.allIncidents();
      const readMs = performance.now() - started;
      assert.equal(all.length, 3000);
      assert.deepEqual(store.countIncidents().byKind, { incident: 750, group: 750, software: 750, vulnerability: 750 });
      assert.equal(store.getBody('gen:2997'), `Body of 2997. `.repeat(50));
      t.diagnostic(
        `3,000 incidents: import ${importMs.toFixed(0)} ms, re-import (all updates) ${reimportMs.toFixed(0)} ms, ` +
          `allIncidents ${readMs.toFixed(0)} ms`,
      );
    });
  });
});
