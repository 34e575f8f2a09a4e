import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Answer } from '../../src/core/answer-model.js';
import type { IncidentService } from '../../src/core/incident-service.js';
import { createMetrics, MAX_FEED_SERIES, withAnswerTiming } from '../../src/observability/index.js';
import { buildAnswer, createFakeIncidentService } from '../support/fake-discord-service.js';

/** The sample lines of an exposition (comments dropped). */
const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
/** The value of the one sample whose line starts with `prefix` (name and labels), or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const line = samples(text).find((l) => {
    if (!l.startsWith(`${name}{`) && !l.startsWith(`${name} `)) return false;
    return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
  });
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics registry', () => {
  it('keeps each app in a registry of its own, every series labelled with its replica, process metrics included', async () => {
    // prom-client's global registry would throw "already registered" on the second one.
    const a = createMetrics({ replica: 'replica-a' });
    const b = createMetrics({ replica: 'replica-b' });
    a.answered('found', 'lookup', 0.002);
    const textA = (await a.render()).body;
    const textB = (await b.render()).body;
    assert.ok(samples(textA).length > 20, 'default process metrics are there');
    assert.ok(samples(textA).every((l) => l.includes('replica="replica-a"')), 'every series of a carries replica-a');
    assert.ok(samples(textB).every((l) => l.includes('replica="replica-b"')), 'every series of b carries replica-b');
    assert.ok(value(textA, 'process_cpu_user_seconds_total') !== undefined, 'process CPU is exported');
    assert.equal(value(textA, 'incident_bot_answer_duration_seconds_count', { status: 'found', intent: 'lookup' }), 1);
    assert.equal(value(textB, 'incident_bot_answer_duration_seconds_count', { status: 'found', intent: 'lookup' }), undefined, 'b did not see a\'s answer');
    assert.match((await a.render()).contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('bounds label values: code words pass, anything else is "other"; a missing intent is "unknown"', async () => {
    const m = createMetrics({ replica: 'r', defaultMetrics: false });
    m.answered('not-found', undefined, 0.01);
    m.answered('Some query typed by a user', 'lookup', 0.01);
    m.delivered('discord', 'sent');
    m.delivered('https://hooks.example.com/x', 'sent');
    const text = (await m.render()).body;
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'not-found', intent: 'unknown' }), 1);
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'other', intent: 'lookup' }), 1);
    assert.doesNotMatch(text, /typed by a user|hooks\.example/);
    assert.equal(value(text, 'incident_bot_alert_deliveries_total', { platform: 'discord', outcome: 'sent' }), 1);
    assert.equal(value(text, 'incident_bot_alert_deliveries_total', { platform: 'other', outcome: 'sent' }), 1);
  });

  it(`labels at most ${MAX_FEED_SERIES} feeds one by one; later ones share feed="other"; skipped polls are not counted`, async () => {
    const m = createMetrics({ replica: 'r', defaultMetrics: false });
    for (let id = 1; id <= MAX_FEED_SERIES + 20; id++) m.polled({ feedId: id, status: 'ok' });
    m.polled({ feedId: 1, status: 'error' });
    m.polled({ feedId: 2, status: 'skipped' });
    const text = (await m.render()).body;
    const feeds = new Set(samples(text).filter((l) => l.startsWith('incident_bot_feed_polls_total')).map((l) => /feed="([^"]+)"/.exec(l)![1]));
    assert.equal(feeds.size, MAX_FEED_SERIES + 1, 'the cap plus "other"');
    assert.equal(value(text, 'incident_bot_feed_polls_total', { feed: 'other', outcome: 'ok' }), 20);
    assert.equal(value(text, 'incident_bot_feed_polls_total', { feed: '1', outcome: 'error' }), 1);
    assert.equal(value(text, 'incident_bot_feed_polls_total', { feed: '2', outcome: 'skipped' }), undefined);
  });

  it('reads the store\'s gauges at scrape time: feeds, outbox depth and oldest age; a failing read leaves its gauges out', async () => {
    const warnings: string[] = [];
    const t = 1_800_000_000_000;
    const m = createMetrics({ replica: 'r', defaultMetrics: false, now: () => t, logger: { warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as never });
    let feedsFail = false;
    m.read({
      feeds: () => {
        if (feedsFail) throw new Error('database is closed');
        return [
          { id: 3, lastSuccessAt: t - 60_000, consecutiveFailures: 0, failing: false },
          { id: 7, lastSuccessAt: null, consecutiveFailures: 12, failing: true },
        ];
      },
      outbox: async () => [{ platform: 'slack', depth: 4, oldestCreatedAt: t - 90_000 }],
      shards: () => [{ id: 0, state: 'ready', pingMs: 40 }, { id: 1, state: 'reconnecting' }],
      sources: () => [{ name: 'mitre-attack-enterprise', lastSuccessAt: t - 3_600_000 }, { name: 'cisa-kev' }],
      indexRecords: () => 1234,
    });
    let text = (await m.render()).body;
    assert.equal(value(text, 'incident_bot_feed_last_success_timestamp_seconds', { feed: '3' }), (t - 60_000) / 1000);
    assert.equal(value(text, 'incident_bot_feed_last_success_timestamp_seconds', { feed: '7' }), undefined, 'never succeeded: no timestamp');
    assert.equal(value(text, 'incident_bot_feed_consecutive_failures', { feed: '7' }), 12);
    assert.equal(value(text, 'incident_bot_feeds', { state: 'failing' }), 1);
    assert.equal(value(text, 'incident_bot_feeds', { state: 'ok' }), 1);
    assert.equal(value(text, 'incident_bot_outbox_depth', { platform: 'slack' }), 4);
    assert.equal(value(text, 'incident_bot_outbox_depth', { platform: 'discord' }), 0, 'an empty platform reads 0');
    assert.equal(value(text, 'incident_bot_outbox_oldest_age_seconds', { platform: 'slack' }), 90);
    assert.equal(value(text, 'incident_bot_discord_shard_status', { shard: '0', state: 'ready' }), 1);
    assert.equal(value(text, 'incident_bot_discord_shard_status', { shard: '1', state: 'ready' }), 0);
    assert.equal(value(text, 'incident_bot_discord_shard_status', { shard: '1', state: 'reconnecting' }), 1);
    assert.equal(value(text, 'incident_bot_discord_shard_ping_seconds', { shard: '0' }), 0.04);
    assert.equal(value(text, 'incident_bot_source_last_success_timestamp_seconds', { source: 'mitre-attack-enterprise' }), (t - 3_600_000) / 1000);
    assert.equal(value(text, 'incident_bot_index_records'), 1234);

    feedsFail = true;
    text = (await m.render()).body;
    assert.equal(value(text, 'incident_bot_feeds', { state: 'ok' }), undefined, 'no stale feed gauges');
    assert.equal(value(text, 'incident_bot_feed_consecutive_failures', { feed: '7' }), undefined);
    assert.equal(value(text, 'incident_bot_outbox_depth', { platform: 'slack' }), 4, 'the other gauges are still read');
    await m.render();
    assert.deepEqual(warnings, ['metrics: cannot read feeds'], 'logged once, not at every scrape');
  });

  it('serves concurrent scrapes one at a time, each complete', async () => {
    const m = createMetrics({ replica: 'r', defaultMetrics: false });
    let n = 0;
    // Reads of different lengths that end out of order: a second refresh started during the first would mix them.
    m.read({
      feeds: async () => {
        const k = n++;
        await new Promise((r) => setTimeout(r, k % 2 ? 5 : 25));
        return Array.from({ length: 3 + (k % 2) }, (_, i) => ({ id: i + 1, lastSuccessAt: 1000, consecutiveFailures: 0, failing: false }));
      },
    });
    const texts = await Promise.all([m.render(), m.render(), m.render(), m.render()]);
    for (const { body } of texts) {
      const rows = samples(body).filter((l) => l.startsWith('incident_bot_feed_consecutive_failures')).length;
      assert.equal(value(body, 'incident_bot_feeds', { state: 'ok' }), rows, 'the count and the per-feed rows come from one read');
    }
  });
});

describe('answer timing', () => {
  it('times answers by status and intent, lists as list or not-found, throws as error; other members pass through', async () => {
    const m = createMetrics({ replica: 'r', defaultMetrics: false });
    const inner = createFakeIncidentService();
    const extra = Object.assign(inner, { followUp: (q: string) => `follow-up: ${q}` });
    const timed = withAnswerTiming(extra, m.answered) as IncidentService & { followUp(q: string): string };
    assert.equal(timed.answer('skyecc').status, 'found');
    timed.answer('zzzz nothing');
    timed.recent(3);
    timed.searchList('no such words at all');
    assert.equal(timed.size, inner.size, 'getters pass through');
    assert.equal(timed.followUp('who'), 'follow-up: who', 'members the wrapper does not know pass through');
    const text = (await m.render()).body;
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'found', intent: 'unknown' }), 1);
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'not-found', intent: 'unknown' }), 1);
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'list', intent: 'latest' }), 1);
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'not-found', intent: 'list' }), 1);
  });

  it('times an answer given as a promise until it settles, with its intent', async () => {
    const m = createMetrics({ replica: 'r', defaultMetrics: false });
    const slow: Answer = buildAnswer({ status: 'list', intent: 'latest' });
    const service = {
      ...createFakeIncidentService(),
      answer: ((query: string) =>
        query === 'fail' ? Promise.reject(new Error('store down')) : new Promise((resolve) => setTimeout(() => resolve(slow), 30))) as unknown as IncidentService['answer'],
    };
    const timed = withAnswerTiming(service, m.answered);
    await (timed.answer('which groups') as unknown as Promise<Answer>);
    await assert.rejects(timed.answer('fail') as unknown as Promise<Answer>, /store down/);
    const text = (await m.render()).body;
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'list', intent: 'latest' }), 1);
    assert.ok(value(text, 'incident_bot_answer_duration_seconds_sum', { status: 'list', intent: 'latest' })! >= 0.025, 'timed to the end, not to the promise');
    assert.equal(value(text, 'incident_bot_answer_duration_seconds_count', { status: 'error', intent: 'unknown' }), 1);
  });
});
