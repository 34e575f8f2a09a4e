/**
 * Feed parsing figures: items per second from bytes to FeedItem[] (decode + feedsmith + mapping + HTML to text)
 * for the largest files in ../shared/feeds and a generated 15,000-item single-line feed. Printed, never asserted.
 * Run alone with `node --expose-gc --import tsx bench/feed-parse.ts`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseFeedDocument } from '../src/feeds/parse.js';
import { bigRssFeed } from '../test/support/feed-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared/feeds');
const gc = (globalThis as { gc?: () => void }).gc;

/** One measured document. */
export interface FeedParseFigure {
  name: string;
  bytes: number;
  items: number;
  /** Median milliseconds per parse over the runs. */
  ms: number;
  itemsPerSecond: number;
  /** Heap growth while holding the parsed result (MB, with --expose-gc). */
  heapMb?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(name: string, body: Buffer, runs: number): FeedParseFigure {
  parseFeedDocument(body, { url: 'https://bench.example/feed' }); // warm-up (JIT)
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    items = parseFeedDocument(body, { url: 'https://bench.example/feed' }).items.length;
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const fig: FeedParseFigure = { name, bytes: body.length, items, ms, itemsPerSecond: items / (ms / 1000) };
  if (gc) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = parseFeedDocument(body, { url: 'https://bench.example/feed' });
    gc();
    fig.heapMb = (process.memoryUsage().heapUsed - before) / 1e6;
    void kept.items.length;
  }
  return fig;
}

/** The largest files under ../shared/feeds (inputs only), biggest first. */
function largestShared(n: number): string[] {
  if (!existsSync(shared)) return [];
  const files: Array<[number, string]> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (!/LICENSE|README|\.serde\.json$|_expected\.json$|EXPECTATIONS|date-strings|security-feeds|rss-parser\/output\//.test(p)) files.push([st.size, p]);
    }
  };
  walk(shared);
  return files.sort((a, b) => b[0] - a[0]).slice(0, n).map(([, p]) => p);
}

/** Measures and prints parsing throughput; returns the figures. */
export async function benchFeedParse(): Promise<FeedParseFigure[]> {
  const figures: FeedParseFigure[] = [];
  for (const file of largestShared(6)) {
    try {
      figures.push(measure(path.relative(shared, file), readFileSync(file), 5));
    } catch (err) {
      console.log(`  ${path.relative(shared, file)}: ${(err as Error).message}`);
    }
  }
  if (figures.length === 0) console.log('  (../shared/feeds absent: shared figures skipped)');
  figures.push(measure('generated 15,000-item single-line RSS', Buffer.from(bigRssFeed(15_000)), 5));

  console.log('\nFeed parsing (bytes -> FeedItem[]: decode, feedsmith, mapping, HTML to text; median of 5 runs)');
  console.log(`  ${'document'.padEnd(48)} ${'KB'.padStart(7)} ${'items'.padStart(6)} ${'ms'.padStart(8)} ${'items/s'.padStart(9)}${gc ? '  heap MB' : ''}`);
  for (const f of figures) {
    console.log(
      `  ${f.name.slice(0, 48).padEnd(48)} ${(f.bytes / 1024).toFixed(0).padStart(7)} ${String(f.items).padStart(6)} ${f.ms.toFixed(1).padStart(8)} ${Math.round(f.itemsPerSecond).toLocaleString('en-US').padStart(9)}${f.heapMb !== undefined ? f.heapMb.toFixed(1).padStart(9) : ''}`,
    );
  }
  const sharedOnly = figures.slice(0, -1);
  if (sharedOnly.length) {
    const items = sharedOnly.reduce((a, f) => a + f.items, 0);
    const ms = sharedOnly.reduce((a, f) => a + f.ms, 0);
    console.log(`  shared files together: ${items} items in ${ms.toFixed(0)} ms = ${Math.round(items / (ms / 1000)).toLocaleString('en-US')} items/s`);
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await benchFeedParse();
}
