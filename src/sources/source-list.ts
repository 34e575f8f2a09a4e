import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from '../core/zod.js';

/** The default source list shipped with the bot: the project's `data/sources.json` (absolute path). */
export const DEFAULT_SOURCES_FILE = fileURLToPath(new URL('../../data/sources.json', import.meta.url));

/** How often a source is re-synced when its entry does not say (hours). */
export const DEFAULT_REFRESH_HOURS = 24;

/** The formats a source may have: the importers' formats. */
export const SOURCE_FORMATS = ['stix', 'kev', 'misp-galaxy', 'jsonl'] as const;

/** Thrown when the source list cannot be used; the message names the file, the entry and the fix. */
export class SourceListError extends Error {
  override name = 'SourceListError';
}

const httpUrl = z
  .string()
  .trim()
  .refine((u) => {
    try {
      return /^https?:$/.test(new URL(u).protocol);
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

// A name is typed on the command line (`sources sync attack-ics`) and stored as a key: no spaces.
const SourceEntrySchema = z.strictObject({
  name: z.string().trim().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
  title: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
  format: z.enum(SOURCE_FORMATS, { error: `must be one of ${SOURCE_FORMATS.join(', ')}` }),
  url: httpUrl,
  references: httpUrl.optional(),
  refreshHours: z.number({ error: 'must be a number of hours' }).positive('must be more than 0').max(24 * 365, 'must be at most 8760 (a year)').optional(),
});

/** One source to sync, as configured (data/sources.json or SOURCES_FILE). */
export interface SourceSpec {
  /** Key used on the command line and in the store. */
  name: string;
  /** Display name (default: the name). */
  title: string;
  format: (typeof SOURCE_FORMATS)[number];
  url: string;
  /** A second file the first one cites (MISP galaxy references for Tidal campaigns). */
  references?: string;
  refreshHours: number;
}

/** Reads and validates a source list file; throws SourceListError naming the file, the entry and the fix. */
export function loadSourceList(file: string = DEFAULT_SOURCES_FILE): SourceSpec[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder' : String((err as Error).message);
    throw new SourceListError(`${file}: cannot read the source list (${why}); fix SOURCES_FILE or restore data/sources.json`, { cause: err });
  }
  return parseSourceList(text, file);
}

/** Validates source-list text; `file` names it in error messages. */
export function parseSourceList(text: string, file: string): SourceSpec[] {
  const fix = 'Fix the entry (see README, "Data sources"), or set SOURCES_FILE to another list.';
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\ufeff/, ''));
  } catch (err) {
    throw new SourceListError(`${file}: not valid JSON (${(err as Error).message}). ${fix}`, { cause: err });
  }
  if (!Array.isArray(data)) {
    throw new SourceListError(`${file}: expected a JSON array of {name, format, url, references?, refreshHours?} objects. ${fix}`);
  }
  const seen = new Map<string, number>();
  return data.map((entry, i) => {
    const label = entryLabel(entry, i);
    const parsed = SourceEntrySchema.safeParse(entry);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => {
        const field = issue.path.map(String).join('.');
        const unknown = issue.code === 'unrecognized_keys' ? ` (allowed: ${Object.keys(SourceEntrySchema.shape).join(', ')})` : '';
        return `${field ? `${field}: ` : ''}${issue.message}${unknown}`;
      });
      throw new SourceListError(`${file}: ${label}: ${problems.join('; ')}. ${fix}`);
    }
    const e = parsed.data;
    const key = e.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) throw new SourceListError(`${file}: ${label}: name "${e.name}" is already used by entry ${first + 1}; give each source its own name.`);
    seen.set(key, i);
    if (e.references && e.format !== 'misp-galaxy') {
      throw new SourceListError(`${file}: ${label}: references: only a misp-galaxy source cites a references file; remove it or change the format. ${fix}`);
    }
    const spec: SourceSpec = { name: e.name, title: e.title ?? e.name, format: e.format, url: new URL(e.url).href, refreshHours: e.refreshHours ?? DEFAULT_REFRESH_HOURS };
    if (e.references) spec.references = new URL(e.references).href;
    return spec;
  });
}

function entryLabel(entry: unknown, i: number): string {
  const name = entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string' ? (entry as { name: string }).name : undefined;
  return `entry ${i + 1}${name ? ` ("${name.slice(0, 64)}")` : ''}`;
}
