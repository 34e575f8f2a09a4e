import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FEEDS_FILE, FeedListError, loadFeedList, parseFeedList } from '../../src/feeds/feed-list.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const FIX = resolve(here, '../fixtures/feeds');
const SHARED = resolve(here, '../../../shared/feeds');

const failsWith = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FeedListError, `not a FeedListError: ${String(err)}`);
    assert.match(err.message, re);
    return true;
  });

describe('loadFeedList', () => {
  it('reads a JSON array of URLs and objects, keeping duplicates once', () => {
    assert.deepEqual(loadFeedList(join(FIX, 'feeds.json')), [
      { url: 'https://feeds.example.org/a.xml' },
      { url: 'https://feeds.example.org/b.xml', name: 'Feed B', intervalSeconds: 300 },
    ]);
  });

  it('reads OPML, flattening nested outlines', () => {
    assert.deepEqual(loadFeedList(join(FIX, 'feeds.opml')), [
      { url: 'https://news.example.org/feed/', name: 'Example News' },
      { url: 'https://deep.example.org/rss?a=1&b=2', name: 'Deep feed' },
      { url: 'https://top.example.org/atom.xml', name: 'Top level' },
    ]);
  });

  it('names the file and the entry in errors', () => {
    const bad = join(FIX, 'feeds-bad.json');
    failsWith(() => loadFeedList(bad), new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: entry 2: "ftp://files\\.example\\.org/feed\\.xml" is not an http\\(s\\) URL`));
    failsWith(() => loadFeedList(join(FIX, 'does-not-exist.json')), /does-not-exist\.json: cannot read the feed list \(ENOENT\)/);
    failsWith(() => parseFeedList('{"url": "https://x.example"}', 'list.json'), /list\.json: expected a JSON array/);
    failsWith(() => parseFeedList('[', 'list.json'), /list\.json: not valid JSON/);
    failsWith(() => parseFeedList('["https://a.example", 42]', 'l.json'), /l\.json: entry 2: expected a URL string or an object/);
    failsWith(() => parseFeedList('[{"name": "x"}]', 'l.json'), /entry 1: "url" is missing/);
    failsWith(() => parseFeedList('[{"url": "/relative"}]', 'l.json'), /entry 1: "\/relative" is not an absolute URL/);
    failsWith(() => parseFeedList('[{"url": "https://a.example", "interval": 5}]', 'l.json'), /entry 1: unknown field "interval"/);
    failsWith(() => parseFeedList('[{"url": "https://a.example", "intervalSeconds": 0}]', 'l.json'), /intervalSeconds" must be a whole number of seconds >= 1/);
    failsWith(() => parseFeedList('[{"url": "https://a.example", "intervalSeconds": "60"}]', 'l.json'), /intervalSeconds/);
    failsWith(() => parseFeedList('<opml version="2.0"><body><outline text="folder"/></body></opml>', 'x.opml'), /x\.opml: the OPML file has no outline with an xmlUrl/);
    failsWith(() => parseFeedList('<opml><body><outline text="A" xmlUrl="file:///etc/passwd"/></body></opml>', 'x.opml'), /x\.opml: outline "A": "file:\/\/\/etc\/passwd" is not an http\(s\) URL/);
    failsWith(() => parseFeedList('   ', 'blank.json'), /blank\.json: the feed list is empty/);
    assert.deepEqual(parseFeedList('[{"url": "http://127.0.0.1:8080/f", "intervalSeconds": 1}]', 'l.json'), [{ url: 'http://127.0.0.1:8080/f', intervalSeconds: 1 }]);
  });

  it('DEFAULT_FEEDS_FILE is data/feeds.json with 12-20 named https security feeds', () => {
    assert.equal(DEFAULT_FEEDS_FILE, resolve(here, '../../data/feeds.json'));
    const feeds = loadFeedList(DEFAULT_FEEDS_FILE);
    assert.ok(feeds.length >= 12 && feeds.length <= 20, `${feeds.length} feeds`);
    for (const f of feeds) {
      assert.match(f.url, /^https:\/\//);
      assert.ok(f.name && f.name.length > 2, f.url);
    }
    assert.equal(new Set(feeds.map((f) => f.url)).size, feeds.length);
  });

  const listJson = join(SHARED, 'security-feeds.json');
  it('every default feed is a live, valid entry of the shared security feed list', { skip: existsSync(listJson) ? false : 'needs ../shared/feeds/security-feeds.json' }, () => {
    const shared = JSON.parse(readFileSync(listJson, 'utf8')) as {
      feeds: Array<{ title: string; xmlUrl: string; clivoaCheck: { status: string; bozo: boolean | null } | null }>;
    };
    const byUrl = new Map(shared.feeds.map((f) => [new URL(f.xmlUrl).href, f]));
    for (const f of loadFeedList(DEFAULT_FEEDS_FILE)) {
      const s = byUrl.get(f.url);
      assert.ok(s, `${f.url} is not in security-feeds.json`);
      assert.equal(f.name, s.title);
      assert.equal(s.clivoaCheck?.status, 'active', f.url);
      assert.equal(s.clivoaCheck?.bozo, false, f.url);
    }
  });

  const opml = join(SHARED, 'security-feeds.opml');
  it('reads the shared security-feeds.opml (41 feeds in category folders)', { skip: existsSync(opml) ? false : 'needs ../shared/feeds/security-feeds.opml' }, () => {
    const feeds = loadFeedList(opml);
    assert.equal(feeds.length, 41);
    assert.ok(feeds.some((f) => f.url === 'https://www.cyber.gc.ca/api/cccs/rss/v1/get?feed=alerts_advisories&lang=en'), 'escaped & in OPML attributes');
  });
});
