import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Platform SDKs the platform-neutral layers must never import: the core returns data, and only adapters know a platform. */
const FORBIDDEN = ['discord.js', '@slack/bolt', '@slack/web-api'];

/** Folders that must stay platform-neutral; src/feeds joins when it exists. */
const NEUTRAL_DIRS = ['src/core', 'src/store', 'src/feeds', 'src/importers', 'src/sources', 'commands'];

/** Returns every module specifier a TypeScript source imports: static, re-exports, side-effect, dynamic and require. */
function importSpecifiers(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  const out = new Set<string>();
  for (const re of patterns) for (const m of source.matchAll(re)) out.add(m[1]);
  return [...out];
}

/** Returns the forbidden packages (or their subpaths) among a source's imports. */
function forbiddenImports(source: string): string[] {
  return importSpecifiers(source).filter((s) => FORBIDDEN.some((pkg) => s === pkg || s.startsWith(`${pkg}/`)));
}

function tsFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...tsFilesUnder(full));
    else if (/\.(ts|tsx|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Returns the file a relative specifier resolves to (`./x.js` is `./x.ts` under NodeNext), or undefined. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  const stem = base.replace(/\.(c|m)?js$/, '');
  const candidates = [`${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, base, path.join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** A forbidden import found by the scan, with the chain of files that leads to it from a scanned root. */
interface Violation {
  chain: string[];
  specifier: string;
}

/** Scans the roots and every file they reach through relative imports; returns each forbidden import with its import chain. */
function scanLayering(roots: readonly string[]): { scanned: string[]; violations: Violation[] } {
  const parent = new Map<string, string | undefined>();
  const queue: string[] = [];
  for (const r of roots) if (!parent.has(r)) (parent.set(r, undefined), queue.push(r));
  const violations: Violation[] = [];
  const chainTo = (file: string) => {
    const chain: string[] = [];
    for (let f: string | undefined = file; f; f = parent.get(f)) chain.unshift(path.relative(ROOT, f));
    return chain;
  };
  while (queue.length > 0) {
    const file = queue.shift()!;
    const source = readFileSync(file, 'utf8');
    for (const specifier of forbiddenImports(source)) violations.push({ chain: chainTo(file), specifier });
    for (const s of importSpecifiers(source)) {
      if (!s.startsWith('.')) continue;
      const target = resolveRelative(file, s);
      if (target && !parent.has(target)) {
        parent.set(target, file);
        queue.push(target);
      }
    }
  }
  return { scanned: [...parent.keys()], violations };
}

/** Where the store's imports may lead: the store itself and the domain core; never a feature module (feeds, importers, adapters, commands). */
const STORE_MAY_REACH = ['src/store', 'src/core'];

/** Returns each file the store reaches (through relative imports) outside the store and the core, with the chain that leads there. */
function storeFeatureImports(roots: readonly string[], allowed: readonly string[] = STORE_MAY_REACH.map((d) => path.join(ROOT, d))): string[] {
  const parent = new Map<string, string | undefined>();
  const queue: string[] = [];
  for (const r of roots) if (!parent.has(r)) (parent.set(r, undefined), queue.push(r));
  const out: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const s of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!s.startsWith('.')) continue;
      const target = resolveRelative(file, s);
      if (!target || parent.has(target)) continue;
      parent.set(target, file);
      if (!allowed.some((dir) => target.startsWith(dir + path.sep))) {
        const chain: string[] = [];
        for (let f: string | undefined = target; f; f = parent.get(f)) chain.unshift(path.relative(ROOT, f));
        out.push(chain.join(' -> '));
        continue;
      }
      queue.push(target);
    }
  }
  return out;
}

describe('layering', () => {
  it('the store imports no feature module: only src/store and src/core, transitively', () => {
    const roots = tsFilesUnder(path.join(ROOT, 'src/store'));
    assert.ok(roots.some((f) => f.endsWith(path.join('repos', 'feeds.ts'))), 'the feed repositories were scanned');
    assert.deepEqual(storeFeatureImports(roots), [], 'src/store must not import src/feeds, importers, adapters or commands');
  });

  it('storeFeatureImports flags a store file that imports the feed watcher', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layering-store-'));
    try {
      mkdirSync(path.join(dir, 'store'));
      mkdirSync(path.join(dir, 'feeds'));
      writeFileSync(path.join(dir, 'store', 'feed-store.ts'), "import type { FeedSpec } from '../feeds/types.js';\nexport type X = FeedSpec;\n");
      writeFileSync(path.join(dir, 'feeds', 'types.ts'), 'export interface FeedSpec { url: string }\n');
      const found = storeFeatureImports([path.join(dir, 'store', 'feed-store.ts')], [path.join(dir, 'store')]);
      assert.equal(found.length, 1);
      assert.match(found[0], /feeds[\\/]types\.ts$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scanLayering finds no platform SDK import when scanning core, store, feeds, importers and commands transitively', () => {
    const roots = NEUTRAL_DIRS.flatMap((d) => tsFilesUnder(path.join(ROOT, d)));
    const { scanned, violations } = scanLayering(roots);
    const rel = scanned.map((f) => path.relative(ROOT, f));
    // Guard against a vacuous pass: the scan must have read the real modules.
    for (const must of ['src/core/answer.ts', 'src/core/incident-index.ts', 'src/store/store.ts', 'src/importers/index.ts', 'commands/index.ts']) {
      assert.ok(rel.includes(must), `${must} was scanned`);
    }
    assert.deepEqual(
      violations.map((v) => `${v.chain.join(' -> ')} imports ${v.specifier}`),
      [],
      'platform-neutral code must not import discord.js or @slack/*',
    );
  });

  it('forbiddenImports flags every import form when a synthetic source imports a platform SDK', () => {
    const source = [
      "import { Client } from 'discord.js';",
      'import type {',
      '  App,',
      "} from '@slack/bolt';",
      "export { WebClient } from '@slack/web-api';",
      "import 'discord.js/typings';",
      "const lazy = await import('@slack/bolt');",
      "const old = require('discord.js');",
      "import { z } from 'zod';",
      "import { x } from './discord.js';",
    ].join('\n');
    assert.deepEqual(forbiddenImports(source).sort(), ['@slack/bolt', '@slack/web-api', 'discord.js', 'discord.js/typings'].sort());
  });

  it('forbiddenImports ignores lookalikes when no SDK is imported', () => {
    assert.deepEqual(forbiddenImports("import { a } from './discord.js';\nimport b from 'discord.js-extra';\nimport c from '@slack/types';"), []);
  });

  it('scanLayering flags an SDK reached through a relative import chain when a neutral file imports an adapter', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layering-'));
    try {
      writeFileSync(path.join(dir, 'neutral.ts'), "import { helper } from './helper.js';\nexport const x = helper;\n");
      writeFileSync(path.join(dir, 'helper.ts'), "import { render } from './adapter/render.js';\nexport const helper = render;\n");
      const adapterDir = path.join(dir, 'adapter');
      mkdirSync(adapterDir);
      writeFileSync(path.join(adapterDir, 'render.ts'), "import { EmbedBuilder } from 'discord.js';\nexport const render = EmbedBuilder;\n");
      const { violations } = scanLayering([path.join(dir, 'neutral.ts')]);
      assert.equal(violations.length, 1);
      assert.equal(violations[0].specifier, 'discord.js');
      assert.equal(violations[0].chain.length, 3, violations[0].chain.join(' -> '));
      assert.match(violations[0].chain[2], /adapter[\\/]render\.ts$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const adapter = path.join(ROOT, 'src/adapters/discord/adapter.ts');
  it('scanLayering flags the real Discord adapter when it is scanned (the check can fail on real code)', { skip: existsSync(adapter) ? false : 'no src/adapters/discord/adapter.ts yet' }, () => {
    const { violations } = scanLayering([adapter]);
    assert.ok(violations.some((v) => v.specifier === 'discord.js'));
  });
});
