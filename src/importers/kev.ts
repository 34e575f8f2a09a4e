import type { Incident } from '../core/incident.js';
import { addIntroducedNames } from '../core/text-aliases.js';
import { assertUniqueIds, flatToIncident, type FlatRecord } from './flat.js';
import { ImportError, isObject, nonEmptyString, parseJsonDocument, shapeHint, splitUrls } from './util.js';

const CVE = /^CVE-\d{4}-\d{4,}$/;

/**
 * Returns one vulnerability record per entry of a CISA Known Exploited Vulnerabilities catalog
 * (ids `kev:<CVE id>`, date = when CISA listed it, day precision), with the names their texts introduce as aliases
 * ("PrintNightmare", "BlueKeep").
 */
export function importKev(json: string | object, origin: string): Incident[] {
  const items = kevFlatRecords(json, origin).map(({ record, where }) => ({ incident: flatToIncident(record, where), origin: where }));
  return addIntroducedNames(assertUniqueIds(items)).records;
}

/** Returns the flat-schema records (as in incidents.jsonl) of a KEV catalog, each with its place in the file for errors. */
export function kevFlatRecords(json: string | object, origin: string): Array<{ record: FlatRecord; where: string }> {
  const doc = typeof json === 'string' ? parseJsonDocument(json, origin) : json;
  if (!isObject(doc) || !Array.isArray(doc.vulnerabilities)) {
    throw new ImportError(`${origin} is not a CISA KEV catalog: expected {"catalogVersion":...,"vulnerabilities":[...]}${shapeHint(doc)}`);
  }
  return doc.vulnerabilities.map((entry: unknown, i: number) => {
    const where = `${origin}: vulnerabilities[${i}]`;
    if (!isObject(entry)) throw new ImportError(`${where}: expected an object, got ${JSON.stringify(entry)}`);
    const cve = nonEmptyString(entry.cveID)?.toUpperCase();
    if (!cve || !CVE.test(cve)) throw new ImportError(`${where}: cveID: expected CVE-YYYY-NNNN, got ${JSON.stringify(entry.cveID)}`);
    const vendor = nonEmptyString(entry.vendorProject);
    const product = nonEmptyString(entry.product);
    const title = nonEmptyString(entry.vulnerabilityName) ?? [vendor, product, cve].filter(Boolean).join(' ');
    const nvd = `https://nvd.nist.gov/vuln/detail/${cve}`;
    // `notes` is free text: vendor advisories, then "; <NVD link>" (not always well separated).
    const links = typeof entry.notes === 'string' ? splitUrls(entry.notes).filter((u) => /^https?:\/\//i.test(u)) : [];
    if (!links.includes(nvd)) links.push(nvd);
    const tags = ['type:vulnerability', 'dataset:cisa-kev'];
    if (vendor) tags.push(`vendor:${vendor}`);
    if (product) tags.push(`product:${product}`);
    const ransomware = nonEmptyString(entry.knownRansomwareCampaignUse);
    if (ransomware) tags.push(`ransomware-use:${ransomware}`);
    if (Array.isArray(entry.cwes)) for (const cwe of entry.cwes) if (nonEmptyString(cwe)) tags.push(`cwe:${String(cwe).trim()}`);
    const record: FlatRecord = {
      id: `kev:${cve}`,
      title,
      date: nonEmptyString(entry.dateAdded) ?? null,
      date_precision: 'day',
      summary: typeof entry.shortDescription === 'string' && entry.shortDescription.trim() !== '' ? entry.shortDescription : title,
      sources: links,
      tags,
      aliases: [cve],
    };
    return { record, where: `${where} (${cve})` };
  });
}
