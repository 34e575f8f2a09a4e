import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';

describe('feed bounds configuration', () => {
  it('defaults to 200 new items per poll, 365 days of posts and 10,000 posts per feed', () => {
    const { feeds } = loadConfig({});
    assert.equal(feeds.maxItemsPerPoll, 200);
    assert.equal(feeds.retentionDays, 365);
    assert.equal(feeds.maxPostsPerFeed, 10_000);
  });

  it('reads FEED_MAX_ITEMS_PER_POLL, FEED_RETENTION_DAYS and FEED_MAX_POSTS_PER_FEED', () => {
    const { feeds } = loadConfig({ FEED_MAX_ITEMS_PER_POLL: '50', FEED_RETENTION_DAYS: '30', FEED_MAX_POSTS_PER_FEED: '2000' });
    assert.deepEqual([feeds.maxItemsPerPoll, feeds.retentionDays, feeds.maxPostsPerFeed], [50, 30, 2000]);
  });

  for (const [name, value, range] of [
    ['FEED_MAX_ITEMS_PER_POLL', '0', '1 to 100000'],
    ['FEED_MAX_ITEMS_PER_POLL', 'lots', '1 to 100000'],
    ['FEED_RETENTION_DAYS', '-5', '1 to 36500'],
    ['FEED_MAX_POSTS_PER_FEED', '10', '100 to 1000000'],
  ] as const) {
    it(`names ${name} and its range when it is "${value}"`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (e: Error) => e instanceof ConfigError && e.message.includes(`${name} must be a whole number from ${range}`) && e.message.includes(`(got "${value}")`),
      );
    });
  }
});
