import type { Entities, Incident, Link, Source } from './incident.js';
import { NameMatcher, namesOf } from './name-matcher.js';
import { nameKey } from './names.js';
import { compactName } from './text.js';

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
