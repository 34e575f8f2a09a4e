import { z } from './zod.js';
import { truncateWords } from './text.js';

/**
 * The longest value (or list) a record may hold. Each is several times the longest in the real datasets (measured over
 * ../shared/datasets: incidents.jsonl, the ATT&CK enterprise/ICS/mobile bundles, CISA KEV and the MISP galaxies
 * tidal-campaigns, threat-actor and ransomware), so clipping never shortens a real record; the figures in brackets are
 * those maxima. The bounds exist for hostile or broken input (a feed, a hand-made file): one record must not be able to
 * hold megabytes of text or thousands of list entries.
 */
export const INCIDENT_BOUNDS = {
  /** Ids are identities: refused when longer, never clipped [54 with the MISP uuid ids]. */
  id: 256,
  /** [136, KEV vulnerability names; 82 Tidal campaign names]. Feed item titles are clipped to the same 300. */
  title: 300,
  /** Aliases per record [16 ATT&CK G0007; 41 MISP threat-actor synonyms (Lazarus Group); the union of both when merged]. */
  aliases: 100,
  /** [50]. */
  alias: 200,
  /** [1,756 in incidents.jsonl; raw descriptions up to 3,808 (MISP ransomware Yashma)]. Renderers cut it further. */
  summary: 20_000,
  /** Long write-ups [752 in the bundled corpus]. */
  body: 100_000,
  /** [159]. */
  impact: 2_000,
  /** Tags per record [64, ATT&CK S0002 with its used-by tags]. */
  tags: 500,
  /** [187, a KEV product tag]. */
  tag: 256,
  /** Entries per entity list (actors, victims, software, cves, countries) [59 actors of S0002; 49 software of G0016; 27 MISP suspected victims]. */
  entities: 300,
  /** [54]. */
  entity: 200,
  /** Sources per record [47 ATT&CK G0129; 294 MISP ransomware refs (Sodinokibi)]. */
  sources: 500,
  /** Longer links are dropped, not clipped (a clipped link leads nowhere) [918, a MISP ransomware ref]. */
  sourceUrl: 2_048,
  /** [161]. */
  sourceTitle: 500,
  /** [102, ATT&CK source names]. */
  publisher: 200,
  /** `published` of a source: an ISO 8601 timestamp at most. */
  sourcePublished: 35,
  /** Related ids per record [2]. */
  related: 200,
  /** CVE ids: "CVE-YYYY-" and up to 11 digits. */
  cve: 20,
  /** Ids merged into one record [a handful: ATT&CK + MISP actor + MISP ransomware]. */
  sameAs: 100,
  /** Relations one record states [hundreds for a busy ATT&CK group or tool with its used-by relationships]. */
  links: 5_000,
} as const;

const B = INCIDENT_BOUNDS;

/** How exact an incident date is: a day, a month or only a year. */
export const DatePrecisionSchema = z.enum(['day', 'month', 'year']);
/** How exact an incident date is. */
export type DatePrecision = z.infer<typeof DatePrecisionSchema>;

/** A calendar date with its precision; `value` is `YYYY-MM-DD`, `YYYY-MM` or `YYYY` to match `precision`. */
export const IncidentDateSchema = z
  .object({
    value: z.string().regex(/^\d{4}(-\d{2}(-\d{2})?)?$/, 'expected YYYY, YYYY-MM or YYYY-MM-DD'),
    precision: DatePrecisionSchema,
  })
  .refine((d) => d.value.split('-').length === { year: 1, month: 2, day: 3 }[d.precision], {
    message: 'value does not match precision (day: YYYY-MM-DD, month: YYYY-MM, year: YYYY)',
  });
/** A calendar date with its precision. */
export type IncidentDate = z.infer<typeof IncidentDateSchema>;

/** Only http(s) links: anything else (javascript:, data:, file:) would be a hazard in chat renderers. */
const HttpUrlSchema = z
  .string()
  .max(B.sourceUrl)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'only http(s) URLs are allowed' });

/** A source about an incident: as much as is known; a source without a link carries at least its publisher. */
export const SourceSchema = z
  .object({
    url: HttpUrlSchema.optional(),
    title: z.string().min(1).max(B.sourceTitle).optional(),
    publisher: z.string().min(1).max(B.publisher).optional(),
    published: z.string().max(B.sourcePublished).regex(/^\d{4}(-\d{2}(-\d{2})?)?/).optional(),
  })
  .refine((s) => s.url !== undefined || s.publisher !== undefined, {
    message: 'a source needs a url or, when it cannot be linked, a publisher',
  });
/** A source about an incident. */
export type Source = z.infer<typeof SourceSchema>;

const entityList = () => z.array(z.string().min(1).max(B.entity)).max(B.entities).default([]);
/** Who and what an incident involves, as far as the data says. */
export const EntitiesSchema = z.object({
  actors: entityList(),
  victims: entityList(),
  software: entityList(),
  cves: z.array(z.string().max(B.cve).regex(/^CVE-\d{4}-\d{4,}$/, 'expected CVE-YYYY-NNNN')).max(B.entities).default([]),
  countries: entityList(),
});
/** Who and what an incident involves. */
export type Entities = z.infer<typeof EntitiesSchema>;

/** What a record describes: an incident, or context (a group, a piece of software, a vulnerability). */
export const IncidentKindSchema = z.enum(['incident', 'group', 'software', 'vulnerability']);
/** What a record describes. */
export type IncidentKind = z.infer<typeof IncidentKindSchema>;

/**
 * The typed relations of the knowledge graph. `attributed-to`: campaign -> group, group -> origin country;
 * `uses`: campaign or group -> software; `exploits`: record -> CVE; `targets`: record -> country or sector;
 * `same-as`: kept record -> an id merged into it; `reported-in`: story -> feed post; `affects`: CVE -> vendor;
 * `related-to`: any looser link the data states (MISP "similar", "overlaps", "variant-of", curated `related`).
 */
export const RelationTypeSchema = z.enum(['attributed-to', 'uses', 'exploits', 'targets', 'same-as', 'reported-in', 'affects', 'related-to']);
/** A relation type of the knowledge graph. */
export type RelationType = z.infer<typeof RelationTypeSchema>;

/**
 * A relation a record states about another thing, as its source gave it: `to` is a record id (`attack:G0016`), a
 * publisher's object reference to resolve at load (`uuid:<uuid>`: a STIX or MISP uuid), or a node that is not a
 * record (`country:RU`, `sector:government`, `vendor:microsoft`, `cve:CVE-2021-44228`). `inverse` states the relation
 * from `to` to this record (a MISP ransomware family "used-by" an actor is that actor `uses` it).
 */
export const LinkSchema = z.object({ type: RelationTypeSchema, to: z.string().min(1), inverse: z.literal(true).optional() });
/** A relation a record states, before ids are resolved. */
export type Link = z.infer<typeof LinkSchema>;

/** One incident (or context record) as validated from any source: bundled data, importers, feeds. */
export const IncidentSchema = z.object({
  id: z.string().max(B.id).regex(/^[a-z][a-z0-9-]*:\S+$/, 'expected "<namespace>:<id>", e.g. "seed:skyecc-2021"'),
  kind: IncidentKindSchema,
  title: z.string().trim().min(1).max(B.title),
  date: IncidentDateSchema.nullable().default(null),
  dateEnd: IncidentDateSchema.nullable().optional(),
  aliases: z.array(z.string().trim().min(1).max(B.alias)).max(B.aliases).default([]),
  summary: z.string().trim().min(1).max(B.summary),
  body: z.string().max(B.body).optional(),
  impact: z.string().max(B.impact).optional(),
  sources: z.array(SourceSchema).max(B.sources).default([]),
  tags: z.array(z.string().min(1).max(B.tag)).max(B.tags).default([]),
  entities: EntitiesSchema.default({ actors: [], victims: [], software: [], cves: [], countries: [] }),
  related: z.array(z.string().max(B.id)).max(B.related).default([]),
  /** Ids of records merged into this one (other datasets' records of the same real-world thing); absent when none. */
  sameAs: z.array(z.string().min(1).max(B.id)).max(B.sameAs).optional(),
  /** The STIX id of the object this record was imported from (`intrusion-set--<uuid>`): other datasets point at it. */
  stixId: z.string().regex(/^[a-z][a-z0-9-]*--[0-9a-fA-F-]{36}$/, 'expected a STIX id "<type>--<uuid>"').optional(),
  /** Relations the source states, resolved into the graph at load; absent when none. */
  links: z.array(LinkSchema).max(B.links).optional(),
});
/** A validated incident record. */
export type Incident = z.infer<typeof IncidentSchema>;
/** What callers may pass before defaults are applied (e.g. importers building records). */
export type IncidentInput = z.input<typeof IncidentSchema>;

/**
 * Returns the record with every text clipped and every list cut to INCIDENT_BOUNDS, for importers and feeds to apply
 * before validation: an overlong field is shortened (prose at a word boundary, with an ellipsis), never a reason to
 * lose the record. Links longer than the bound are dropped (a source without a link keeps its publisher), as are
 * overlong CVE and related ids; an overlong record id is left for validation to refuse. Values of the wrong type are
 * left as they are, for validation to name.
 */
export function clipIncident<T>(input: T): T {
  if (!isRecord(input)) return input;
  const out: Record<string, unknown> = { ...input };
  clipText(out, 'title', B.title);
  clipText(out, 'summary', B.summary);
  clipText(out, 'body', B.body);
  clipText(out, 'impact', B.impact);
  if (Array.isArray(out.aliases)) out.aliases = clipList(out.aliases, B.aliases, B.alias);
  if (Array.isArray(out.tags)) out.tags = clipList(out.tags, B.tags, B.tag);
  if (Array.isArray(out.related)) out.related = out.related.filter((r) => typeof r !== 'string' || r.length <= B.id).slice(0, B.related);
  if (Array.isArray(out.sameAs)) out.sameAs = out.sameAs.filter((r) => typeof r !== 'string' || r.length <= B.id).slice(0, B.sameAs);
  if (Array.isArray(out.links)) out.links = out.links.slice(0, B.links);
  if (Array.isArray(out.sources)) out.sources = out.sources.flatMap(clipSource).slice(0, B.sources);
  if (isRecord(out.entities)) {
    const e: Record<string, unknown> = { ...out.entities };
    for (const k of ['actors', 'victims', 'software', 'countries']) if (Array.isArray(e[k])) e[k] = clipList(e[k] as unknown[], B.entities, B.entity);
    if (Array.isArray(e.cves)) e.cves = e.cves.filter((c) => typeof c !== 'string' || c.length <= B.cve).slice(0, B.entities);
    out.entities = e;
  }
  return out as T;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clipText(o: Record<string, unknown>, key: string, max: number): void {
  const v = o[key];
  if (typeof v === 'string' && v.length > max) o[key] = truncateWords(v.trim(), max);
}

function clipList(list: readonly unknown[], count: number, each: number): unknown[] {
  return list.slice(0, count).map((v) => (typeof v === 'string' && v.length > each ? truncateWords(v.trim(), each) : v));
}

function clipSource(s: unknown): unknown[] {
  if (!isRecord(s)) return [s];
  const out: Record<string, unknown> = { ...s };
  if (typeof out.url === 'string' && out.url.length > B.sourceUrl) {
    delete out.url;
    if (typeof out.publisher !== 'string' || !out.publisher) return [];
  }
  clipText(out, 'title', B.sourceTitle);
  clipText(out, 'publisher', B.publisher);
  if (typeof out.published === 'string' && out.published.length > B.sourcePublished) out.published = out.published.slice(0, B.sourcePublished);
  return [out];
}

/** Kinds that give context to incidents; they must not outrank an incident that matches as well. */
export const CONTEXT_KINDS: ReadonlySet<IncidentKind> = new Set(['group', 'software', 'vulnerability']);

/** Returns the validated incident, or throws an Error naming each bad field and the problem. */
export function parseIncident(input: unknown, origin = 'record'): Incident {
  const result = IncidentSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ');
  throw new IncidentValidationError(`${origin}: ${problems}`);
}

/** Thrown when a record does not match the incident schema; the message names the origin, field and problem. */
export class IncidentValidationError extends Error {
  override name = 'IncidentValidationError';
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Returns an English rendering of a date at its precision: "9 March 2021", "March 2021", "2021". */
export function formatIncidentDate(date: IncidentDate): string {
  const [y, m, d] = date.value.split('-');
  if (date.precision === 'year' || !m) return y;
  const month = MONTHS[Number(m) - 1] ?? m;
  if (date.precision === 'month' || !d) return `${month} ${y}`;
  return `${Number(d)} ${month} ${y}`;
}

/** Returns the English month name for a 1-based month number. */
export function monthName(month: number): string {
  return MONTHS[month - 1] ?? '';
}
