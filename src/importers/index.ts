import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Incident } from '../core/incident.js';
import { assertUniqueIds } from './flat.js';
import { importJsonl } from './jsonl.js';
import { importKev } from './kev.js';
import { galaxyReferences, importMispGalaxy, type GalaxyReference } from './misp-galaxy.js';
import { importStixBundles } from './stix.js';
import { ImportError, isObject, jsonError, parseJsonDocument, stripBom } from './util.js';

export { ImportError } from './util.js';
export { importJsonl } from './jsonl.js';
export { importKev } from './kev.js';
export { importMispGalaxy } from './misp-galaxy.js';
export { importStix, importStixBundles } from './stix.js';

/** The file formats the importers read. */
export type ImportFormat = 'stix' | 'kev' | 'misp-galaxy' | 'jsonl';

/** Every supported format, for option parsing and help texts. */
export const IMPORT_FORMATS: readonly ImportFormat[] = ['stix', 'kev', 'misp-galaxy', 'jsonl'];

const FORMAT_HELP =
  'expected a STIX bundle ({"type":"bundle","objects":[...]}), a CISA KEV catalog ({"catalogVersion":...,"vulnerabilities":[...]}), ' +
  'a MISP galaxy cluster file ({"type":...,"uuid":...,"values":[...]}) or JSON Lines (one incident object per line)';

/**
 * Returns the format of a file from its content (the path only names it in errors, and `.jsonl`/`.ndjson` forces JSON Lines):
 * a bundle -> stix, `vulnerabilities` + `catalogVersion` -> kev, `values` + `uuid` + `type` -> misp-galaxy, lines of
 * JSON objects -> jsonl. Throws an ImportError for invalid JSON or an unknown shape.
 */
export function detectFormat(filePath: string, text: string): ImportFormat {
  const body = stripBom(text);
  if (/\.(jsonl|ndjson)$/i.test(filePath)) return 'jsonl';
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    // Not one document: JSON Lines when its first line is a JSON object on its own.
    const first = body.split('\n').find((l) => l.trim() !== '') ?? '';
    if (isObjectLine(first)) return 'jsonl';
    throw jsonError(body, filePath, err);
  }
  if (isObject(doc)) {
    if (doc.type === 'bundle' && Array.isArray(doc.objects)) return 'stix';
    if (Array.isArray(doc.vulnerabilities) && 'catalogVersion' in doc) return 'kev';
    if (Array.isArray(doc.values) && 'uuid' in doc && 'type' in doc) return 'misp-galaxy';
    // A JSON Lines file with a single record is also one valid JSON document.
    if (typeof doc.id === 'string' && typeof doc.title === 'string') return 'jsonl';
  }
  throw new ImportError(`${filePath}: unknown file format: ${FORMAT_HELP}`);
}

function isObjectLine(line: string): boolean {
  try {
    return isObject(JSON.parse(line));
  } catch {
    return false;
  }
}

/**
 * Returns the incidents of the files, read and validated. `stix` merges the bundles (ATT&CK ships one per domain);
 * `misp-galaxy` takes cluster files (campaigns, threat-actor, ransomware) and optionally the references cluster file,
 * in any order; campaigns without one use a sibling references file when there is one (see `siblingReferences`). `'auto'` detects each file's
 * format. Ids must be unique across all files. Throws ImportError naming the file and the fix.
 */
export function importFile(format: ImportFormat | 'auto', paths: readonly string[]): Incident[] {
  if (paths.length === 0) throw new ImportError(`no files given to import (format ${format})`);
  return importDocuments(format, paths.map((p) => ({ path: p, text: readText(p) })));
}

/**
 * Returns the incidents of documents already in memory (downloaded sources), exactly as importFile does for files:
 * `path` only names a document in errors. For misp-galaxy, pass the references cluster as a second document; a
 * document named by a URL never looks for a sibling references file on disk.
 */
export function importDocuments(format: ImportFormat | 'auto', files: ReadonlyArray<{ path: string; text: string }>): Incident[] {
  if (files.length === 0) throw new ImportError(`no documents given to import (format ${format})`);
  if (format === 'auto') {
    const groups = new Map<ImportFormat, typeof files>();
    for (const f of files) {
      const detected = detectFormat(f.path, f.text);
      groups.set(detected, [...(groups.get(detected) ?? []), f]);
    }
    const all = [...groups].flatMap(([fmt, group]) => importTexts(fmt, group));
    return assertUniqueIds(all);
  }
  if (!IMPORT_FORMATS.includes(format)) {
    throw new ImportError(`unknown import format ${JSON.stringify(format)}: expected one of ${IMPORT_FORMATS.join(', ')}`);
  }
  return assertUniqueIds(importTexts(format, files));
}

function importTexts(format: ImportFormat, files: ReadonlyArray<{ path: string; text: string }>): Array<{ incident: Incident; origin: string }> {
  const tagged = (incidents: Incident[], origin: string) => incidents.map((incident) => ({ incident, origin: `${origin} (${incident.id})` }));
  switch (format) {
    case 'stix': {
      // Merged records may come from several bundles, so duplicate-id errors name the whole set.
      const incidents = importStixBundles(files.map((f) => ({ json: f.text, origin: f.path })));
      return tagged(incidents, files.map((f) => f.path).join(' + '));
    }
    case 'kev':
      return files.flatMap((f) => tagged(importKev(f.text, f.path), f.path));
    case 'jsonl':
      return files.flatMap((f) => tagged(importJsonl(f.text, f.path), f.path));
    case 'misp-galaxy':
      return importGalaxyFiles(files).flatMap(({ incidents, origin }) => tagged(incidents, origin));
  }
}

function importGalaxyFiles(files: ReadonlyArray<{ path: string; text: string }>): Array<{ incidents: Incident[]; origin: string }> {
  const parsed = files.map((f) => ({ ...f, doc: parseGalaxy(f.text, f.path) }));
  const referenceFiles = parsed.filter((f) => f.doc.type === 'references');
  const clusterFiles = parsed.filter((f) => f.doc.type !== 'references');
  if (clusterFiles.length === 0) {
    throw new ImportError(`${referenceFiles.map((f) => f.path).join(', ')}: only a references cluster was given: pass the campaigns cluster file too`);
  }
  const given = new Map<string, GalaxyReference>();
  for (const f of referenceFiles) for (const [k, v] of galaxyReferences(f.doc, f.path)) given.set(k, v);
  return clusterFiles.map((f) => {
    let refs: Map<string, GalaxyReference> | undefined = referenceFiles.length > 0 ? given : undefined;
    // Only campaigns cite references; actor and ransomware clusters carry their links in meta.refs.
    if (!refs && f.doc.type === 'campaigns') {
      const sibling = siblingReferences(f.path);
      if (sibling) refs = galaxyReferences(parseGalaxy(readText(sibling), sibling), sibling);
    }
    return { incidents: importMispGalaxy(f.doc, refs, f.path), origin: f.path };
  });
}

function parseGalaxy(text: string, origin: string): Record<string, unknown> {
  const doc = parseJsonDocument(text, origin);
  if (!isObject(doc) || !Array.isArray(doc.values) || typeof doc.type !== 'string') {
    const hint = (() => {
      try {
        return ` (it looks like ${detectFormat(origin, text)}: import it with that format)`;
      } catch {
        return '';
      }
    })();
    throw new ImportError(`${origin} is not a MISP galaxy cluster file: expected {"type":...,"uuid":...,"values":[...]}${hint}`);
  }
  return doc;
}

/**
 * Returns the references cluster file next to a campaigns cluster file, if there is one: `<name with "campaigns"
 * replaced by "references">`, else `<name>-references.json`, else `misp-galaxy-tidal-references.json` in the same folder.
 */
export function siblingReferences(clustersPath: string): string | undefined {
  // A downloaded document is named by its URL: its references come with it or not at all, never from the disk.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(clustersPath)) return undefined;
  const dir = path.dirname(clustersPath);
  const base = path.basename(clustersPath);
  const candidates = [
    base.includes('campaigns') ? base.replace('campaigns', 'references') : undefined,
    base.replace(/\.json$/i, '') + '-references.json',
    'misp-galaxy-tidal-references.json',
  ];
  for (const name of candidates) {
    if (!name || name === base) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function readText(filePath: string): string {
  try {
    return readFileSync(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found; check the path' : code === 'EISDIR' ? 'is a folder; name the file inside it' : String(err);
    throw new ImportError(`${filePath}: ${why}`, { cause: err });
  }
}
