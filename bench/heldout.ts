/**
 * Held-out queries: the kinds of eval-public.jsonl (alias, typo, question, entity), phrased in our own words and drawn
 * at random (seeded) from the records themselves, plus `text`: a name that only the description mentions, deep in
 * the text. Ranking changes are checked on these, never tuned on the public sample.
 *
 * `node --import tsx bench/heldout.ts [--seeds 1,2,3,4] [--per-seed 195] [--misses] [--data FILE]`
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatIncidentDate, monthName, type Incident } from '../src/core/incident.js';
import { compactName, foldText, stripMarkup } from '../src/core/text.js';
import type { EvalQuery } from '../src/eval/evaluate.js';

/** Deterministic pseudo-random numbers (same seed, same queries). */
export function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const tagValues = (r: Incident, prefix: string) => r.tags.filter((t) => t.startsWith(`${prefix}:`)).map((t) => t.slice(prefix.length + 1));
const tagValue = (r: Incident, prefix: string) => tagValues(r, prefix)[0];

/** Returns `count` held-out queries drawn with `seed` from the records, in the public kinds plus `text`. */
export function heldOutQueries(records: readonly Incident[], seed: number, count = 195): EvalQuery[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const byCompactName = new Map<string, Set<string>>();
  const noteName = (name: string, id: string) => {
    const c = compactName(name);
    if (!byCompactName.has(c)) byCompactName.set(c, new Set());
    byCompactName.get(c)!.add(id);
  };
  for (const r of records) for (const n of [r.title, ...r.aliases]) noteName(n, r.id);
  const byTitle = new Map(records.map((r) => [r.title, r]));
  const named = records.filter((r) => r.kind !== 'vulnerability');
  const kev = records.filter((r) => r.kind === 'vulnerability' && tagValue(r, 'vendor'));
  const groups = records.filter((r) => r.kind === 'group');
  const campaigns = records.filter((r) => r.kind === 'incident' && r.date?.precision !== 'year' && r.date);
  const software = records.filter((r) => r.kind === 'software');

  const out: EvalQuery[] = [];
  const seen = new Set<string>();
  const push = (query: string, expected: readonly string[], kind: string, rule: string) => {
    const key = foldText(query);
    if (expected.length === 0 || seen.has(key)) return false;
    seen.add(key);
    out.push({ query, expected_ids: [...expected], kind, rule });
    return true;
  };
  const nameOf = (r: Incident) => pick([r.title, ...r.aliases.filter((a) => !/^CVE-/i.test(a))]);
  const monthYear = (r: Incident) => {
    const [y, m] = r.date!.value.split('-');
    return `${monthName(Number(m))} ${y}`;
  };

  const makers: [string, number, () => void][] = [
    [
      'alias',
      0.3,
      () => {
        const r = pick(named);
        const name = nameOf(r);
        const ids = [...(byCompactName.get(compactName(name)) ?? [])];
        const form = pick(['lower', 'lower', 'compact', 'asis', 'upper']);
        const q = form === 'lower' ? name.toLowerCase() : form === 'compact' ? compactName(name) : form === 'upper' ? name.toUpperCase() : name;
        push(q, ids, 'alias', `A:${r.kind}:${form}`);
      },
    ],
    [
      'typo',
      0.18,
      () => {
        const r = pick(named);
        const name = nameOf(r).toLowerCase();
        if (compactName(name).length < 6) return;
        const letters = [...name].map((c, i) => [c, i] as const).filter(([c]) => /[a-z]/.test(c));
        const [, i] = letters[1 + Math.floor(rand() * (letters.length - 2))];
        const edit = pick(['del', 'dup', 'swap', 'sub']);
        let q = name;
        if (edit === 'del') q = name.slice(0, i) + name.slice(i + 1);
        else if (edit === 'dup') q = name.slice(0, i + 1) + name.slice(i);
        else if (edit === 'swap') q = i + 1 < name.length && name[i + 1] !== name[i] ? name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2) : name;
        else q = name.slice(0, i) + pick([...'aeioustrnl'].filter((c) => c !== name[i])) + name.slice(i + 1);
        if (q === name || byCompactName.has(compactName(q))) return;
        if (rand() < 0.4) q = compactName(q);
        push(q, [...(byCompactName.get(compactName(name)) ?? [])], 'typo', `T:${r.kind}:${edit}`);
      },
    ],
    [
      'question',
      0.3,
      () => {
        const rule = pick(['group-month', 'software-pair', 'software-pair', 'kev-date', 'kev-ransomware', 'group-platform', 'cve-month']);
        if (rule === 'group-month') {
          const c = pick(campaigns.filter((x) => tagValue(x, 'attributed-to')));
          if (!c) return;
          const g = tagValue(c, 'attributed-to');
          const ids = campaigns.filter((x) => tagValues(x, 'attributed-to').includes(g) && x.date!.value.slice(0, 7) === c.date!.value.slice(0, 7)).map((x) => x.id);
          const phr = pick([`Which ${g} campaign began in ${monthYear(c)}?`, `${g} operation from ${monthYear(c)}`, `what did ${g} start in ${monthYear(c)}?`]);
          push(phr, ids, 'question', 'Q:campaign<-group+month');
        } else if (rule === 'software-pair') {
          const g = pick(groups);
          const uses = tagValues(g, 'uses');
          if (uses.length < 2) return;
          const a = pick(uses);
          const b = pick(uses.filter((u) => u !== a));
          const ids = groups.filter((x) => tagValues(x, 'uses').includes(a) && tagValues(x, 'uses').includes(b)).map((x) => x.id);
          push(pick([`Which actor relies on ${a} and ${b}?`, `${a} plus ${b} threat group`, `who deploys both ${a} and ${b}?`]), ids, 'question', 'Q:group<-software-pair');
        } else if (rule === 'kev-date' || rule === 'kev-ransomware') {
          const k = pick(kev);
          const vendor = tagValue(k, 'vendor');
          const product = tagValue(k, 'product');
          const vp = foldText(product).startsWith(foldText(vendor)) ? product : `${vendor} ${product}`;
          if (rule === 'kev-date') {
            if (!k.date) return;
            const ids = kev.filter((x) => tagValue(x, 'vendor') === vendor && tagValue(x, 'product') === product && x.date?.value === k.date!.value).map((x) => x.id);
            const d = formatIncidentDate(k.date);
            push(pick([`${vp} bug CISA listed on ${d}`, `Which ${vp} vulnerability entered the KEV list on ${d}?`, `${vp} flaw added ${k.date.value}`]), ids, 'question', 'Q:kev<-vendor+product+date');
          } else {
            if (!/known/i.test(tagValue(k, 'ransomware-use') ?? '') || /unknown/i.test(tagValue(k, 'ransomware-use') ?? '')) return;
            const ids = kev.filter((x) => tagValue(x, 'vendor') === vendor && tagValue(x, 'product') === product && /^known$/i.test(tagValue(x, 'ransomware-use') ?? '')).map((x) => x.id);
            push(pick([`${vp} hole abused by ransomware gangs`, `Which ${vp} vulnerability do ransomware operators exploit?`]), ids, 'question', 'Q:kev<-vendor+product+ransomware');
          }
        } else if (rule === 'group-platform') {
          const s = pick(software);
          const users = tagValues(s, 'used-by');
          const platforms = tagValues(s, 'platform');
          if (users.length === 0 || platforms.length === 0) return;
          const g = pick(users);
          const p = pick(platforms);
          const stix = tagValue(s, 'stix') === 'tool' ? 'tool' : 'malware';
          const ids = software.filter((x) => tagValues(x, 'used-by').includes(g) && tagValues(x, 'platform').includes(p) && (tagValue(x, 'stix') === 'tool' ? 'tool' : 'malware') === stix).map((x) => x.id);
          push(pick([`What ${p} ${stix} has ${g} used?`, `${g} ${stix} for ${p}`]), ids, 'question', 'Q:software<-group+platform');
        } else {
          const c = pick(campaigns.filter((x) => tagValue(x, 'mentions-cve')));
          if (!c) return;
          const cve = pick(tagValues(c, 'mentions-cve'));
          const ids = campaigns.filter((x) => tagValues(x, 'mentions-cve').includes(cve) && x.date!.value.slice(0, 7) === c.date!.value.slice(0, 7)).map((x) => x.id);
          push(pick([`campaign exploiting ${cve} in ${monthYear(c)}`, `Which operation used ${cve}, first seen ${monthYear(c)}?`]), ids, 'question', 'Q:campaign<-cve+month');
        }
      },
    ],
    [
      'entity',
      0.14,
      () => {
        const k = pick(kev);
        if (rand() < 0.6) {
          const cve = k.id.slice(4);
          const [, y, n] = cve.split('-');
          push(pick([cve, cve.toLowerCase(), `cve ${y} ${n}`, `${cve} details`]), [k.id], 'entity', 'E:kev<-cve-id');
        } else {
          const vendor = tagValue(k, 'vendor');
          const product = tagValue(k, 'product');
          const ids = kev.filter((x) => tagValue(x, 'vendor') === vendor && tagValue(x, 'product') === product).map((x) => x.id);
          if (ids.length > 2) return; // a product with many CVEs names none of them
          const vp = foldText(product).startsWith(foldText(vendor)) ? product : `${vendor} ${product}`;
          push(vp.toLowerCase(), ids, 'entity', 'E:kev<-vendor+product');
        }
      },
    ],
    [
      'text',
      0.1,
      () => {
        for (let tries = 0; tries < 20; tries++) if (textQuery()) return;
      },
    ],
  ];
  function textQuery(): boolean {
    {
      {
        // A capitalised word from past the lead (where only full text reaches) that names no record and that few
        // records' texts carry: what a user remembers from an article ("viasat", "printnightmare").
        const r = pick(records);
        const text = stripMarkup(r.summary);
        if (text.length < 260) return false;
        const tail = text.slice(200);
        // Capitalised mid-sentence: a proper name, not the first word of a sentence.
        const candidates = [...tail.matchAll(/(?<![.!?:]\s+|^)(?<=[a-z,;]\s+)[A-Z][A-Za-z0-9]{4,}\b/g)].map((m) => m[0]).filter((w) => !byCompactName.has(compactName(w)));
        if (candidates.length === 0) return false;
        const word = pick(candidates);
        const re = new RegExp(`\\b${word}\\b`, 'i');
        const carriers = records.filter((x) => re.test(stripMarkup(x.summary)));
        if (carriers.length > 2 || [r.title, ...r.aliases].some((n) => foldText(n).includes(foldText(word)))) return false;
        return push(word.toLowerCase(), carriers.map((x) => x.id), 'text', 'X:record<-word-in-text');
      }
    }
  }
  const total = makers.reduce((s, [, w]) => s + w, 0);
  let guard = 0;
  while (out.length < count && guard++ < count * 200) {
    let x = rand() * total;
    for (const [, w, make] of makers) {
      if ((x -= w) < 0) {
        make();
        break;
      }
    }
  }
  void byTitle;
  return out;
}

// Our own word lists for made-up names in the style the field uses ("Crimson Osprey", "Operation Silver Lantern").
const COLOURS = 'crimson amber cobalt scarlet ivory onyx azure silver golden violet jade copper indigo ashen russet teal'.split(' ');
const NOUNS = 'osprey lantern heron badger comet falcon harbor glacier thistle marlin quarry beacon willow ember lynx orchid'.split(' ');
const FRAMES = ['{n}', 'operation {n}', '{n} ransomware', 'what do we know about {n}', 'who is behind the {n} attack', '{n} breach', 'the {n} group'];

/**
 * Returns `count` questions about things the records do not hold: made-up two-word names ("cobalt heron"), whose
 * words may each appear somewhere, framed as users ask. A right answer says it does not know, or asks which of
 * several records was meant: never one record with confidence.
 */
export function absentQueries(records: readonly Incident[], seed: number, count = 40): string[] {
  const rand = rng(seed * 7919);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const names = new Set(records.flatMap((r) => [r.title, ...r.aliases].map(compactName)));
  const texts = records.map((r) => foldText(`${r.title} ${r.aliases.join(' ')} ${r.summary}`));
  const out = new Set<string>();
  for (let guard = 0; out.size < count && guard < count * 50; guard++) {
    const name = `${pick(COLOURS)} ${pick(NOUNS)}`;
    if (names.has(compactName(name)) || texts.some((t) => t.includes(name))) continue;
    out.add(pick(FRAMES).replace('{n}', name));
  }
  return [...out];
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3,4' },
      'per-seed': { type: 'string', default: '195' },
      data: { type: 'string', default: path.resolve(root, '../shared/datasets/incidents.jsonl') },
      misses: { type: 'boolean', default: false },
      print: { type: 'boolean', default: false },
    },
  });
  if (!existsSync(values.data)) {
    console.log(`${values.data} not found: held-out queries are drawn from the shared records`);
    return;
  }
  const { importJsonl } = await import('../src/importers/jsonl.js');
  const { loadIncidentDir, BUNDLED_DATA_DIR } = await import('../src/core/load-data.js');
  const { rankersFor, formatComparison } = await import('./quality.js');
  const byId = new Map<string, Incident>();
  for (const i of loadIncidentDir(BUNDLED_DATA_DIR)) byId.set(i.id, i);
  for (const i of importJsonl(readFileSync(values.data, 'utf8'), values.data)) byId.set(i.id, i);
  const records = [...byId.values()];
  const shared = records.filter((r) => !r.id.startsWith('seed:'));
  const rankers = rankersFor(records);
  const { createIncidentService } = await import('../src/core/create-service.js');
  const service = createIncidentService(records);
  for (const seed of values.seeds.split(',').map(Number)) {
    const queries = heldOutQueries(shared, seed, Number(values['per-seed']));
    if (values.print) for (const q of queries) console.log(JSON.stringify(q));
    console.log(`\nheld-out seed ${seed}: ${queries.length} queries`);
    console.log(formatComparison(queries, rankers, values.misses));
    const absent = absentQueries(shared, seed);
    const confident = absent.map((q) => [q, service.answer(q)] as const).filter(([, a]) => a.status === 'found');
    console.log(`absent: ${absent.length - confident.length}/${absent.length} answered not-found or ambiguous`);
    if (values.misses) for (const [q, a] of confident) console.log(`confident [absent] ${JSON.stringify(q)} -> ${a.incident?.id} ${a.incident?.title}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
