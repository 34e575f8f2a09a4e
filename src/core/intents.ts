import type { IncidentKind } from './incident.js';
import { demonymTable } from './demonyms.js';

/**
 * The cues that say what a question asks for, as small named tables. Each table holds ordinary English (the words
 * any analyst uses for that meaning), never a dataset's or an eval's wording; the rules that read them live in
 * understand.ts. A word in a cue table says how to answer, not which record: parseQuery leaves cue words out of the
 * terms it searches for.
 */

/** Verbs that state a relation between records ("who deploys X", "campaigns that leveraged X"): grammar, not identity. */
export const RELATION_VERBS: ReadonlySet<string> = new Set(
  ('use uses used using utilise utilises utilised utilising utilize utilizes utilized utilizing deploy deploys deployed deploying ' +
    'employ employs employed employing leverage leverages leveraged leveraging wield wields wielded wielding rely relies relied ' +
    'relying run runs ran exploit exploits exploited exploiting abuse abuses abused abusing weaponize weaponizes weaponized ' +
    'weaponizing weaponise weaponises weaponised weaponising').split(' '),
);

/** Words that ask who did something ("who was behind it", "responsible for", "attributed to"). */
export const ATTRIBUTION_WORDS: ReadonlySet<string> = new Set(
  'behind responsible attributed attribution perpetrated perpetrator perpetrators culprit culprits orchestrated carried'.split(' '),
);

/** Words that place something in time without naming a date ("first seen", "started", "happened"). */
export const TIME_VERBS: ReadonlySet<string> = new Set(
  'begin began begun start started starting first seen happen happened happening occur occurred emerge emerged appear appeared active observed spotted'.split(' '),
);

/** Words about a catalog or list a record sits in ("added to the catalog", "listed"): they say where, not what. */
export const LISTING_WORDS: ReadonlySet<string> = new Set('add added adds listed listing catalog catalogue catalogued database'.split(' '));

/** Words that ask for the newest first ("latest", "most recent", "what's new"). */
export const LATEST_WORDS: ReadonlySet<string> = new Set('latest recent recently newest new lately current currently'.split(' '));

/**
 * Plural nouns (and their everyday synonyms) that ask for several records of one kind ("which groups...", "campaigns
 * that...", "sonicwall vulns"). A singular noun only hints at a kind (query.ts); a plural asks for a list.
 */
export const LIST_NOUNS: Readonly<Record<string, IncidentKind>> = {
  groups: 'group', actors: 'group', gangs: 'group', apts: 'group', crews: 'group', hackers: 'group', adversaries: 'group',
  campaigns: 'incident', operations: 'incident', attacks: 'incident', incidents: 'incident', intrusions: 'incident', breaches: 'incident',
  tools: 'software', malware: 'software', software: 'software', toolset: 'software', toolkit: 'software', arsenal: 'software',
  backdoors: 'software', implants: 'software', families: 'software', trojans: 'software', rats: 'software', payloads: 'software',
  vulnerabilities: 'vulnerability', vulns: 'vulnerability', cves: 'vulnerability', bugs: 'vulnerability', flaws: 'vulnerability',
  holes: 'vulnerability', weaknesses: 'vulnerability',
  zerodays: 'vulnerability', kev: 'vulnerability',
};

/** Words before a kind noun that ask for many ("which groups", "all campaigns", "list the tools"). */
export const LIST_LEADS: ReadonlySet<string> = new Set('which what list all every any show name enumerate'.split(' '));

/** Phrases that ask what someone has done: the answer lists their campaigns ("what has X done", "X's activity"). */
export const DEEDS_WORDS: ReadonlySet<string> = new Set('done activity activities operations history track record'.split(' '));

/**
 * Words that refer back to the conversation's last answer ("who was behind it?", "when was that?"). "the group",
 * "the campaign" refer back too when nothing else in the question names a record.
 */
export const PRONOUNS: ReadonlySet<string> = new Set('it its it s they them their theirs that this those these he she him his her same'.split(' '));

/** Ordinal words: "and the second one?" picks the second record of the last list. */
export const ORDINALS: Readonly<Record<string, number>> = {
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10,
  '1st': 1, '2nd': 2, '3rd': 3, '4th': 4, '5th': 5, '6th': 6, '7th': 7, '8th': 8, '9th': 9, '10th': 10,
  last: -1,
};

/**
 * How a comparison is asked: each pattern captures the two sides ("X vs Y", "difference between X and Y", "compare X
 * with Y", "how does X differ from Y"). Tried in order on the folded query.
 */
export const COMPARE_PATTERNS: readonly RegExp[] = [
  /^(?:what(?: is| s)? the )?differences? between (.+?) and (.+)$/,
  /^how (?:does|do|is|are) (.+?) (?:differ|different) from (.+)$/,
  /^compare (.+?) (?:and|with|to|vs|versus) (.+)$/,
  /^(.+?) (?:vs|versus|v|compared to|compared with) (.+)$/,
];

/**
 * What a fact question asks for, by the words that ask it, and what in a sentence answers it: "who" wants an actor,
 * "when" a year, "how many" a number, "which CVE" a CVE id, "what OS" a platform.
 */
export const FOCUS_CUES: readonly { words: readonly string[]; answer: RegExp }[] = [
  { words: ['cve', 'cves', 'vulnerability', 'vulnerabilities', 'vuln', 'bug', 'flaw'], answer: /\bCVE-\d{4}-\d{4,}\b/ },
  { words: ['os', 'platform', 'platforms', 'operating', 'system', 'systems'], answer: /\b(?:windows|macos|mac os|os x|linux|android|ios|unix|esxi|solaris)\b/i },
  { words: ['when', 'year', 'date'], answer: /\b(?:19|20)\d{2}\b/ },
  { words: ['many', 'much', 'number'], answer: /\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?)\b/i },
  { words: ['who', 'behind', 'responsible', 'attributed', 'group', 'actor', 'gang'], answer: /\b(?:attributed|group|gang|actors?|operators?|APT\s?\d+|also known as|aka)\b/i },
];

/** The adjective for each country's people ("chinese hackers", "polish banks") mapped to its ISO code (demonyms.ts). */
export const DEMONYMS: Readonly<Record<string, string>> = demonymTable();

/**
 * Words an incident's name uses to say it is an event, not which one ("SolarWinds Compromise", "Operation Honeybee",
 * "KV Botnet Activity"): what is left of the name without them is its distinctive name.
 */
export const EVENT_WORDS: ReadonlySet<string> = new Set(
  ('compromise compromises attack attacks campaign campaigns operation operations activity activities incident incidents ' +
    'intrusion intrusions breach breaches hack hacks exploitation exploits takedown').split(' '),
);
