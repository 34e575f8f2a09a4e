import type { Incident } from '../core/incident.js';
import { addIntroducedNames } from '../core/text-aliases.js';
import { assertUniqueIds, flatToIncident, incidentFromObject, looksLikeIncident } from './flat.js';
import { ImportError, isObject, jsonError, shapeHint, stripBom } from './util.js';

/**
 * Returns the incidents of a JSON Lines text: one object per line, either in the project's flat schema
 * (`{id,title,date,summary,sources,tags,aliases,date_end?}`, as `incidents.jsonl`) or already a full Incident.
 * Blank lines are skipped; names the texts introduce become aliases (`addIntroducedNames`). Any bad line throws an ImportError "<origin>:<line>: <field>: <problem>".
 */
export function importJsonl(text: string, origin: string): Incident[] {
  const lines = stripBom(text).split('\n');
  const items: Array<{ incident: Incident; origin: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const where = `${origin}:${i + 1}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      if (i === 0 && line.trim() === '{') {
        throw new ImportError(`${where}: not JSON Lines: the file is one pretty-printed JSON document; import it with its own format (stix, kev or misp-galaxy)`);
      }
      const base = jsonError(line, where, err).message;
      const cutShort = / \(truncated file\?\).*$/;
      if (!cutShort.test(base)) throw new ImportError(base, { cause: err });
      const last = lines.slice(i + 1).every((l) => l.trim() === '');
      const hint = last ? ' (truncated file?): the last line is cut off; export the file again' : ': the line ends before its JSON object does (one record per line, no line breaks inside a record)';
      throw new ImportError(base.replace(cutShort, hint), { cause: err });
    }
    // A whole STIX bundle, KEV catalog or galaxy file minified onto one line: name the format instead of a missing field.
    if (isObject(record) && (record.type === 'bundle' || Array.isArray(record.vulnerabilities) || Array.isArray(record.values))) {
      throw new ImportError(`${where}: not an incident record${shapeHint(record)}`);
    }
    const incident = isObject(record) && looksLikeIncident(record) ? incidentFromObject(record, where) : flatToIncident(record, where);
    items.push({ incident, origin: where });
  }
  return addIntroducedNames(assertUniqueIds(items)).records;
}
