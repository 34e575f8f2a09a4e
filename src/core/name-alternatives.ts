import type { IncidentIndex } from './incident-index.js';
import type { ParsedQuery } from './query.js';
import { stem } from './stem.js';
import type { Alternative } from './synonyms.js';
import { compactName } from './text.js';
import { words } from './query.js';

/** Most words of a name looked up as one span of a question ("fancy bear", "hidden cobra", "unit 29155"). */
const MAX_SPAN = 2;
/** Most records a span may name for their names to stand in for it: more is a common word, not one actor's name. */
const MAX_NAMED = 2;
/** Most names of one record offered as alternatives (ATT&CK groups carry a dozen aliases). */
const MAX_NAMES = 12;

/**
 * Returns, for the words of a question that name a group or a tool by one of its names ("hidden cobra"), that record's
 * other names as alternatives: a report on a campaign names its actor by the name its publisher uses ("Lazarus Group"),
 * an analyst by the one they know. Only groups and software: an incident or a flaw is not referred to by an alias in
 * another record's story.
 */
export function nameAlternatives(index: IncidentIndex, q: ParsedQuery): Map<string, Alternative[]> {
  const out = new Map<string, Alternative[]>();
  const terms = q.terms;
  for (let len = MAX_SPAN; len >= 1; len--) {
    for (let i = 0; i + len <= terms.length; i++) {
      const span = terms.slice(i, i + len);
      if (span.some((t) => out.has(t))) continue;
      const compact = compactName(span.join(''));
      if (compact.length < 3) continue;
      const ids = index.namedExactly(compact, MAX_NAMED + 1);
      if (ids.length === 0 || ids.length > MAX_NAMED) continue;
      const alts: Alternative[] = [];
      for (const id of ids) {
        const record = index.get(id);
        if (!record || (record.kind !== 'group' && record.kind !== 'software')) continue;
        for (const name of [record.title, ...record.aliases].slice(0, MAX_NAMES)) {
          const ws = words(name);
          if (ws.length === 0 || compactName(ws.join('')) === compact) continue;
          alts.push({ words: ws, stems: ws.map(stem) });
        }
      }
      if (alts.length) for (const t of span) out.set(t, alts);
    }
  }
  return out;
}
