import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { IncidentSchema, IncidentValidationError, parseIncident, type Incident } from './incident.js';

/** Absolute path of the bundled starter corpus (`data/incidents` at the project root). */
export const BUNDLED_DATA_DIR = fileURLToPath(new URL('../../data/incidents', import.meta.url));

// Front matter holds every Incident field except the two that come from the Markdown body, plus the
// short-form precision key. Unknown keys are rejected: a typo such as `alias:` would otherwise vanish.
const BODY_FIELDS = new Set(['summary', 'body']);
const FRONT_MATTER_FIELDS = new Set([
  ...Object.keys(IncidentSchema.shape).filter((k) => !BODY_FIELDS.has(k)),
  'date_precision',
]);
const REQUIRED_FIELDS = ['id', 'kind', 'title'] as const;
const PRECISION_BY_PARTS = ['year', 'month', 'day'] as const;

/** Returns every `*.md` incident in `dir`, in file-name order; throws one IncidentValidationError listing every bad file and duplicate id. */
export function loadIncidentDir(dir: string): Incident[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort();
  const incidents: Incident[] = [];
  const fileById = new Map<string, string>();
  const problems: string[] = [];
  for (const name of files) {
    const file = displayPath(path.join(dir, name));
    let incident: Incident;
    try {
      incident = parseIncidentMarkdown(readFileSync(path.join(dir, name), 'utf8'), file);
    } catch (err) {
      if (!(err instanceof IncidentValidationError)) throw err;
      problems.push(err.message);
      continue;
    }
    const first = fileById.get(incident.id);
    if (first !== undefined) {
      problems.push(`${file}: id: "${incident.id}" is already used by ${first}; ids must be unique`);
      continue;
    }
    fileById.set(incident.id, file);
    incidents.push(incident);
  }
  if (problems.length) throw new IncidentValidationError(problems.join('\n'));
  return incidents;
}

/** Returns the incident described by one Markdown file (YAML front matter, then summary paragraph, then body); errors name `fileName`, the field and the problem. */
export function parseIncidentMarkdown(text: string, fileName: string): Incident {
  function fail(field: string, problem: string): never {
    throw new IncidentValidationError(`${fileName}: ${field}: ${problem}`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') {
    fail('front matter', 'missing; the file must start with a "---" line, the YAML fields, then a closing "---" line');
  }
  const close = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (close < 0) fail('front matter', 'not closed; add a "---" line after the YAML fields');

  const yamlText = lines.slice(1, close).join('\n');
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const { line, col } = lineCounter.linePos(yamlError.pos[0]);
    // +1: the YAML starts on the line after the opening "---".
    const field = keyAtOrAbove(lines.slice(1, close), line) ?? 'front matter';
    fail(field, `broken YAML at line ${line + 1}, column ${col}: ${yamlError.message}`);
  }
  const meta: unknown = doc.toJS();
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    fail('front matter', 'expected "field: value" lines');
  }
  const fields = { ...(meta as Record<string, unknown>) };
  for (const key of Object.keys(fields)) {
    if (BODY_FIELDS.has(key)) fail(key, 'comes from the Markdown after the front matter, not from a front matter field');
    if (!FRONT_MATTER_FIELDS.has(key)) fail(key, `unknown field; expected one of ${[...FRONT_MATTER_FIELDS].join(', ')}`);
  }

  for (const key of REQUIRED_FIELDS) {
    if (fields[key] === undefined || fields[key] === null) fail(key, `missing; every file needs ${REQUIRED_FIELDS.join(', ')}`);
  }
  const { date_precision: precision, ...record } = fields;
  if (precision !== undefined && (typeof record.date === 'object' || record.date === undefined)) {
    fail('date_precision', 'only goes with the short form "date: YYYY-MM-DD"; the object form carries its own precision');
  }
  record.date = shortDate(record.date, precision);
  if (record.dateEnd !== undefined) record.dateEnd = shortDate(record.dateEnd, undefined);
  if (Array.isArray(record.sources)) {
    // `published: 2021` parses as a number; the schema wants the string form.
    record.sources = record.sources.map((s: unknown) =>
      s && typeof s === 'object' && typeof (s as { published?: unknown }).published === 'number'
        ? { ...s, published: String((s as { published: number }).published) }
        : s,
    );
  }

  const content = lines.slice(close + 1).join('\n').trim();
  const gap = /\n[ \t]*\n/.exec(content);
  const first = gap ? content.slice(0, gap.index) : content;
  if (!first) fail('summary', 'missing; write the summary as the first paragraph after the front matter');
  if (/^#/.test(first)) fail('summary', 'the first paragraph is a Markdown heading; the summary must be plain text (the title lives in the front matter)');
  record.summary = first.replace(/\s*\n\s*/g, ' ').trim();
  const body = gap ? content.slice(gap.index).trim() : '';
  if (body) record.body = body.split(/\n[ \t]*\n\s*/).map(unwrapLines).join('\n\n');

  const incident = parseIncident(record, fileName);
  for (const [field, date] of [['date', incident.date], ['dateEnd', incident.dateEnd]] as const) {
    if (date && !isCalendarDate(date.value)) fail(`${field}.value`, `${date.value} is not a calendar date`);
  }
  return incident;
}

/** Turns `date: 2021-03-09` (or a bare year, which YAML reads as a number) into `{ value, precision }`, precision inferred from the shape unless given. */
function shortDate(raw: unknown, precision: unknown): unknown {
  if (typeof raw !== 'string' && typeof raw !== 'number') return raw;
  const value = String(raw);
  return { value, precision: precision ?? PRECISION_BY_PARTS[value.split('-').length - 1] ?? 'day' };
}

/** Joins hard-wrapped lines as Markdown does (chat renderers would show them as breaks); list items, headings and quotes keep their own line. */
function unwrapLines(paragraph: string): string {
  return paragraph.replace(/[ \t]*\n(?![ \t]*(?:(?:[-*+]|\d+[.)])\s|#{1,6}\s|>))[ \t]*/g, ' ');
}

/** True when every part of YYYY[-MM[-DD]] exists on the calendar (the schema only checks the shape). */
function isCalendarDate(value: string): boolean {
  const [y, m = 1, d = 1] = value.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** The top-level key on `line` (1-based) or the nearest one above it, so a YAML error can name a field. */
function keyAtOrAbove(yamlLines: string[], line: number): string | undefined {
  for (let i = Math.min(line, yamlLines.length) - 1; i >= 0; i--) {
    const key = /^([A-Za-z_][\w-]*)\s*:/.exec(yamlLines[i])?.[1];
    if (key) return key;
  }
  return undefined;
}

/** Path relative to the working directory when inside it (shorter, clickable in a terminal), else absolute. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
