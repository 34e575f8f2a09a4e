import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INCIDENT_BOUNDS } from '../../src/core/incident.js';
import { FeedParseError, htmlDepth, MAX_HTML_DEPTH, parseFeedDocument } from '../../src/feeds/parse.js';
import { createFeedParser } from '../../src/feeds/parse-thread.js';
import { bigRssFeed, rssFeed, xmlEscape } from '../support/feed-server.js';

const url = 'https://bounds.example/feed';

describe('parser bounds: one item cannot take the document down or grow without limit', () => {
  it('clips titles to 300 characters at a word boundary, and feed titles, authors and categories too', () => {
    const long = Array.from({ length: 50_000 }, (_, i) => `word${i}`).join(' ');
    const cats = Array.from({ length: 500 }, (_, i) => `<category>cat ${i} ${'c'.repeat(i === 0 ? 5000 : 1)}</category>`).join('');
    const xml = rssFeed([{ guid: 'urn:a', title: long, description: long }], { title: long }).replace('</item>', `${cats}</item>`);
    const feed = parseFeedDocument(xml, { url });
    const item = feed.items[0]!;
    assert.ok(item.title.length <= 300 && item.title.startsWith('word0 word1'), `title ${item.title.length}`);
    assert.ok(item.summary.length <= 2000, 'item.summary.length <= 2000');
    assert.ok(feed.title!.length <= 200, 'feed.title!.length <= 200');
    assert.equal(item.categories.length, 50);
    assert.ok(item.categories[0]!.length <= 200, 'item.categories[0]!.length <= 200');
  });

  it('skips an item whose HTML is nested too deep, with its key and the reason; the rest of the document is kept', () => {
    const deep = '<b>'.repeat(50_000) + 'x';
    const feed = parseFeedDocument(
      rssFeed([
        { guid: 'urn:1', title: 'One', description: 'fine' },
        { guid: 'urn:2', title: 'Two', description: deep },
        { guid: 'urn:3', title: 'Three <i>nested</i>', description: '<div><div><p>fine</p></div></div>' },
      ]),
      { url },
    );
    assert.deepEqual(feed.items.map((i) => i.key), ['urn:1', 'urn:3']);
    assert.equal(feed.skipped?.length, 1);
    assert.equal(feed.skipped![0]!.key, 'urn:2');
    assert.match(feed.skipped![0]!.reason, /item 2: markup nested too deeply/);
  });

  it('measures nesting from tags, not counting void elements or ones whose end tag may be left out', () => {
    assert.equal(htmlDepth('<div><p>a<p>b<br><img src=x><ul><li>c<li>d</ul></div>'), 2);
    assert.equal(htmlDepth('<div>'.repeat(5) + '</div>'.repeat(5) + '<span/>'), 5);
    assert.ok(htmlDepth('<i>'.repeat(MAX_HTML_DEPTH + 1)) > MAX_HTML_DEPTH, 'htmlDepth(\'<i>\'.repeat(MAX_HTML_DEPTH + 1)) > MAX_HTML_DEPTH');
  });

  it('stands an overlong guid in as its hash and drops a link longer than a record may hold', () => {
    const guid = `urn:${'g'.repeat(5000)}`;
    const link = `https://bounds.example/${'l'.repeat(INCIDENT_BOUNDS.sourceUrl)}`;
    const feed = parseFeedDocument(rssFeed([{ guid, link, title: 'Long ids' }], { guidIsPermaLink: false }), { url });
    const item = feed.items[0]!;
    assert.match(item.key, /^sha256:[0-9a-f]{64}$/);
    assert.equal(item.link, undefined);
    assert.equal(parseFeedDocument(rssFeed([{ guid, link, title: 'Again' }], { guidIsPermaLink: false }), { url }).items[0]!.key, item.key, 'stable');
  });

  it('reads a field of a million unclosed tags in linear time (no quadratic regular expression)', () => {
    // Only the first 30,000 characters of a field are ever read; this one would take seconds with a backtracking scan.
    const title = xmlEscape('<a '.repeat(1_000_000));
    const feed = parseFeedDocument(`<rss version="2.0"><channel><title>t</title><item><guid>urn:x</guid><title>${title}</title></item></channel></rss>`, { url });
    assert.equal(feed.items.length, 1);
    assert.ok(feed.items[0]!.title.length <= 300, 'feed.items[0]!.title.length <= 300');
  });
});

describe('parsing in a worker thread', { timeout: 60_000 }, () => {
  it('returns what the inline parser returns, items and skipped ones alike', async () => {
    const parser = createFeedParser({ inlineMaxBytes: 0 });
    try {
      const xml = bigRssFeed(3000).replace('</channel>', `<item><guid>urn:deep</guid><title>Deep</title><description>${xmlEscape('<b>'.repeat(5000))}</description></item></channel>`);
      const inline = parseFeedDocument(xml, { url });
      const threaded = await parser.parse(Buffer.from(xml), { url });
      assert.equal(threaded.items.length, 3000);
      assert.deepEqual(threaded, inline);
      assert.equal(threaded.skipped?.[0]?.key, 'urn:deep');
      // A document that is no feed fails as it would inline.
      await assert.rejects(parser.parse(Buffer.from('<html><body>hi</body></html>'), { url }), (e: Error) => e instanceof FeedParseError && /HTML page/.test(e.message));
      // The worker keeps serving after a refusal.
      assert.equal((await parser.parse(Buffer.from(rssFeed([{ guid: 'urn:z', title: 'Z' }])), { url })).items.length, 1);
    } finally {
      await parser.close();
    }
  });

  it('stops a parse that takes too long and goes on with the next document', async () => {
    const parser = createFeedParser({ inlineMaxBytes: 0, timeoutMs: 1 });
    try {
      await assert.rejects(parser.parse(Buffer.from(bigRssFeed(20_000)), { url }), /parsing took longer than/);
    } finally {
      await parser.close();
    }
    const next = createFeedParser({ inlineMaxBytes: 0 });
    try {
      assert.equal((await next.parse(Buffer.from(bigRssFeed(10)), { url })).items.length, 10);
    } finally {
      await next.close();
    }
  });

  it('parses small documents inline, and fails parses still queued when closed', async () => {
    const parser = createFeedParser();
    const small = await parser.parse(Buffer.from(rssFeed([{ guid: 'urn:s', title: 'Small' }])), { url });
    assert.equal(small.items.length, 1);
    const pending = assert.rejects(parser.parse(Buffer.from(bigRssFeed(2000)), { url }), /closed/);
    await parser.close();
    await pending;
  });
});
