import type { Incident } from './incident.js';
import { EVENT_WORDS } from './intents.js';
import type { ParsedQuery } from './query.js';
import { isStopWord, words } from './query.js';
import { compactName } from './text.js';

/** Most words a bare name has: more is a description or a question, which evidence decides. */
const MAX_BARE_NAME_TERMS = 3;

/**
 * Returns whether a bare name ("solarwinds") is the distinctive name of this incident, the one that stands out among
 * records that otherwise only carry that name (a vendor's vulnerabilities, its products): an incident's name without
 * the words that say it is an event ("SolarWinds Compromise" less "Compromise") is what people call the event, while
 * the vendor's CVEs are named after the vendor, not called by it. `others` are the records that scored as close; any
 * other incident among them, or any record called by that same name, means the name is shared, and the bot still asks.
 */
export function namesOneIncident(q: ParsedQuery, incident: Incident, others: readonly Incident[]): boolean {
  if (q.isQuestion || q.cves.length > 0 || q.terms.length === 0 || q.terms.length > MAX_BARE_NAME_TERMS) return false;
  if (incident.kind !== 'incident' || others.some((o) => o.kind === 'incident')) return false;
  const typed = compactName(distinctive(q.terms.join(' ')));
  const isNamed = (record: Incident) => [record.title, ...record.aliases].some((name) => compactName(distinctive(name)) === typed);
  // A group or tool called by the same name (a campaign and the actor named after it) is a peer: the name alone
  // cannot pick one.
  return typed.length > 0 && isNamed(incident) && !others.some(isNamed);
}

/** Returns a name (or typed words) without grammar and event words ("The SolarWinds Compromise" -> "solarwinds"). */
function distinctive(name: string): string {
  return words(name.replace(/\([^)]*\)/g, ' '))
    .filter((w) => !isStopWord(w) && !EVENT_WORDS.has(w))
    .join(' ');
}
