import type { Incident, Link, Source } from '../core/incident.js';
import { addIntroducedNames } from '../core/text-aliases.js';
import { flatToIncident, type FlatRecord } from './flat.js';
import { ImportError, isObject, nonEmptyString, parseJsonDocument, shapeHint } from './util.js';

/** One STIX bundle to import: its JSON text or parsed object, and where it came from (for error messages). */
export interface StixInput {
  json: string | object;
  origin: string;
}

type StixObject = Record<string, unknown> & { id: string; type: string };

// STIX types the bot uses, and the flat-schema type tag each becomes.
const TYPE_TAG: Record<string, string> = {
  campaign: 'type:campaign',
  'intrusion-set': 'type:group',
  malware: 'type:software',
  tool: 'type:software',
};

interface Entry {
  object: StixObject;
  origin: string;
  record: FlatRecord;
  domains: string[];
  platforms: string[];
  attributedTo: Set<string>;
  uses: Set<string>;
  usedBy: Set<string>;
  /** Relations by record id, so the graph needs no name lookups for what the bundle states outright. */
  links: Map<string, Link>;
}

/** Returns the campaigns, groups and software of one ATT&CK STIX bundle as incidents (kinds incident, group, software). */
export function importStix(json: string | object, origin: string): Incident[] {
  return importStixBundles([{ json, origin }]);
}

/**
 * Returns the incidents of several STIX bundles merged by object: ATT&CK publishes one bundle per domain
 * (enterprise, ics, mobile) and an object present in several gets one record with all its domains and relationships.
 * Names the descriptions introduce ("also known as X") become aliases.
 */
export function importStixBundles(inputs: readonly StixInput[]): Incident[] {
  return addIntroducedNames(stixFlatRecords(inputs).map(({ record, origin }) => flatToIncident(record, `${origin}: ${record.id}`))).records;
}

/**
 * Returns the flat-schema records (as in incidents.jsonl) for the bundles, sorted by id, each with the bundle it came from.
 * Revoked and deprecated objects and relationships are skipped: ATT&CK keeps them only for old references.
 */
export function stixFlatRecords(inputs: readonly StixInput[]): Array<{ record: FlatRecord; origin: string }> {
  const entries = new Map<string, Entry>();
  const relationships = new Map<string, StixObject>();
  for (const { json, origin } of inputs) {
    const objects = bundleObjects(json, origin);
    const bundleDomains = commonDomains(objects);
    for (const object of objects) {
      if (object.revoked === true || object.x_mitre_deprecated === true) continue;
      if (object.type === 'relationship') {
        relationships.set(object.id, object);
        continue;
      }
      if (!(object.type in TYPE_TAG)) continue;
      const domains = bundleDomains.length > 0 ? bundleDomains : strings(object.x_mitre_domains);
      const platforms = object.type === 'malware' || object.type === 'tool' ? strings(object.x_mitre_platforms) : [];
      const known = entries.get(object.id);
      if (known) {
        addAll(known.domains, domains);
        addAll(known.platforms, platforms);
      } else {
        entries.set(object.id, {
          object,
          origin,
          record: baseRecord(object, origin),
          domains: [...domains],
          platforms: [...platforms],
          attributedTo: new Set(),
          uses: new Set(),
          usedBy: new Set(),
          links: new Map(),
        });
      }
    }
  }
  for (const rel of relationships.values()) {
    const source = entries.get(String(rel.source_ref));
    const target = entries.get(String(rel.target_ref));
    if (!source || !target) continue;
    const sourceType = source.object.type;
    const targetType = target.object.type;
    if (rel.relationship_type === 'attributed-to' && sourceType === 'campaign' && targetType === 'intrusion-set') {
      source.attributedTo.add(target.record.title);
      addLink(source, 'attributed-to', target.record.id);
    } else if (
      rel.relationship_type === 'uses' &&
      (sourceType === 'campaign' || sourceType === 'intrusion-set') &&
      (targetType === 'malware' || targetType === 'tool')
    ) {
      source.uses.add(target.record.title);
      target.usedBy.add(source.record.title);
      addLink(source, 'uses', target.record.id);
    }
  }
  const out = [...entries.values()].map((entry) => ({ record: finishRecord(entry), origin: entry.origin }));
  return out.sort((a, b) => compareIds(a.record.id, b.record.id));
}

function bundleObjects(json: string | object, origin: string): StixObject[] {
  const bundle = typeof json === 'string' ? parseJsonDocument(json, origin) : json;
  if (!isObject(bundle) || bundle.type !== 'bundle' || !Array.isArray(bundle.objects)) {
    throw new ImportError(`${origin} is not a STIX bundle: expected {"type":"bundle","objects":[...]}${shapeHint(bundle)}`);
  }
  const objects: StixObject[] = [];
  for (const o of bundle.objects as unknown[]) {
    if (isObject(o) && typeof o.id === 'string' && typeof o.type === 'string') objects.push(o as StixObject);
  }
  return objects;
}

// ATT&CK tags each object with the domains it belongs to; the one every object of a bundle shares is the bundle's domain.
function commonDomains(objects: readonly StixObject[]): string[] {
  let common: string[] | undefined;
  for (const o of objects) {
    if (!Array.isArray(o.x_mitre_domains)) continue;
    const domains = strings(o.x_mitre_domains);
    common = common === undefined ? domains : common.filter((d) => domains.includes(d));
    if (common.length === 0) return [];
  }
  return common ?? [];
}

function attackId(object: StixObject): string | undefined {
  const refs = Array.isArray(object.external_references) ? object.external_references : [];
  for (const ref of refs) {
    if (isObject(ref) && ref.source_name === 'mitre-attack' && typeof ref.external_id === 'string') return ref.external_id;
  }
  return undefined;
}

function baseRecord(object: StixObject, origin: string): FlatRecord {
  const title = nonEmptyString(object.name);
  if (!title) throw new ImportError(`${origin}: ${object.id}: name: missing; a ${object.type} needs a name`);
  const external = attackId(object);
  // Objects from other STIX producers have no ATT&CK id; their STIX id is still stable and unique.
  const id = external ? `attack:${external}` : `stix:${object.id}`;
  const names = object.type === 'malware' || object.type === 'tool' ? object.x_mitre_aliases ?? object.aliases : object.aliases;
  const aliases = strings(names).filter((a) => a !== title);
  const sources: Source[] = [];
  for (const ref of Array.isArray(object.external_references) ? object.external_references : []) {
    if (!isObject(ref) || typeof ref.url !== 'string') continue;
    const label = ref.source_name === 'mitre-attack' ? undefined : nonEmptyString(ref.source_name);
    sources.push({ url: ref.url, ...(label ? { title: label } : {}) });
  }
  const campaign = object.type === 'campaign';
  return {
    id,
    title,
    date: campaign ? (nonEmptyString(object.first_seen) ?? null) : null,
    ...(campaign ? { date_end: nonEmptyString(object.last_seen) ?? null } : {}),
    summary: typeof object.description === 'string' && object.description.trim() !== '' ? object.description : title,
    sources,
    tags: [],
    aliases,
  };
}

// Tag order follows incidents.jsonl: type, dataset, stix type, domains, platforms, then sorted relationship names.
function finishRecord(entry: Entry): FlatRecord {
  const { object, record } = entry;
  const tags = [TYPE_TAG[object.type], record.id.startsWith('attack:') ? 'dataset:mitre-attack' : 'dataset:stix'];
  if (object.type === 'malware' || object.type === 'tool') tags.push(`stix:${object.type}`);
  tags.push(...entry.domains.map((d) => `domain:${d}`), ...entry.platforms.map((p) => `platform:${p}`));
  tags.push(...sorted(entry.attributedTo).map((n) => `attributed-to:${n}`));
  tags.push(...sorted(entry.uses).map((n) => `uses:${n}`));
  tags.push(...sorted(entry.usedBy).map((n) => `used-by:${n}`));
  const links = [...entry.links.values()].sort((a, b) => compareIds(`${a.type} ${a.to}`, `${b.type} ${b.to}`));
  return { ...record, tags, stix_id: object.id, ...(links.length > 0 ? { links } : {}) };
}

function addLink(entry: Entry, type: Link['type'], to: string): void {
  if (to !== entry.record.id) entry.links.set(`${type} ${to}`, { type, to });
}

function sorted(names: Set<string>): string[] {
  return [...names].sort(compareIds);
}

// Plain code-unit order, as the dataset's converter sorted (upper case before lower case).
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.trim() !== '') : [];
}

function addAll(into: string[], items: readonly string[]): void {
  for (const item of items) if (!into.includes(item)) into.push(item);
}
