import { importDocuments } from '../importers/index.js';
import { ImportError } from '../importers/util.js';
import { toSourceRecordRow, type SourceDelta, type SourceIdentity, type SourceRepo, type SourceValidators } from '../store/repos/sources.js';

/** One downloaded version of a source to import: its bytes (and its references file's), validators and hash. */
export interface ImportJob {
  source: SourceIdentity;
  body: Uint8Array;
  referencesBody?: Uint8Array;
  validators: SourceValidators;
  /** sha-256 of the bodies, stored to recognise the same bytes next time. */
  bodyHash: string;
}

/** What importing a version did: the delta against the previous version, its size, and what the data says of itself. */
export interface ImportOutcome {
  delta: SourceDelta;
  records: number;
  version?: string;
  notice?: string;
}

/** Called while records are written: how many of how many. */
export type ImportProgress = (done: number, total: number) => void;

/**
 * Parses a downloaded version with the importers, then replaces the source's records in one transaction; returns
 * the delta. Runs in the sync worker (it holds the event loop for as long as the parse takes: ~0.5 s for ATT&CK
 * Enterprise) or inline for an in-memory store. A version that parses to no records at all, where the previous one
 * had some, is refused: an emptied file upstream is far likelier an accident than a retraction.
 */
export async function runImportJob(sources: SourceRepo, job: ImportJob, onProgress?: ImportProgress): Promise<ImportOutcome> {
  const text = decode(job.body, job.source.url);
  const docs = [{ path: job.source.url, text }];
  if (job.referencesBody && job.source.references) docs.push({ path: job.source.references, text: decode(job.referencesBody, job.source.references) });
  const incidents = importDocuments(job.source.format as Parameters<typeof importDocuments>[0], docs);
  const previous = (await sources.state(job.source.name))?.recordCount ?? 0;
  if (incidents.length === 0 && previous > 0) {
    throw new ImportError(`${job.source.url}: the new version has no records; keeping the ${previous} stored (if the source was retired, remove it with \`sources forget ${job.source.name}\`)`);
  }
  const { version, notice } = describeVersion(job.source.format, text);
  const rows = incidents.map(toSourceRecordRow);
  const bytes = job.body.byteLength + (job.referencesBody?.byteLength ?? 0);
  const delta = await sources.replaceRecords(job.source, rows, { ...job.validators, bodyHash: job.bodyHash, bytes, version, notice }, onProgress);
  return { delta, records: rows.length, ...(version ? { version } : {}), ...(notice ? { notice } : {}) };
}

function decode(bytes: Uint8Array, where: string): string {
  try {
    // fatal: a body that is not UTF-8 is a wrong or damaged file, better named here than as a JSON error.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ImportError(`${where}: the body is not UTF-8 text (a damaged download, or not a data file)`, { cause: err });
  }
}

/**
 * Returns the publisher's version of a document and any copyright statement it carries, read without a second full
 * parse where the format allows: KEV's `catalogVersion` sits in the head, a MISP galaxy's `version` in the tail.
 */
export function describeVersion(format: string, text: string): { version?: string; notice?: string } {
  if (format === 'kev') return { version: /"catalogVersion"\s*:\s*"([^"]{1,40})"/.exec(text.slice(0, 4096))?.[1] };
  if (format === 'misp-galaxy') return { version: /"version"\s*:\s*(\d{1,12})\s*}\s*$/.exec(text.slice(-200))?.[1] };
  if (format !== 'stix') return {};
  // The statement of a marking definition is the copyright line ATT&CK asks to travel with its data.
  const statement = /"statement"\s*:\s*"((?:[^"\\]|\\.){1,500})"/.exec(text)?.[1];
  const notice = statement ? (JSON.parse(`"${statement}"`) as string) : undefined;
  let version: string | undefined;
  // ATT&CK's release number lives in its x-mitre-collection object (not in every bundle); every other object also
  // has an x_mitre_version of its own, so only a parse finds the right one.
  if (text.includes('"x-mitre-collection"')) {
    const doc = JSON.parse(text) as { objects?: Array<{ type?: unknown; x_mitre_version?: unknown }> };
    const v = doc.objects?.find((o) => o.type === 'x-mitre-collection')?.x_mitre_version;
    if (typeof v === 'string' && v.length <= 40) version = v;
  }
  return { ...(version ? { version } : {}), ...(notice ? { notice } : {}) };
}
