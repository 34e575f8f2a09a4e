import type { Incident, Source } from '../core/incident.js';
import { addIntroducedNames } from '../core/text-aliases.js';
import { assertUniqueIds, flatToIncident, TIDAL_BOILERPLATE, type FlatRecord } from './flat.js';
import { CLUSTER_TYPES, clusterFlatRecords, type ClusterType } from './misp-clusters.js';
import { ImportError, isObject, nonEmptyString, parseJsonDocument, shapeHint, unique } from './util.js';

/** The MISP galaxy types this importer reads; other galaxies are refused (see README, "MISP galaxies"). */
export const GALAXY_TYPES: readonly string[] = ['campaigns', ...CLUSTER_TYPES];

const CITATION = /\(\/references\/([0-9a-f-]{36})\)/gi;
const INLINE_LINK = /\]\((https?:\/\/[^)\s]+)\)/gi;
const CVE_IN_TEXT = /CVE-\d{4}-\d{4,}/gi;
// Links into Tidal's own app point at other catalogue objects (groups, software), not at reporting.
const TIDAL_APP = /^https?:\/\/app\.tidalcyber\.com\//i;
// Tidal re-publishes ATT&CK's campaigns (meta.source "MITRE"); the STIX importer already gives those as attack:<id>.
// Tidal also keeps deprecated entries and technique collections whose text is a template, not an incident account.
const DEPRECATED_NAME = /\(deprecated\)/i;
const DEPRECATED_TEXT = /^\*?We are no longer maintaining this object/;
const TEMPLATE_TEXT = /^This object represents a collection of MITRE ATT&CK® Techniques/;

/** A reference from the Tidal references cluster: the URLs and title a `(/references/<uuid>)` citation stands for. */
export interface GalaxyReference {
  urls: string[];
  title?: string;
  published?: string;
}

/**
 * Returns the records of a MISP galaxy cluster file, by the galaxy type the file declares: Tidal Cyber campaigns as
 * incidents (ids `tidal:<campaign id>`, falling back to `tidal:<uuid>`), with `(/references/<uuid>)` citations
 * resolved into sources through the references cluster file (its JSON, or the map from `galaxyReferences`) when
 * given (without it, only links written inline in the text become sources); `threat-actor` clusters as groups and
 * `ransomware` clusters as software (see `clusterFlatRecords`), names their texts introduce as aliases. Other galaxy
 * types throw an ImportError.
 */
export function importMispGalaxy(
  clusters: string | object,
  references: string | object | ReadonlyMap<string, GalaxyReference> | undefined,
  origin: string,
): Incident[] {
  const refs =
    references === undefined
      ? new Map<string, GalaxyReference>()
      : references instanceof Map
        ? (references as ReadonlyMap<string, GalaxyReference>)
        : galaxyReferences(references, `${origin} (references)`);
  const items = galaxyFlatRecords(clusters, refs, origin).map(({ record, where }) => ({
    incident: flatToIncident(record, where),
    origin: where,
  }));
  return addIntroducedNames(assertUniqueIds(items)).records;
}

/** Returns the references of a Tidal references cluster file by uuid. */
export function galaxyReferences(json: string | object, origin: string): Map<string, GalaxyReference> {
  const doc = galaxyDocument(json, origin);
  if (doc.type !== 'references') {
    throw new ImportError(`${origin} is not a MISP galaxy references cluster: expected "type":"references", got ${JSON.stringify(doc.type)}`);
  }
  const out = new Map<string, GalaxyReference>();
  for (const value of doc.values) {
    if (!isObject(value) || typeof value.uuid !== 'string') continue;
    const meta = isObject(value.meta) ? value.meta : {};
    const urls = Array.isArray(meta.refs) ? meta.refs.filter((u): u is string => typeof u === 'string') : [];
    const title = nonEmptyString(meta.title) ?? nonEmptyString(value.value);
    const published = typeof meta.date_published === 'string' ? /^\d{4}-\d{2}-\d{2}/.exec(meta.date_published)?.[0] : undefined;
    out.set(value.uuid.toLowerCase(), { urls, ...(title ? { title } : {}), ...(published ? { published } : {}) });
  }
  return out;
}

/** Returns the flat-schema records (as in incidents.jsonl) of a supported MISP galaxy cluster file, each with its place for errors. */
export function galaxyFlatRecords(
  json: string | object,
  references: ReadonlyMap<string, GalaxyReference>,
  origin: string,
): Array<{ record: FlatRecord; where: string }> {
  const doc = galaxyDocument(json, origin);
  if (doc.type === 'references') {
    throw new ImportError(`${origin} is the references cluster, not the campaigns: pass the campaigns file first and this one as references`);
  }
  if ((CLUSTER_TYPES as readonly string[]).includes(doc.type as string)) return clusterFlatRecords(doc, doc.type as ClusterType, origin);
  if (doc.type !== 'campaigns') {
    throw new ImportError(
      `${origin}: MISP galaxy type ${JSON.stringify(doc.type)} is not imported: the bot reads the galaxies ${GALAXY_TYPES.map((t) => `"${t}"`).join(', ')} ` +
        '(other galaxies hold techniques, tools or vocabularies already covered by ATT&CK and KEV, or nothing an incident answer can use)',
    );
  }
  const out: Array<{ record: FlatRecord; where: string }> = [];
  doc.values.forEach((value, i) => {
    const where = `${origin}: values[${i}]`;
    if (!isObject(value)) throw new ImportError(`${where}: expected an object, got ${JSON.stringify(value)}`);
    const meta = isObject(value.meta) ? value.meta : {};
    const title = nonEmptyString(value.value);
    if (!title) throw new ImportError(`${where}: value: missing; a campaign needs a name`);
    const description = typeof value.description === 'string' ? value.description : '';
    if (meta.source === 'MITRE' || DEPRECATED_NAME.test(title) || DEPRECATED_TEXT.test(description) || TEMPLATE_TEXT.test(description)) return;
    const key = nonEmptyString(meta.campaign_attack_id) ?? nonEmptyString(value.uuid);
    if (!key) throw new ImportError(`${where} (${title}): meta.campaign_attack_id and uuid: both missing; a campaign needs an id`);
    const cves = unique([...description.matchAll(CVE_IN_TEXT)].map((m) => m[0].toUpperCase())).sort();
    out.push({
      record: {
        id: `tidal:${key}`,
        title,
        date: nonEmptyString(meta.first_seen) ?? null,
        date_end: nonEmptyString(meta.last_seen) ?? null,
        summary: description.trim() !== '' ? description : title,
        sources: citedSources(description, references),
        tags: ['type:campaign', 'dataset:tidal-cyber-via-misp-galaxy', ...cves.map((c) => `mentions-cve:${c}`)],
        aliases: [],
      },
      where: `${where} (${title})`,
    });
  });
  return out;
}

// Links written inline come first, then the cited references in citation order (as incidents.jsonl lists them).
function citedSources(description: string, references: ReadonlyMap<string, GalaxyReference>): Source[] {
  const sources: Source[] = [];
  // The boilerplate's only link is a tutorial video for Tidal's web app.
  for (const m of description.replace(TIDAL_BOILERPLATE, '').matchAll(INLINE_LINK)) if (!TIDAL_APP.test(m[1])) sources.push({ url: m[1] });
  for (const m of description.matchAll(CITATION)) {
    const ref = references.get(m[1].toLowerCase());
    if (!ref) continue;
    for (const url of ref.urls) {
      sources.push({ url, ...(ref.title ? { title: ref.title } : {}), ...(ref.published ? { published: ref.published } : {}) });
    }
  }
  return sources;
}

function galaxyDocument(json: string | object, origin: string): Record<string, unknown> & { values: unknown[] } {
  const doc = typeof json === 'string' ? parseJsonDocument(json, origin) : json;
  if (!isObject(doc) || !Array.isArray(doc.values) || typeof doc.type !== 'string') {
    throw new ImportError(`${origin} is not a MISP galaxy cluster file: expected {"type":...,"uuid":...,"values":[...]}${shapeHint(doc)}`);
  }
  return doc as Record<string, unknown> & { values: unknown[] };
}
