import {
  clipIncident,
  IncidentValidationError,
  parseIncident,
  type Incident,
  type IncidentDate,
  type IncidentKind,
  type Link,
  type Source,
} from '../core/incident.js';
import { stripMarkup } from '../core/text.js';
import { ImportError, isObject, normaliseSources, unique } from './util.js';

/**
 * One record in the project's flat schema, exactly as in `../shared/datasets/incidents.jsonl`.
 * Raw importers build these first so that every format maps to incidents through the same rules.
 * `sources` may also hold `{url, title?, publisher?, published?}` objects when the raw format knows more than a URL.
 */
export interface FlatRecord {
  id: string;
  title: string;
  date: string | null;
  date_end?: string | null;
  /** 'day' | 'month' | 'year': overrides the precision read from the shape of `date` (and `date_end`). */
  date_precision?: string;
  /** Overrides the precision of `date_end` only; falls back to `date_precision`. */
  date_end_precision?: string;
  summary: string;
  sources: Array<string | Source>;
  tags: string[];
  aliases: string[];
  /** Entities the raw format states beyond what the tags imply (MISP countries, victims); added to the tags' ones. */
  entities?: Partial<Incident['entities']>;
  /** Relations the raw format states (STIX relationships, MISP `related`). */
  links?: Link[];
  /** The STIX id of the object the record comes from. */
  stix_id?: string;
}

const KIND_BY_TYPE_TAG: Record<string, IncidentKind> = {
  'type:campaign': 'incident',
  'type:incident': 'incident',
  'type:group': 'group',
  'type:software': 'software',
  'type:vulnerability': 'vulnerability',
};

const CVE = /^CVE-\d{4}-\d{4,}$/;
const PRECISIONS = ['day', 'month', 'year'] as const;
type Precision = (typeof PRECISIONS)[number];

/** Thrown for one bad field of a flat record; the caller prefixes the origin (file:line). */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * Returns the date a flat-schema value stands for. A `YYYY-MM-DD` string is a day; a full ISO timestamp is a month,
 * read 12 hours later because the dataset stores month-precise dates as local midnight in UTC
 * (`2023-01-31T23:00:00Z` is February 2023). `precision` overrides the precision; null stays null.
 */
export function parseFlatDate(value: unknown, field: string, precision?: unknown): IncidentDate | null {
  if (value === null || value === undefined) return null;
  if (precision === null) precision = undefined;
  if (precision !== undefined && !PRECISIONS.includes(precision as Precision)) {
    throw new FieldError(`${field}_precision`, `expected "day", "month" or "year", got ${JSON.stringify(precision)}`);
  }
  const wanted = precision as Precision | undefined;
  if (typeof value !== 'string') throw new FieldError(field, `expected an ISO date string or null, got ${typeof value}`);
  const text = value.trim();
  const short = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(text);
  if (short) {
    const [, y, m, d] = short;
    if (m && (Number(m) < 1 || Number(m) > 12)) throw new FieldError(field, `month out of range in "${text}"`);
    if (d && !isRealDay(Number(y), Number(m), Number(d))) throw new FieldError(field, `no such day "${text}"`);
    const given: Precision = d ? 'day' : m ? 'month' : 'year';
    const precisionOut = wanted ?? given;
    if (PRECISIONS.indexOf(precisionOut) < PRECISIONS.indexOf(given)) {
      throw new FieldError(field, `"${text}" is not precise enough for ${precisionOut} precision`);
    }
    return datePart(Number(y), Number(m || 1), Number(d || 1), precisionOut);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new FieldError(field, `not a valid ISO timestamp: "${text}"`);
    const shifted = new Date(ms + 12 * 3600 * 1000);
    return datePart(shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, shifted.getUTCDate(), wanted ?? 'month');
  }
  throw new FieldError(field, `expected YYYY-MM-DD, an ISO timestamp or null, got "${text}"`);
}

function isRealDay(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function datePart(y: number, m: number, d: number, precision: Precision): IncidentDate {
  const yy = String(y).padStart(4, '0');
  const mm = String(m).padStart(2, '0');
  const dd = String(d).padStart(2, '0');
  const value = precision === 'year' ? yy : precision === 'month' ? `${yy}-${mm}` : `${yy}-${mm}-${dd}`;
  return { value, precision };
}

/** Tidal's web-app boilerplate ("*Operationalize this intelligence ... Add to Matrix ...*"): says nothing about the incident. */
export const TIDAL_BOILERPLATE = /^\*?Operationalize this intelligence by pivoting[^\n]*\n?/m;

/** Returns the summary as plain text: publisher markup stripped, markdown emphasis unwrapped, UI boilerplate dropped. */
export function cleanSummary(raw: string): string {
  const text = stripMarkup(raw.replace(TIDAL_BOILERPLATE, ''));
  return text
    .replace(/\*\*([^*\n]+)\*\*/g, '$1')
    .replace(/^\*([^*\n]+)\*$/gm, '$1')
    .trim();
}

/** Returns the incident kind named by the record's `type:` tag ('incident' when there is none). */
export function kindFromTags(tags: readonly string[]): IncidentKind {
  const typeTag = tags.find((t) => t.startsWith('type:'));
  if (typeTag === undefined) return 'incident';
  const kind = KIND_BY_TYPE_TAG[typeTag];
  if (!kind) {
    throw new FieldError('tags', `unknown type tag "${typeTag}" (expected ${Object.keys(KIND_BY_TYPE_TAG).join(', ')})`);
  }
  return kind;
}

/** Returns the entities a flat record's tags (and, for vulnerabilities, its CVE id) name. */
export function entitiesFromTags(id: string, kind: IncidentKind, tags: readonly string[], aliases: readonly string[]): Incident['entities'] {
  const actors: string[] = [];
  const software: string[] = [];
  const cves: string[] = [];
  for (const tag of tags) {
    const colon = tag.indexOf(':');
    if (colon < 0) continue;
    const key = tag.slice(0, colon);
    const value = tag.slice(colon + 1).trim();
    if (!value) continue;
    if (key === 'attributed-to' || key === 'used-by') actors.push(value);
    else if (key === 'uses') software.push(value);
    else if (key === 'mentions-cve' && CVE.test(value.toUpperCase())) cves.push(value.toUpperCase());
  }
  if (kind === 'vulnerability') {
    const own = id.slice(id.indexOf(':') + 1).toUpperCase();
    if (CVE.test(own)) cves.unshift(own);
    for (const alias of aliases) if (CVE.test(alias.trim().toUpperCase())) cves.push(alias.trim().toUpperCase());
  }
  return { actors: unique(actors), victims: [], software: unique(software), cves: unique(cves), countries: [] };
}

function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldError(field, `expected an array of strings, got ${typeof value}`);
  value.forEach((v, i) => {
    if (typeof v !== 'string') throw new FieldError(`${field}[${i}]`, `expected a string, got ${JSON.stringify(v)}`);
  });
  return value as string[];
}

function sourceArray(value: unknown): Array<string | Source> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldError('sources', `expected an array of URLs, got ${typeof value}`);
  return value.map((v, i) => {
    if (typeof v === 'string') return v;
    if (isObject(v) && (typeof v.url === 'string' || typeof v.publisher === 'string')) return v as Source;
    throw new FieldError(`sources[${i}]`, `expected a URL string or {url, title?, publisher?}, got ${JSON.stringify(v)}`);
  });
}

function requiredText(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new FieldError(field, value === undefined ? 'missing' : `expected a string, got ${JSON.stringify(value)}`);
  }
  if (value.trim() === '') throw new FieldError(field, 'is empty');
  return value;
}

/**
 * Returns the validated incident for one flat-schema record (as parsed from JSON), clipped to INCIDENT_BOUNDS like
 * every imported record (importers clip, they do not fail on overlong text or lists), or throws an ImportError
 * "<origin>: <field>: <problem>" where origin is e.g. "incidents.jsonl:12".
 */
export function flatToIncident(record: unknown, origin: string): Incident {
  try {
    if (!isObject(record)) throw new FieldError('(record)', `expected a JSON object, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`);
    const id = requiredText(record.id, 'id').trim();
    const title = requiredText(record.title, 'title').trim();
    const rawSummary = requiredText(record.summary, 'summary');
    const tags = stringArray(record.tags, 'tags');
    tags.forEach((t, i) => {
      if (t.trim() === '') throw new FieldError(`tags[${i}]`, 'is empty');
    });
    const aliases = unique(stringArray(record.aliases, 'aliases').map((a) => a.trim()).filter((a) => a !== ''));
    const kind = kindFromTags(tags);
    const date = parseFlatDate(record.date, 'date', record.date_precision);
    const endPrecision = record.date_end_precision ?? record.date_precision;
    const dateEnd = 'date_end' in record ? parseFlatDate(record.date_end, 'date_end', endPrecision) : undefined;
    const summary = cleanSummary(rawSummary) || title;
    const entities = entitiesFromTags(id, kind, tags, aliases);
    if (isObject(record.entities)) {
      for (const key of Object.keys(entities) as Array<keyof Incident['entities']>) {
        const more = stringArray(record.entities[key], `entities.${key}`).map((v) => v.trim()).filter((v) => v !== '');
        entities[key] = unique([...entities[key], ...more]);
      }
    }
    const links = Array.isArray(record.links) ? (record.links as Link[]) : [];
    const stixId = typeof record.stix_id === 'string' ? record.stix_id : undefined;
    return parseIncident(
      clipIncident({
        id,
        kind,
        title,
        date,
        ...(dateEnd !== undefined ? { dateEnd } : {}),
        aliases,
        summary,
        sources: normaliseSources(sourceArray(record.sources)),
        tags,
        entities,
        ...(links.length > 0 ? { links } : {}),
        ...(stixId ? { stixId } : {}),
      }),
      origin,
    );
  } catch (err) {
    if (err instanceof FieldError) throw new ImportError(`${origin}: ${err.message}`, { cause: err });
    if (err instanceof IncidentValidationError) throw new ImportError(err.message, { cause: err });
    throw err;
  }
}

/** Returns true when a parsed JSON line already is a full Incident (it has `kind`, or `date` is `{value, precision}`). */
export function looksLikeIncident(record: Record<string, unknown>): boolean {
  return 'kind' in record || isObject(record.date);
}

/** Returns the validated incident for a line that already is an Incident object, or throws an ImportError naming origin and field. */
export function incidentFromObject(record: unknown, origin: string): Incident {
  try {
    return parseIncident(clipIncident(record), origin);
  } catch (err) {
    if (err instanceof IncidentValidationError) throw new ImportError(err.message, { cause: err });
    throw err;
  }
}

/** Returns the incidents with duplicate ids rejected: an ImportError names the id and both places it came from. */
export function assertUniqueIds(items: ReadonlyArray<{ incident: Incident; origin: string }>): Incident[] {
  const seen = new Map<string, string>();
  for (const { incident, origin } of items) {
    const first = seen.get(incident.id);
    if (first !== undefined) {
      throw new ImportError(`${origin}: id: "${incident.id}" already appears at ${first}; each record needs its own id`);
    }
    seen.set(incident.id, origin);
  }
  return items.map((i) => i.incident);
}
