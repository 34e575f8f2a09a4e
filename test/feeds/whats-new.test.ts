import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import { loadService, snapshotPathFor } from '../../src/bootstrap.js';
import { createLogger } from '../../src/logger.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { createServedService } from '../../src/core/create-service.js';
import { parseIncident, type Incident } from '../../src/core/incident.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { buildServed } from '../../src/core/served.js';
import { createAlertsService } from '../../src/feeds/alerts-service.js';
import { createPipeline, ingestFeed, postIdFor, type PipelineDeps } from '../../src/feeds/pipeline.js';
import type { Actor, FeedItem, ParsedFeed } from '../../src/feeds/types.js';
import type { FeedRow } from '../../src/store/repos/feeds.js';
import { storageOverStore, type Storage } from '../../src/store/storage.js';
import { openStore, type Store } from '../../src/store/store.js';

// Made-up records and feeds: a group, a campaign attributed to it whose report a feed later links to, and another group.
const RECORDS: Incident[] = [
  parseIncident({ id: 'test:G9', kind: 'group', title: 'Zorblax Spider', aliases: ['Widget Bear'], summary: 'Zorblax Spider is a financially motivated group.', sources: [{ url: 'https://intel.example/zorblax' }] }),
  parseIncident({ id: 'test:G8', kind: 'group', title: 'Mellow Finch', summary: 'Mellow Finch is an espionage group.', sources: [{ url: 'https://intel.example/finch' }] }),
  parseIncident({
    id: 'test:C9', kind: 'incident', title: 'Operation Dim Lantern', date: { value: '2024-03', precision: 'month' },
    summary: 'Operation Dim Lantern was an intrusion set against freight firms.', tags: ['attributed-to:Zorblax Spider'], sources: [{ url: 'https://intel.example/dim-lantern' }],
  }),
];

const T0 = Date.UTC(2025, 6, 10, 12);
const HOUR = 3_600_000;
const A: Actor = { tenant: 'discord:1100000000000000002', platform: 'discord', userId: '1100000000000000004' };
const B = 'discord:1200000000000000002';
/** Words that make each follow-up headline of one story its own item while it stays the same story. */
const EXTRA = ['again', 'widely', 'officials', 'analysts', 'investigators', 'insurers', 'regulators', 'customers', 'partners', 'auditors', 'police', 'lawyers'];

let dir: string;
let n = 0;
let store: Store;
let feeds: Storage;
let service: IncidentService;

function item(link: string, title: string, hoursAgo: number): FeedItem {
  return { key: link, guid: link, link, title, summary: `${title}.`, published: new Date(T0 - hoursAgo * HOUR).toISOString(), authors: [], categories: [] };
}
const doc = (items: FeedItem[]): ParsedFeed => ({ format: 'rss', title: 'Outlet', items });
const ingest = async (feed: FeedRow, items: FeedItem[], deps: PipelineDeps) => ingestFeed((await feeds.feeds.get(feed.id))!, doc(items), deps);

function ctxFor(tenant: string | undefined, conversation: string): CommandContext {
  return {
    incidents: service,
    commands: COMMANDS,
    conversations: createMemoryConversationStore(),
    canSee: feeds.tenants.visibility(tenant),
    channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation },
  };
}

async function ask(ctx: CommandContext, query: string, cursor?: string): Promise<Answer> {
  const reply = await findCommand('incident')!.handle({ options: { query }, ...(cursor ? { cursor } : {}) }, ctx);
  assert.equal(reply.type, 'answer');
  return (reply as { answer: Answer }).answer;
}

/** Every page of a list answer, in order. */
async function allPages(ctx: CommandContext, query: string): Promise<{ first: Answer; ids: string[] }> {
  const first = await ask(ctx, query);
  const ids = (first.items ?? []).map((i) => i.id);
  for (let page = first; page.cursor; ) {
    page = await ask(ctx, query, page.cursor);
    ids.push(...(page.items ?? []).map((i) => i.id));
  }
  return { first, ids };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-whats-new-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  store = openStore(join(dir, `w-${++n}.db`));
  feeds = await storageOverStore(store);
  service = createServedService(buildServed({ bundled: [], files: RECORDS }));
});
afterEach(() => store.close());

describe("what's new about something: feed posts beside the records", () => {
  /**
   * Two operator feeds and a tenant's private one: a story about the group (a record of its own), the same story told
   * again by the other feed in twelve posts (no records: they join the story), a post linking the campaign's report
   * (joins the campaign), and the private feed's post about the group.
   */
  async function ingestAll() {
    const deps = await createPipeline({ storage: feeds, service, now: () => T0, incidents: RECORDS });
    const alerts = createAlertsService({ storage: feeds, allowPrivate: true, now: () => T0 });
    const one = (await feeds.feeds.add({ url: 'https://one.example/feed', name: 'One' }, T0)).feed;
    const two = (await feeds.feeds.add({ url: 'https://two.example/feed', name: 'Two' }, T0)).feed;
    const priv = (await feeds.feeds.get((await alerts.addFeed(A, { url: 'https://private.example/feed', name: 'Private' })).feed.id))!;
    for (const f of [one, two, priv]) await ingest(f, [], deps);
    await ingest(one, [item('https://one.example/zorblax-ports', 'Zorblax Spider claims breach of Acme Ports', 72)], deps);
    const retold = EXTRA.map((w, i) => item(`https://two.example/ports-${i}`, `Zorblax Spider claims breach of Acme Ports, ${w} say`, 60 - i));
    await ingest(two, [...retold, item('https://intel.example/dim-lantern', 'Fresh details on the Dim Lantern intrusions', 30)], deps);
    await ingest(priv, [item('https://private.example/z', 'Zorblax Spider hits a private Acme subsidiary', 2)], deps);
    return {
      story: postIdFor(one.url, 'https://one.example/zorblax-ports'),
      retold: retold.map((i) => postIdFor(two.url, i.key)),
      lantern: postIdFor(two.url, 'https://intel.example/dim-lantern'),
      privatePost: postIdFor(priv.url, 'https://private.example/z'),
    };
  }

  it('lists the newest posts and records about a group, with a total and pages, and no tenant sees another\'s private posts', async () => {
    const { story, retold, lantern, privatePost } = await ingestAll();
    const attached = store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM posts WHERE id <> incident_id').get()!.n;
    assert.equal(attached, retold.length + 1, 'the retold story and the report link joined known records');

    const other = await allPages(ctxFor(B, 'b'), 'anything new about Zorblax Spider lately?');
    assert.equal(other.first.status, 'list');
    assert.equal(other.first.intent, 'latest');
    assert.equal(other.first.items!.length, 10);
    // Newest first: the post linking the campaign's report, the retold story, the story's own record, the campaign.
    assert.equal(other.ids[0], lantern);
    assert.deepEqual(new Set(other.ids.slice(1, 1 + retold.length)), new Set(retold));
    assert.deepEqual(other.ids.slice(-2), [story, 'test:C9']);
    assert.equal(other.first.total, retold.length + 3);
    assert.equal(new Set(other.ids).size, other.ids.length, 'pages do not overlap');
    assert.ok(!other.ids.includes(privatePost), "another tenant never sees a private feed's post");
    const shown = other.first.items!.find((i) => i.id === lantern)!;
    assert.equal(shown.title, 'Fresh details on the Dim Lantern intrusions');
    assert.equal(shown.url, 'https://intel.example/dim-lantern');
    assert.equal(shown.date, '9 July 2025');

    const dm = await allPages(ctxFor(undefined, 'dm'), 'recent news on widget bear');
    assert.ok(!dm.ids.includes(privatePost), 'nor does a direct message');
    assert.equal(dm.ids[0], lantern, 'an alias names the group too');

    const owner = await allPages(ctxFor(A.tenant, 'a'), 'anything new about Zorblax Spider lately?');
    assert.equal(owner.ids[0], privatePost, 'the feed\'s owner sees its post, newest first');
    assert.equal(owner.first.total, retold.length + 4);
  });

  it('a list by time alone shows the posts too, and a pruned post leaves the lists', async () => {
    const { retold, lantern, privatePost } = await ingestAll();
    const ctx = ctxFor(B, 'time');
    const { ids } = await allPages(ctx, 'anything recent?');
    for (const id of [lantern, ...retold]) assert.ok(ids.includes(id), id);
    assert.ok(!ids.includes(privatePost));
    service.remove([lantern]);
    const after = await allPages(ctx, 'anything recent?');
    assert.ok(!after.ids.includes(lantern));
  });

  it('a listed post stands for the story it reports in a follow-up', async () => {
    const { lantern } = await ingestAll();
    const ctx = ctxFor(B, 'follow');
    const list = await ask(ctx, 'anything new about Zorblax Spider lately?');
    assert.equal(list.items![0].id, lantern);
    const first = await ask(ctx, 'tell me more about the first one');
    assert.equal(first.incident?.id, 'test:C9');
  });

  it('posts stored before a restart are listed after it, whether start-up builds or loads its snapshot', async () => {
    store.importIncidents(RECORDS, { origin: 'file:made-up.jsonl', format: 'jsonl' });
    const { lantern, retold } = await ingestAll();
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (l: string) => void lines.push(l) });
    const built = await loadService(store, logger);
    await built.graphStored;
    // The snapshot is written after start-up returns (renamed into place whole): wait for it, then start again.
    const file = snapshotPathFor(store.path)!;
    for (let i = 0; i < 250 && !existsSync(file); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const loaded = await loadService(store, logger);
    assert.ok(lines.some((l) => l.includes('loaded from the served snapshot')), 'the second start-up loaded the snapshot');
    for (const started of [built, loaded]) {
      service = started;
      const { ids } = await allPages(ctxFor(B, 'restart'), 'anything new about Zorblax Spider lately?');
      assert.equal(ids[0], lantern);
      assert.ok(retold.every((id) => ids.includes(id)));
    }
  });
});
