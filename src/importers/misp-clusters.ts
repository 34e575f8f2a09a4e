import { countryCode, countryName } from '../core/countries.js';
import type { Link } from '../core/incident.js';
import { slugOf } from '../core/relations.js';
import { foldText } from '../core/text.js';
import type { FlatRecord } from './flat.js';
import { ImportError, isObject, nonEmptyString, unique } from './util.js';

/** The MISP galaxy cluster types imported as records of their own (Tidal campaigns have their own importer). */
export const CLUSTER_TYPES = ['threat-actor', 'ransomware'] as const;
/** A MISP galaxy cluster type imported here. */
export type ClusterType = (typeof CLUSTER_TYPES)[number];

// MISP `related[].type` values, by the graph relation they state. Types not listed (and targets of unknown uuids,
// such as ATT&CK techniques) carry nothing the bot answers from.
const RELATION_OF: Record<string, { type: Link['type']; inverse?: true }> = {
  uses: { type: 'uses' },
  deploys: { type: 'uses' },
  delivers: { type: 'uses' },
  'used-by': { type: 'uses', inverse: true },
  'dropped-by': { type: 'uses', inverse: true },
  targets: { type: 'targets' },
  similar: { type: 'related-to' },
  overlaps: { type: 'related-to' },
  'linked-to': { type: 'related-to' },
  'related-to': { type: 'related-to' },
  'associated-with': { type: 'related-to' },
  'part-of': { type: 'related-to' },
  'variant-of': { type: 'related-to' },
  'successor-of': { type: 'related-to' },
  'parent-of': { type: 'related-to' },
  'derived-from': { type: 'related-to' },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Returns the flat-schema records of a MISP galaxy `threat-actor` or `ransomware` cluster file, each with its place
 * for errors. Threat actors become groups (`misp:threat-actor:<uuid>`): synonyms as aliases, refs as sources, origin
 * country and suspected state sponsor as countries and actors (and `attributed-to` links), suspected victims and
 * target categories as victims (and `targets` links to countries and sectors). Ransomware families become software
 * (`misp:ransomware:<uuid>`) with synonyms, first-seen date and refs. `related` entries become links by uuid.
 */
export function clusterFlatRecords(doc: Record<string, unknown> & { values: unknown[] }, type: ClusterType, origin: string): Array<{ record: FlatRecord; where: string }> {
  const out: Array<{ record: FlatRecord; where: string }> = [];
  doc.values.forEach((value, i) => {
    const where = `${origin}: values[${i}]`;
    if (!isObject(value)) throw new ImportError(`${where}: expected an object, got ${JSON.stringify(value)}`);
    const title = nonEmptyString(value.value);
    if (!title) throw new ImportError(`${where}: value: missing; a cluster needs a name`);
    const uuid = nonEmptyString(value.uuid);
    if (!uuid || !UUID.test(uuid)) throw new ImportError(`${where} (${title}): uuid: expected a UUID, got ${JSON.stringify(value.uuid)}`);
    const meta = isObject(value.meta) ? value.meta : {};
    const description = nonEmptyString(value.description);
    const record: FlatRecord = {
      id: `misp:${type}:${uuid.toLowerCase()}`,
      title,
      date: null,
      summary: description ?? title,
      sources: strings(meta.refs),
      tags: [],
      aliases: strings(meta.synonyms).filter((s) => s !== title),
    };
    const links: Link[] = relatedLinks(value.related);
    if (type === 'threat-actor') {
      record.tags = ['type:group', 'dataset:misp-galaxy-threat-actor', ...strings(meta['cfr-type-of-incident']).map((t) => foldText(t))];
      const { entities, links: own } = actorFacts(meta);
      record.entities = entities;
      links.unshift(...own);
    } else {
      record.tags = ['type:software', 'dataset:misp-galaxy-ransomware', 'ransomware'];
      const date = looseDate(nonEmptyString(meta.date));
      if (date) {
        record.date = date;
        // A family's date is when it was first seen: the day only when the publisher gives one.
        record.date_precision = date.length === 10 ? 'day' : date.length === 7 ? 'month' : 'year';
      }
      const { entities, links: own } = actorFacts(meta);
      if (entities.victims?.length) record.entities = { victims: entities.victims };
      links.unshift(...own.filter((l) => l.type === 'targets'));
    }
    if (links.length > 0) record.links = uniqueLinks(links);
    out.push({ record, where: `${where} (${title})` });
  });
  return out;
}

/** Returns the entities and links a threat actor's meta states: origin, sponsor, victims, sectors. */
function actorFacts(meta: Record<string, unknown>): { entities: NonNullable<FlatRecord['entities']>; links: Link[] } {
  const links: Link[] = [];
  const countries: string[] = [];
  const actors: string[] = [];
  for (const origin of strings(meta.country)) {
    const code = countryCode(origin);
    countries.push(code ? (countryName(code) ?? origin) : origin);
    if (code) links.push({ type: 'attributed-to', to: `country:${code}` });
  }
  for (const sponsor of strings(meta['cfr-suspected-state-sponsor'])) {
    if (/^unknown$/i.test(sponsor)) continue;
    const code = countryCode(sponsor);
    actors.push(code ? (countryName(code) ?? sponsor) : sponsor);
    if (code) links.push({ type: 'attributed-to', to: `country:${code}` });
  }
  const victims: string[] = [];
  for (const victim of strings(meta['cfr-suspected-victims'])) {
    victims.push(victim);
    const code = countryCode(victim);
    if (code) links.push({ type: 'targets', to: `country:${code}` });
  }
  for (const sector of [...strings(meta['cfr-target-category']), ...strings(meta['targeted-sector'])]) {
    victims.push(sector);
    const slug = slugOf(sector);
    if (slug) links.push({ type: 'targets', to: `sector:${slug}` });
  }
  return { entities: { countries: unique(countries), actors: unique(actors), victims: unique(victims) }, links };
}

function relatedLinks(related: unknown): Link[] {
  if (!Array.isArray(related)) return [];
  const out: Link[] = [];
  for (const r of related) {
    if (!isObject(r)) continue;
    const dest = nonEmptyString(r['dest-uuid']);
    const relation = typeof r.type === 'string' ? RELATION_OF[r.type] : undefined;
    if (!dest || !UUID.test(dest) || !relation) continue;
    out.push({ type: relation.type, to: `uuid:${dest.toLowerCase()}`, ...(relation.inverse ? { inverse: true as const } : {}) });
  }
  return out;
}

function uniqueLinks(links: readonly Link[]): Link[] {
  const seen = new Map<string, Link>();
  for (const l of links) seen.set(`${l.type} ${l.to} ${l.inverse ? 1 : 0}`, l);
  return [...seen.values()];
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return unique(list.filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v !== ''));
}

// First three letters of English month names; publishers misspell the rest ("Febuary", "JanuaryJ") and the
// French "mars" still starts like March.
const MONTH_PREFIX = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Returns the first date a free-text field names, as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, or undefined:
 * "February 2017", "December 2016/January 2017" (the first), "Nov. 30, 2021", "2019".
 */
export function looseDate(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const first = text.split(/[/;]|\bto\b|–/)[0];
  const year = /\b(19\d{2}|20\d{2})\b/.exec(first)?.[1];
  if (!year) return undefined;
  const word = /\b([a-z]{3,})\.?/i.exec(foldText(first).replace(/\d+/g, ' '));
  const month = word ? MONTH_PREFIX.indexOf(word[1].slice(0, 3)) + 1 : 0;
  if (month === 0) return year;
  const mm = String(month).padStart(2, '0');
  const day = /\b([0-3]?\d)\b(?!\d)/.exec(first.replace(year, ' '))?.[1];
  const dd = day && Number(day) >= 1 && Number(day) <= 31 ? String(Number(day)).padStart(2, '0') : undefined;
  if (dd && isRealDay(Number(year), month, Number(dd))) return `${year}-${mm}-${dd}`;
  return `${year}-${mm}`;
}

function isRealDay(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}
