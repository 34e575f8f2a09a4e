import type { Entities, Incident, Link, Source } from './incident.js';
import { compactName, foldText } from './text.js';

/** Why two records were found to be one thing. */
export type MergeRule = 'declared' | 'misp-related' | 'names';

/** One merge: `from` was folded into `into`, by `rule` (and, for names, the name they share). */
export interface MergeEvidence {
  into: string;
  from: string;
  rule: MergeRule;
  name?: string;
}

/** The records with every real-world thing once, and how ids moved. */
export interface MergeResult {
  records: Incident[];
  /** Every id folded into another record -> the id it lives on as. */
  canonical: Map<string, string>;
  merges: MergeEvidence[];
}

/**
 * Returns one record per id: when the same id arrives from several places (bundled data, the store, a per-source
 * table, `--data` files, or several ATT&CK bundles), later arrivals win the single-valued fields (title, summary,
 * date, kind) and every list (aliases, sources, tags, entities, related, sameAs, links) is the union.
 */
export function unionSameIds(records: readonly Incident[]): Incident[] {
  const byId = new Map<string, Incident>();
  for (const r of records) {
    const earlier = byId.get(r.id);
    byId.set(r.id, earlier ? unionRecords(r, [earlier], false) : r);
  }
  return [...byId.values()];
}

// Reference records: the ids other datasets are merged into. ATT&CK names groups and software with stable ids that
// every vendor maps to, so a merged record keeps its ATT&CK id.
const isReference = (r: Incident) => r.id.startsWith('attack:');
// Records that may be folded into a reference: the MISP galaxy's knowledge-base entries of the same nature (a feed
// story or a KEV entry that shares a name with a tool is about it, not the same thing).
const isMergeable = (r: Incident) => r.id.startsWith('misp:') && (r.kind === 'group' || r.kind === 'software');

/**
 * Returns the records with each real-world thing once. Records are the same thing when:
 * - `declared`: a record lists another id in its `sameAs`;
 * - `misp-related`: a MISP threat actor's `related` entry points at the STIX id of an ATT&CK intrusion set (when it
 *   points at several, the one sharing a name with it; when several actors point at one set, those sharing a name);
 * - `names`: a MISP group or ransomware family shares a distinctive name (`isDistinctiveName`) with exactly one
 *   ATT&CK record of the same kind, the name being the title of one of them (several records: the one whose title
 *   is its title; several claimants of one record: those whose title is one of its names), and a ransomware family
 *   only with software whose own description calls it ransomware.
 * The kept record is the ATT&CK one (else the declaring one); its aliases, sources, tags, entities and links are
 * the union, its `sameAs` lists the other ids, and the others' descriptions join its body. Two ATT&CK records are
 * never merged with each other.
 */
export function mergeSameThings(input: readonly Incident[]): MergeResult {
  const sets = new DisjointSets();
  const merges: MergeEvidence[] = [];
  const join = (a: Incident, b: Incident, evidence: Omit<MergeEvidence, 'into' | 'from'>) => {
    if (sets.join(a.id, b.id, (id) => id.startsWith('attack:'))) merges.push({ into: a.id, from: b.id, ...evidence });
  };

  const declaring = input.filter((r) => (r.sameAs?.length ?? 0) > 0);
  if (declaring.length > 0) {
    const byId = new Map(input.map((r) => [r.id, r]));
    for (const r of declaring) for (const other of r.sameAs!) if (byId.has(other) && other !== r.id) join(r, byId.get(other)!, { rule: 'declared' });
  }

  const mergeable = input.filter(isMergeable);
  if (mergeable.length > 0) {
    const references = input.filter(isReference);
    const done = new Set<string>();
    for (const [group, actors] of mispRelatedClaims(mergeable, references)) {
      for (const actor of actors) {
        join(group, actor, { rule: 'misp-related' });
        done.add(actor.id);
      }
    }
    const names = new NameMatcher(input, references);
    const claims = new Map<Incident, Array<{ record: Incident; name: string }>>();
    for (const [r, match] of names.matchAll(mergeable.filter((r) => !done.has(r.id)))) {
      claims.set(match.record, [...(claims.get(match.record) ?? []), { record: r, name: match.name }]);
    }
    for (const [ref, claimants] of claims) {
      // Several families claiming one record ("Petya" and "PetrWrap" for NotPetya, "DoppelPaymer" for BitPaymer):
      // only those whose own title is one of its names are it; the others merely list it among their relatives.
      const refNames = new Set(namesOf(ref).map(nameKey));
      const kept = claimants.length > 1 ? claimants.filter((c) => refNames.has(nameKey(c.record.title))) : claimants;
      for (const c of kept) join(ref, c.record, { rule: 'names', name: c.name });
    }
  }

  const canonical = new Map<string, string>();
  if (merges.length === 0 && declaring.length === 0) return { records: [...input], canonical, merges };
  const groups = sets.groups();
  const membersOf = new Map<string, Incident[]>();
  for (const r of input) {
    const set = groups.get(r.id);
    if (set) membersOf.set(set.root, [...(membersOf.get(set.root) ?? []), r]);
  }
  for (const [, all] of membersOf) {
    if (all.length < 2) continue;
    const ids = new Set(all.map((x) => x.id));
    const keep = all.find(isReference) ?? all.find((x) => (x.sameAs ?? []).some((s) => ids.has(s))) ?? all[0];
    for (const o of all) if (o !== keep) canonical.set(o.id, keep.id);
  }
  const records = applyMerges(input, canonical);
  // Ids declared same-as but not loaded still resolve to the record that declared them.
  const loaded = new Set(input.map((r) => r.id));
  for (const r of records) for (const s of r.sameAs ?? []) if (!loaded.has(s) && !canonical.has(s)) canonical.set(s, r.id);
  return { records, canonical, merges: merges.map((m) => ({ ...m, into: canonical.get(m.into) ?? m.into })) };
}

/**
 * Returns the records with every id in `canonical` folded into the record it maps to (see `mergeSameThings` for what
 * a fold keeps), at the place of the group's first record; the rest pass through as they are. Start-up uses it to
 * redo stored merge decisions without deciding again.
 */
export function applyMerges(input: readonly Incident[], canonical: ReadonlyMap<string, string>): Incident[] {
  if (canonical.size === 0) return [...input];
  const folded = new Map<string, Incident[]>();
  for (const r of input) {
    const keep = canonical.get(r.id);
    if (keep !== undefined && keep !== r.id) folded.set(keep, [...(folded.get(keep) ?? []), r]);
  }
  const keeps = new Map<string, Incident>();
  for (const r of input) if (folded.has(r.id)) keeps.set(r.id, r);
  const out: Incident[] = [];
  const emitted = new Set<string>();
  for (const r of input) {
    const keepId = canonical.get(r.id) ?? r.id;
    const keep = keeps.get(keepId);
    const others = folded.get(keepId);
    if (!keep || !others) {
      out.push(r);
      continue;
    }
    if (emitted.has(keepId)) continue;
    emitted.add(keepId);
    out.push(unionRecords(keep, [...others].sort((a, b) => (a.id < b.id ? -1 : 1)), true));
  }
  return out;
}

/** Returns, per ATT&CK group, the MISP actors whose `related` entries make them that group. */
function mispRelatedClaims(mergeable: readonly Incident[], references: readonly Incident[]): Map<Incident, Incident[]> {
  const setsByUuid = new Map<string, Incident>();
  for (const r of references) if (r.kind === 'group' && r.stixId?.startsWith('intrusion-set--')) setsByUuid.set(r.stixId.slice(15).toLowerCase(), r);
  const claims = new Map<Incident, Incident[]>();
  if (setsByUuid.size === 0) return claims;
  const groupsByName = new Map<string, Incident[]>();
  for (const r of references) {
    if (r.kind !== 'group') continue;
    for (const key of new Set(namesOf(r).map(nameKey))) groupsByName.set(key, [...(groupsByName.get(key) ?? []), r]);
  }
  for (const actor of mergeable) {
    if (actor.kind !== 'group') continue;
    const targets = new Set<Incident>();
    for (const link of actor.links ?? []) {
      if (link.type !== 'related-to' || !link.to.startsWith('uuid:')) continue;
      const set = setsByUuid.get(link.to.slice(5));
      if (set) targets.add(set);
    }
    let pick: Incident | undefined;
    if (targets.size === 1) pick = [...targets][0];
    else if (targets.size > 1) {
      const named = [...targets].filter((t) => sharesName(actor, t));
      if (named.length === 1) pick = named[0];
    }
    // An actor whose own name is another ATT&CK group's name is that group, whatever it calls similar ("APT41"
    // lists Winnti Group as similar, and ATT&CK has APT41 itself).
    if (pick && (groupsByName.get(nameKey(actor.title)) ?? []).some((r) => r !== pick)) pick = undefined;
    if (pick) claims.set(pick, [...(claims.get(pick) ?? []), actor]);
  }
  // Several actors claiming one set: MISP's "similar" also links neighbours; only those sharing a name are that set.
  for (const [set, actors] of claims) {
    if (actors.length < 2) continue;
    const named = actors.filter((a) => sharesName(a, set));
    if (named.length > 0) claims.set(set, named);
    else claims.delete(set);
  }
  return claims;
}

function sharesName(a: Incident, b: Incident): boolean {
  const names = new Set(namesOf(a).map(nameKey));
  return namesOf(b).some((n) => names.has(nameKey(n)));
}

function namesOf(r: Incident): string[] {
  return [r.title, ...r.aliases];
}

/** Words that say what kind of thing a name names, not which one: "Ryuk ransomware" is Ryuk, "Lazarus Group" Lazarus. */
export const KIND_WORDS: ReadonlySet<string> = new Set(['ransomware', 'malware', 'group', 'team', 'gang', 'crew', 'actor', 'actors', 'apt', 'family', 'botnet', 'variant']);

/** Returns the words of a name: split at spaces and punctuation, camel case ("LockerGoga") and letter-digit edges. */
export function nameWords(name: string): string[] {
  if (PLAIN.test(name)) {
    return name
      .replace(/(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/g, ' ')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w !== '');
  }
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/gu, ' ')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** Returns the key two names are compared by: compact, without a leading "the" and trailing kind words. */
export function nameKey(name: string): string {
  // Most names are plain ASCII: folding them needs no Unicode normalisation (this runs for every name at start-up).
  const words = (PLAIN.test(name) ? name.toLowerCase().split(/[^a-z0-9]+/) : foldText(name).split(/[^\p{L}\p{N}]+/u)).filter((w) => w !== '');
  if (words.length > 1 && words[0] === 'the') words.shift();
  while (words.length > 1 && KIND_WORDS.has(words[words.length - 1])) words.pop();
  return words.join('');
}

/** Returns `compactName(name)`, faster for plain ASCII names. */
export function fastCompact(name: string): string {
  return PLAIN.test(name) ? name.toLowerCase().replace(/[^a-z0-9]+/g, '') : compactName(name);
}

const PLAIN = /^[\x20-\x7e]*$/;

/** Shortest distinctive name, in compact characters: "Lv", "Cmd", "RTM" name too many things across vendors. */
export const MIN_DISTINCTIVE_CHARS = 4;
/** A name that is a building block of this many other names ("Cobalt Strike", "Cobalt Kitty") is generic. */
export const BUILDING_BLOCK_NAMES = 2;
/** A plain word written in lower case in this many groups' or software's texts is an ordinary word of the field ("agent", "locker"). */
export const ORDINARY_WORD_RECORDS = 2;

/**
 * Finds the ATT&CK record a MISP record shares a distinctive name with. A name is distinctive when it has at least
 * MIN_DISTINCTIVE_CHARS letters or digits, is not all digits, is not a building block of other names (its words
 * form part of BUILDING_BLOCK_NAMES other groups' or software's names next to other words: "Dark", "Agent", "Locker",
 * "Cobalt"), and, when it is one plain word, that word is not written in lower case as an ordinary word in
 * ORDINARY_WORD_RECORDS descriptions of groups or software ("ransom", "dark"). Everything is measured on the loaded records: a common
 * word of this field is one its texts use as a word. Whatever the corpus, a name that is one plain word in every
 * spelling ("Royal", "Locker", "IRIDIUM") only counts when the two records also cite one report or share another
 * name. Work is done for candidate pairs only, in one pass over the names and one over the texts.
 */
class NameMatcher {
  private readonly byName = new Map<string, Incident[]>();

  constructor(
    private readonly all: readonly Incident[],
    references: readonly Incident[],
  ) {
    for (const r of references) {
      for (const n of new Set(namesOf(r).map(nameKey))) {
        if (n === '') continue;
        const list = this.byName.get(n);
        if (list) list.push(r);
        else this.byName.set(n, [r]);
      }
    }
  }

  /** Returns, per record, the one reference record it is and the name they share (records with none are left out). */
  matchAll(records: readonly Incident[]): Map<Incident, { record: Incident; name: string }> {
    interface Pair {
      ref: Incident;
      name: string;
      key: string;
      word?: string;
    }
    const pairs = new Map<Incident, Pair[]>();
    const keys = new Set<string>();
    const words = new Set<string>();
    for (const r of records) {
      const ransomware = r.tags.includes('ransomware');
      const ownTitle = nameKey(r.title);
      const found: Pair[] = [];
      for (const name of namesOf(r)) {
        const key = nameKey(name);
        if (key.length < MIN_DISTINCTIVE_CHARS || /^\d+$/.test(key)) continue;
        for (const ref of this.byName.get(key) ?? []) {
          if (ref.kind !== r.kind || found.some((f) => f.ref === ref)) continue;
          // Two alternative names that happen to agree prove less than a name one side goes by first.
          if (key !== ownTitle && key !== nameKey(ref.title)) continue;
          if (ransomware && !describesRansomware(ref)) continue;
          const word = plainWord([name, ...namesOf(ref).filter((n) => nameKey(n) === key)]);
          // One plain word is not enough on its own: the two must also cite one report or share another name.
          if (word && !corroborated(r, ref, key)) continue;
          found.push({ ref, name, key, word });
          keys.add(key);
          if (word) words.add(word);
        }
      }
      if (found.length > 0) pairs.set(r, found);
    }
    const blocks = this.buildingBlocks(keys);
    const ordinary = this.ordinaryUse(words);
    const out = new Map<Incident, { record: Incident; name: string }>();
    for (const [r, found] of pairs) {
      const distinct = found.filter((p) => {
        const parties = [r.id, p.ref.id];
        const holders = [...(blocks.get(p.key)?.values() ?? [])].filter((id) => !parties.includes(id));
        if (holders.length >= BUILDING_BLOCK_NAMES) return false;
        if (p.word && [...(ordinary.get(p.word) ?? [])].filter((id) => !parties.includes(id)).length >= ORDINARY_WORD_RECORDS) return false;
        return true;
      });
      if (distinct.length === 1) out.set(r, { record: distinct[0].ref, name: distinct[0].name });
      else if (distinct.length > 1) {
        const title = nameKey(r.title);
        const titled = distinct.filter((p) => nameKey(p.ref.title) === title);
        if (titled.length === 1) out.set(r, { record: titled[0].ref, name: titled[0].name });
      }
    }
    return out;
  }

  /** For each key: the longer names (compact, with the record carrying each) that hold it beside other words. */
  private buildingBlocks(keys: ReadonlySet<string>): Map<string, Map<string, string>> {
    const blocks = new Map<string, Map<string, string>>();
    if (keys.size === 0) return blocks;
    for (const r of this.all) {
      // Names only: campaign and vulnerability titles describe ("Clop MOVEit Transfer Vulnerability Exploitation").
      if (r.kind !== 'group' && r.kind !== 'software') continue;
      for (const name of namesOf(r)) {
        const words = nameWords(name);
        if (words.length < 2 || words.length > 8) continue;
        for (let i = 0; i < words.length; i++) {
          let run = '';
          for (let j = i + 1; j <= Math.min(words.length, i + 4); j++) {
            run += words[j - 1];
            if ((i === 0 && j === words.length) || !keys.has(run)) continue;
            // Beside the run, a word that names something else ("Strike", "Kitty"), not a version or a kind word.
            const rest = [...words.slice(0, i), ...words.slice(j)];
            if (!rest.some((w) => /\p{L}{2,}/u.test(w) && !KIND_WORDS.has(w) && !/^v\d/.test(w))) continue;
            let holders = blocks.get(run);
            if (!holders) blocks.set(run, (holders = new Map()));
            const whole = words.join('');
            if (!holders.has(whole)) holders.set(whole, r.id);
          }
        }
      }
    }
    return blocks;
  }

  /** For each word: the records (a few are enough) whose text writes it in lower case, as a word of its own. */
  private ordinaryUse(words: ReadonlySet<string>): Map<string, Set<string>> {
    const seen = new Map<string, Set<string>>();
    if (words.size === 0) return seen;
    const list = [...words].join('|');
    // ASCII words need no Unicode-aware scan, which costs several times more over the whole corpus.
    const pattern = /^[a-z|]+$/.test(list) ? new RegExp(`\\b(?:${list})\\b`, 'g') : new RegExp(`(?<![\\p{L}\\p{N}])(?:${list})(?![\\p{L}\\p{N}])`, 'gu');
    for (const r of this.all) {
      // The descriptions of groups and software: the field's own prose, and bounded however many stories and CVEs come.
      if (r.kind !== 'group' && r.kind !== 'software') continue;
      for (const m of r.summary.matchAll(pattern)) {
        let ids = seen.get(m[0]);
        if (!ids) seen.set(m[0], (ids = new Set()));
        // Two parties and the threshold: more would never change a decision.
        if (ids.size <= ORDINARY_WORD_RECORDS + 2) ids.add(r.id);
      }
    }
    return seen;
  }
}

/**
 * Returns the word when every spelling of a name is one plain word of letters ("Royal", "IRIDIUM", "locker"),
 * undefined when any spelling is coined (camel case, digits, several words: "RansomHub", "Pay2Key", "Bad Rabbit").
 */
function plainWord(spellings: readonly string[]): string | undefined {
  let word: string | undefined;
  for (const spelling of spellings) {
    const words = nameWords(spelling).filter((w) => !KIND_WORDS.has(w) && w !== 'the');
    if (words.length !== 1 || !/^\p{L}+$/u.test(words[0])) return undefined;
    word = words[0];
  }
  return word;
}

/** Whether two records also cite one report, or share a name besides `key`. */
function corroborated(a: Incident, b: Incident, key: string): boolean {
  const urls = new Set(a.sources.flatMap((s) => (s.url ? [urlKey(s.url)] : [])));
  if (b.sources.some((s) => s.url && urls.has(urlKey(s.url)))) return true;
  const names = new Set(namesOf(a).map(nameKey));
  names.delete(key);
  return namesOf(b).some((n) => {
    const k = nameKey(n);
    return k !== key && k.length >= MIN_DISTINCTIVE_CHARS && names.has(k);
  });
}

function urlKey(url: string): string {
  return url
    .toLowerCase()
    .replace(/^https?:\/\/(www\.)?/, '')
    .replace(/[/#?]+$/, '');
}

/** Whether a record's own description says it is ransomware (in its first two sentences, where publishers define it). */
function describesRansomware(r: Incident): boolean {
  if (r.tags.includes('ransomware')) return true;
  const lead = r.summary.split(/(?<=[.!?])\s+/).slice(0, 2).join(' ');
  return /ransomware/i.test(lead);
}

/** Union-find over ids, refusing to join two sets that each hold a reference record. */
class DisjointSets {
  private readonly parent = new Map<string, string>();

  private find(id: string): string {
    let root = id;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    let at = id;
    while (at !== root) {
      const next = this.parent.get(at) ?? root;
      this.parent.set(at, root);
      at = next;
    }
    return root;
  }

  private readonly hasReference = new Map<string, boolean>();

  /** Joins the sets of a and b; returns false (and joins nothing) when both already hold a reference record or are one set. */
  join(a: string, b: string, isRef: (id: string) => boolean): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    const refA = this.hasReference.get(ra) ?? isRef(ra);
    const refB = this.hasReference.get(rb) ?? isRef(rb);
    if (refA && refB) return false;
    this.parent.set(rb, ra);
    this.parent.set(ra, ra);
    this.hasReference.set(ra, refA || refB);
    return true;
  }

  /** Returns, for every id that was joined, its set (root and members). */
  groups(): Map<string, { root: string; ids: Set<string> }> {
    const byRoot = new Map<string, { root: string; ids: Set<string> }>();
    const out = new Map<string, { root: string; ids: Set<string> }>();
    for (const id of this.parent.keys()) {
      const root = this.find(id);
      let set = byRoot.get(root);
      if (!set) byRoot.set(root, (set = { root, ids: new Set() }));
      set.ids.add(id);
      out.set(id, set);
    }
    return out;
  }
}

/**
 * Returns `base` with the lists of `others` added. `crossDataset` (a merge of different ids) also adds the others'
 * titles as aliases, their ids to `sameAs` and their descriptions to the body; otherwise (one id from several
 * places) `base` is the later arrival and wins the single-valued fields.
 */
function unionRecords(base: Incident, others: readonly Incident[], crossDataset: boolean): Incident {
  const all = [base, ...others];
  const titleKey = compactName(base.title);
  const aliases: string[] = [];
  const seenNames = new Set([crossDataset ? titleKey : base.title]);
  for (const r of all) {
    for (const n of crossDataset && r !== base ? [r.title, ...r.aliases] : r.aliases) {
      const k = crossDataset ? compactName(n) : n;
      if (seenNames.has(k)) continue;
      seenNames.add(k);
      aliases.push(n);
    }
  }
  const entities = {} as Entities;
  for (const key of Object.keys(base.entities) as Array<keyof Entities>) entities[key] = unique(all.flatMap((r) => r.entities[key] ?? []));
  const ids = new Set(all.map((r) => r.id));
  const sameAs = unique([...all.flatMap((r) => r.sameAs ?? []), ...(crossDataset ? others.map((o) => o.id) : [])]).filter((id) => id !== base.id);
  const links = uniqueBy(all.flatMap((r) => r.links ?? []), (l: Link) => `${l.type} ${l.to} ${l.inverse ? 1 : 0}`);
  // A kept record stored back after a merge (a feed story attached to it) already carries the others' texts.
  const bodies = crossDataset
    ? unique([base.body, ...others.map((o) => (o.summary !== o.title && !base.body?.includes(o.summary) ? o.summary : undefined))].filter(
        (t): t is string => !!t && t !== base.summary,
      ))
    : [];
  const firstOf = <K extends 'date' | 'dateEnd' | 'stixId' | 'body' | 'impact'>(key: K): Incident[K] => all.find((r) => r[key] !== undefined && r[key] !== null)?.[key] as Incident[K];
  const out: Incident = {
    ...base,
    date: firstOf('date') ?? null,
    aliases,
    sources: uniqueBy(all.flatMap((r) => r.sources), sourceKey),
    tags: unique(all.flatMap((r) => r.tags)),
    entities,
    related: unique(all.flatMap((r) => r.related)).filter((id) => !ids.has(id)),
  };
  const dateEnd = firstOf('dateEnd');
  if (dateEnd !== undefined) out.dateEnd = dateEnd;
  for (const key of ['stixId', 'impact'] as const) {
    const v = firstOf(key);
    if (v !== undefined) out[key] = v;
  }
  const body = crossDataset ? (bodies.length > 0 ? bodies.join('\n\n') : undefined) : firstOf('body');
  if (body !== undefined) out.body = body;
  if (sameAs.length > 0) out.sameAs = sameAs;
  else delete out.sameAs;
  if (links.length > 0) out.links = links;
  else delete out.links;
  return out;
}

function sourceKey(s: Source): string {
  return s.url ?? `pub:${s.publisher ?? ''}:${s.title ?? ''}:${s.published ?? ''}`;
}

function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
