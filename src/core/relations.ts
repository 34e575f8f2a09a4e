import { countryCode, countryName } from './countries.js';
import type { Relation } from './graph.js';
import type { Incident, IncidentKind, RelationType } from './incident.js';
import { fastCompact } from './names.js';
import { foldText } from './text.js';

/** A feed post and the story (record) it reports: the `reported-in` relations. */
export interface StoryPost {
  postId: string;
  incidentId: string;
  title?: string;
  /** The post's link, when it has one. */
  url?: string | null;
  /** When the feed says it was published (ISO 8601), when it says. */
  published?: string | null;
  /** When it was stored (epoch milliseconds): its date when the feed gave none. */
  createdAt?: number;
  /** Its text (the start of it is enough: lists show its first sentence and look for names in it). */
  summary?: string;
}

/** The relations of a set of records, with display names for the nodes that are not records. */
export interface ExtractedRelations {
  relations: Relation[];
  labels: Map<string, string>;
}

const CVE_IN_TEXT = /\bCVE-\d{4}-\d{4,}\b/gi;
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const NODE_PREFIXES = ['country:', 'sector:', 'vendor:', 'cve:', 'post:'];

/**
 * Returns the typed relations the records state, every end resolved to a canonical record id (through `canonical`,
 * which maps merged ids to the ids they live on as) or to a node that is not a record. Sources, in order:
 * - `links` (STIX relationships, MISP `related` by uuid, MISP origin, victims and sectors);
 * - the tags `attributed-to:`, `uses:`, `used-by:` (names resolved to a group, software or campaign; a name that
 *   several records of that kind carry is left out rather than guessed), `mentions-cve:`, and `vendor:` of a CVE;
 * - for incidents, their entities (actors, software, countries and victims that are countries);
 * - CVE ids in any record's entities and text (`exploits`; between two vulnerabilities, `related-to`);
 * - `related` (curated) and `sameAs` (merges);
 * - feed posts and the stories they report (`reported-in`).
 */
export function extractRelations(records: readonly Incident[], canonical: ReadonlyMap<string, string>, posts: readonly StoryPost[] = []): ExtractedRelations {
  return new RelationExtractor(records, canonical).extract(records, posts);
}

/**
 * Extracts relations against a fixed set of resolvable records (see `extractRelations`); `add` makes later records
 * resolvable too, so the live index can extend the graph as feed stories arrive without re-reading everything.
 */
export class RelationExtractor {
  private resolver?: Resolver;

  constructor(
    private readonly records: readonly Incident[],
    private readonly canonical: ReadonlyMap<string, string>,
  ) {}

  // Built on first use: start-up from stored relations may never need it.
  private get ctx(): Resolver {
    this.resolver ??= new Resolver(this.records, this.canonical);
    return this.resolver;
  }

  /** Makes these records (new or replaced) resolvable by id, uuid, CVE and name. */
  add(records: readonly Incident[]): void {
    this.ctx.add(records);
  }

  /** Returns the relations these records (and feed posts) state. */
  extract(records: readonly Incident[], posts: readonly StoryPost[] = []): ExtractedRelations {
    return relationsOf(this.ctx, records, posts);
  }
}

function relationsOf(ctx: Resolver, records: readonly Incident[], posts: readonly StoryPost[]): ExtractedRelations {
  const relations: Relation[] = [];
  const labels = new Map<string, string>();
  const add = (from: string | undefined, type: RelationType, to: string | undefined) => {
    if (from && to && from !== to) relations.push({ from, type, to });
  };
  const cveNode = (cve: string) => {
    const id = ctx.cve(cve.toUpperCase());
    if (id.startsWith('cve:')) labels.set(id, cve.toUpperCase());
    return id;
  };

  for (const r of records) {
    const own = r.id;
    for (const link of r.links ?? []) {
      const target = ctx.node(link.to, own);
      if (!target) continue;
      if (target.startsWith('country:')) labels.set(target, countryName(target.slice(8)) ?? target.slice(8));
      else if (target.startsWith('sector:')) labels.set(target, labels.get(target) ?? sectorLabel(target.slice(7)));
      if (link.inverse) add(target, link.type, own);
      else add(own, link.type, target);
    }

    const cveType: RelationType = r.kind === 'vulnerability' ? 'related-to' : 'exploits';
    const ownCve = r.kind === 'vulnerability' ? ctx.ownCve(r) : undefined;
    const cves = new Set<string>();
    for (const tag of r.tags) {
      const colon = tag.indexOf(':');
      if (colon < 0) continue;
      const key = tag.slice(0, colon);
      const value = tag.slice(colon + 1).trim();
      if (!value) continue;
      if (key === 'attributed-to') add(own, 'attributed-to', ctx.byName(value, GROUP, own));
      else if (key === 'uses') add(own, 'uses', ctx.byName(value, SOFTWARE, own));
      else if (key === 'used-by') add(ctx.byName(value, USERS, own), 'uses', own);
      else if (key === 'mentions-cve' && CVE_ID.test(value.toUpperCase())) cves.add(value.toUpperCase());
      else if (key === 'vendor' && r.kind === 'vulnerability') {
        const slug = slugOf(value);
        if (slug) {
          labels.set(`vendor:${slug}`, labels.get(`vendor:${slug}`) ?? value);
          add(own, 'affects', `vendor:${slug}`);
        }
      }
    }

    const e = r.entities;
    if (r.kind === 'incident') {
      for (const actor of e.actors) add(own, 'attributed-to', ctx.byName(actor, GROUP, own));
      for (const tool of e.software) add(own, 'uses', ctx.byName(tool, SOFTWARE, own));
      for (const place of [...e.countries, ...e.victims]) {
        const code = ctx.country(place);
        if (!code) continue;
        labels.set(`country:${code}`, countryName(code) ?? code);
        add(own, 'targets', `country:${code}`);
      }
    }
    for (const cve of e.cves) cves.add(cve.toUpperCase());
    for (const text of [r.summary, r.body]) {
      if (!text || (!text.includes('CVE-') && !text.includes('cve-'))) continue;
      for (const m of text.matchAll(CVE_IN_TEXT)) cves.add(m[0].toUpperCase());
    }
    for (const cve of cves) if (cve !== ownCve) add(own, cveType, cveNode(cve));

    for (const other of r.related) add(own, 'related-to', ctx.record(other));
    for (const other of r.sameAs ?? []) add(own, 'same-as', other);
  }

  for (const p of posts) {
    const story = ctx.record(p.incidentId);
    if (!story) continue;
    add(story, 'reported-in', p.postId);
    if (p.title) labels.set(p.postId, p.title);
  }
  return { relations, labels };
}

const GROUP: readonly IncidentKind[] = ['group'];
const SOFTWARE: readonly IncidentKind[] = ['software'];
// ATT&CK's used-by names groups and campaigns.
const USERS: readonly IncidentKind[] = ['group', 'incident'];

/** Returns the node id part of a free-text value: folded, words joined by hyphens ("Private sector" -> "private-sector"). */
export function slugOf(value: string): string | undefined {
  const slug = foldText(value)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? undefined : slug;
}

function sectorLabel(slug: string): string {
  const words = slug.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Resolves ids, publisher uuids, CVE ids and names to canonical record ids. */
class Resolver {
  private readonly byId = new Map<string, Incident>();
  private readonly byUuid = new Map<string, string>();
  private readonly byCve = new Map<string, string>();
  private names?: Map<string, Incident[]>;

  constructor(
    records: readonly Incident[],
    private readonly canonical: ReadonlyMap<string, string>,
  ) {
    this.add(records);
  }

  add(records: readonly Incident[]): void {
    // The name index is rebuilt on next use: additions are rare (feed stories) and names may change with them.
    this.names = undefined;
    for (const r of records) {
      this.byId.set(r.id, r);
      if (r.stixId) this.byUuid.set(uuidOf(r.stixId), r.id);
      for (const id of [r.id, ...(r.sameAs ?? [])]) {
        const uuid = /^misp:[^:]+:([0-9a-f-]{36})$/i.exec(id)?.[1];
        if (uuid) this.byUuid.set(uuid.toLowerCase(), r.id);
      }
      if (r.kind === 'vulnerability') {
        const cve = this.ownCve(r);
        if (cve && !this.byCve.has(cve)) this.byCve.set(cve, r.id);
      }
    }
  }

  private readonly countries = new Map<string, string | undefined>();

  /** Returns the ISO code of a country name (memoised: the same few hundred names recur across records). */
  country(name: string): string | undefined {
    if (this.countries.has(name)) return this.countries.get(name);
    const code = countryCode(name);
    this.countries.set(name, code);
    return code;
  }

  /** Returns the canonical id of a loaded record, else undefined. */
  record(id: string): string | undefined {
    const c = this.canonical.get(id) ?? id;
    return this.byId.has(c) ? c : undefined;
  }

  /** Returns the node a link points at: a record, a uuid's record, a CVE's record, or a node that is not a record. */
  node(to: string, from: string): string | undefined {
    if (to.startsWith('uuid:')) return this.byUuid.get(to.slice(5).toLowerCase());
    if (to.startsWith('cve:')) return this.cve(to.slice(4).toUpperCase());
    if (NODE_PREFIXES.some((p) => to.startsWith(p))) return to;
    const id = this.record(to);
    return id === from ? undefined : id;
  }

  /** Returns the record of a CVE (a KEV entry) when loaded, else the node `cve:<id>`. */
  cve(cve: string): string {
    return this.byCve.get(cve) ?? `cve:${cve}`;
  }

  /** Returns the CVE id a vulnerability record is about. */
  ownCve(r: Incident): string | undefined {
    const fromId = r.id.slice(r.id.indexOf(':') + 1).toUpperCase();
    if (CVE_ID.test(fromId)) return fromId;
    return r.aliases.map((a) => a.trim().toUpperCase()).find((a) => CVE_ID.test(a));
  }

  /**
   * Returns the one record of these kinds a name names: by title first, then by alias; when several remain, the one
   * from the same dataset as the record that names it; else none (a guess would invent a relation).
   */
  byName(name: string, kinds: readonly IncidentKind[], from: string): string | undefined {
    const key = fastCompact(name);
    if (key.length < 2) return undefined;
    const candidates = (this.nameIndex().get(key) ?? []).filter((r) => kinds.includes(r.kind) && r.id !== from);
    if (candidates.length <= 1) return candidates[0]?.id;
    const titled = candidates.filter((r) => fastCompact(r.title) === key);
    const pool = titled.length > 0 ? titled : candidates;
    if (pool.length === 1) return pool[0].id;
    const dataset = from.slice(0, from.indexOf(':') + 1);
    const same = pool.filter((r) => r.id.startsWith(dataset));
    return same.length === 1 ? same[0].id : undefined;
  }

  private nameIndex(): Map<string, Incident[]> {
    if (this.names) return this.names;
    const names = new Map<string, Incident[]>();
    for (const r of this.byId.values()) {
      if (r.kind === 'vulnerability') continue;
      for (const n of new Set([r.title, ...r.aliases].map(fastCompact))) {
        const list = names.get(n);
        if (list) list.push(r);
        else names.set(n, [r]);
      }
    }
    this.names = names;
    return names;
  }
}

function uuidOf(stixId: string): string {
  return stixId.slice(stixId.indexOf('--') + 2).toLowerCase();
}
