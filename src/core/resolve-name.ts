import { evidenceFor } from './confidence.js';
import type { Incident, IncidentKind } from './incident.js';
import type { IncidentIndex } from './incident-index.js';
import { parseQuery } from './query.js';

/** Returns the record a short name most likely means (a compared side, a list's subject), or undefined when none is clear. */
export function resolveName(index: IncidentIndex, name: string, visible?: (id: string) => boolean, kinds?: readonly IncidentKind[], exactOnly = false): Incident | undefined {
  const q = parseQuery(name);
  if (q.terms.length === 0 || q.terms.length > 4) return undefined;
  const hits = index.search(q, 5, (h) => (!visible || visible(h.id)) && (!kinds || kinds.includes(h.kind)));
  const top = hits[0];
  if (!top) return undefined;
  const record = index.get(top.id);
  if (!record) return undefined;
  if (top.exactName) return record;
  if (exactOnly) return undefined;
  // A name typed with a slip or a word around it: the record must carry every term (evidence, not only a score).
  return evidenceFor(record, q, () => 1) >= 0.99 ? record : undefined;
}

/** Most words a subject's name is looked for in: spans of them are tried, so the work stays bounded. */
export const MAX_SPAN_WORDS = 6;

/** Returns the record that a run of the words names exactly ("exfiltrate with rclone" names rclone), longest run first. */
export function namedSpan(index: IncidentIndex, ws: string[], maxLeftover: number, visible?: (id: string) => boolean): Incident | undefined {
  const words = ws.slice(0, MAX_SPAN_WORDS);
  for (let len = Math.min(words.length, 3); len >= 1; len--) {
    for (let i = 0; i + len <= words.length; i++) {
      // The words left over must be few: a question with more besides the name asks something else ("which malware
      // did sandworm use on ukrainian substations" asks about one campaign, not for a list).
      if (words.length - len > maxLeftover) continue;
      const found = resolveName(index, words.slice(i, i + len).join(' '), visible, undefined, true);
      if (found) return found;
    }
  }
  return undefined;
}
