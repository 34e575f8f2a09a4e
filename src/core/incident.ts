import { z } from 'zod';

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
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'only http(s) URLs are allowed' });

/** A source about an incident: as much as is known; a source without a link carries at least its publisher. */
export const SourceSchema = z
  .object({
    url: HttpUrlSchema.optional(),
    title: z.string().min(1).optional(),
    publisher: z.string().min(1).optional(),
    published: z.string().regex(/^\d{4}(-\d{2}(-\d{2})?)?/).optional(),
  })
  .refine((s) => s.url !== undefined || s.publisher !== undefined, {
    message: 'a source needs a url or, when it cannot be linked, a publisher',
  });
/** A source about an incident. */
export type Source = z.infer<typeof SourceSchema>;

/** Who and what an incident involves, as far as the data says. */
export const EntitiesSchema = z.object({
  actors: z.array(z.string().min(1)).default([]),
  victims: z.array(z.string().min(1)).default([]),
  software: z.array(z.string().min(1)).default([]),
  cves: z.array(z.string().regex(/^CVE-\d{4}-\d{4,}$/, 'expected CVE-YYYY-NNNN')).default([]),
  countries: z.array(z.string().min(1)).default([]),
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
  id: z.string().regex(/^[a-z][a-z0-9-]*:\S+$/, 'expected "<namespace>:<id>", e.g. "seed:skyecc-2021"'),
  kind: IncidentKindSchema,
  title: z.string().trim().min(1),
  date: IncidentDateSchema.nullable().default(null),
  dateEnd: IncidentDateSchema.nullable().optional(),
  aliases: z.array(z.string().trim().min(1)).default([]),
  summary: z.string().trim().min(1),
  body: z.string().optional(),
  impact: z.string().optional(),
  sources: z.array(SourceSchema).default([]),
  tags: z.array(z.string().min(1)).default([]),
  entities: EntitiesSchema.default({ actors: [], victims: [], software: [], cves: [], countries: [] }),
  related: z.array(z.string()).default([]),
  /** Ids of records merged into this one (other datasets' records of the same real-world thing); absent when none. */
  sameAs: z.array(z.string().min(1)).optional(),
  /** The STIX id of the object this record was imported from (`intrusion-set--<uuid>`): other datasets point at it. */
  stixId: z.string().regex(/^[a-z][a-z0-9-]*--[0-9a-fA-F-]{36}$/, 'expected a STIX id "<type>--<uuid>"').optional(),
  /** Relations the source states, resolved into the graph at load; absent when none. */
  links: z.array(LinkSchema).optional(),
});
/** A validated incident record. */
export type Incident = z.infer<typeof IncidentSchema>;
/** What callers may pass before defaults are applied (e.g. importers building records). */
export type IncidentInput = z.input<typeof IncidentSchema>;

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
