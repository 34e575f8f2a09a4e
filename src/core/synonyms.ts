import { stem } from './stem.js';

/**
 * Words that analysts and reports use for the same thing: a chat question says "hackers planted a RAT at companies",
 * a report says "actors delivered a remote access trojan to organizations". Each group holds the everyday words and
 * the report words for one idea of security vocabulary (who attacks, what they do, what they use, whom they hit),
 * written from general knowledge of the field, not from any question set: no record's, campaign's, vendor's or
 * product's name belongs here. A phrase of several words counts when a text holds all of its words.
 *
 * Matching is by stem (stem.ts), so one form of a word stands for its family ("deploy" for "deployed", "deploying").
 * A word may sit in two groups when it has two senses ("plant": to install, and a factory); both are tried.
 */
const SYNONYM_GROUPS: readonly string[][] = [
  // Who attacks.
  ['hacker', 'attacker', 'actor', 'threat actor', 'adversary', 'intruder', 'operator', 'cybercriminal', 'criminal', 'crook'],
  ['spy', 'espionage', 'spying', 'cyberespionage'],
  ['gang', 'crew', 'group', 'outfit'],
  ['state sponsored', 'state backed', 'nation state', 'government backed'],
  // Whom they hit.
  ['company', 'firm', 'business', 'organization', 'organisation', 'org', 'enterprise', 'corporation'],
  ['bank', 'financial institution', 'lender'],
  ['hospital', 'healthcare', 'clinic', 'medical'],
  ['school', 'university', 'college', 'education', 'academic'],
  ['military', 'armed forces', 'army', 'soldier', 'defense', 'defence'],
  ['government', 'ministry', 'agency'],
  ['power grid', 'electricity', 'electric', 'utility'],
  ['factory', 'plant', 'facility', 'manufacturing', 'industrial'],
  ['telecom', 'telco', 'carrier', 'telecommunication', 'isp', 'internet service provider'],
  ['msp', 'managed service provider'],
  ['staff', 'employee', 'worker', 'personnel'],
  ['executive', 'leader', 'ceo'],
  ['official', 'officer', 'diplomat'],
  // What they do.
  ['plant', 'install', 'deploy', 'drop', 'deliver', 'implant'],
  ['steal', 'stole', 'exfiltrate', 'harvest', 'grab', 'theft', 'siphon', 'swipe'],
  ['hack', 'breach', 'compromise', 'intrusion', 'infiltrate', 'break into', 'broke into'],
  ['trick', 'lure', 'deceive', 'dupe', 'social engineering', 'convince'],
  ['fake', 'spoof', 'bogus', 'counterfeit', 'fraudulent', 'impersonate', 'masquerade', 'pose', 'pretend', 'lookalike', 'decoy'],
  ['target', 'attack', 'hit', 'strike'],
  ['hide', 'conceal', 'obscure', 'obfuscate', 'disguise', 'evade'],
  ['encrypt', 'ransom'],
  ['leak', 'dump'],
  ['wipe', 'wiper', 'erase', 'destroy', 'destructive'],
  ['scan', 'probe', 'reconnaissance', 'recon'],
  ['sell', 'auction', 'broker', 'monetize'],
  ['extort', 'extortion', 'blackmail'],
  ['spam', 'flood', 'bomb', 'bombing'],
  ['call', 'phone', 'voice', 'vishing'],
  ['brute force', 'password spray', 'credential stuffing'],
  // What they use.
  ['rat', 'remote access trojan', 'remote access tool', 'backdoor', 'implant'],
  ['malware', 'malicious software', 'virus', 'payload'],
  ['infostealer', 'stealer', 'information stealer', 'password stealer'],
  ['cryptominer', 'miner', 'cryptojacking', 'coinminer', 'mining', 'monero'],
  ['crypto', 'cryptocurrency', 'bitcoin', 'blockchain', 'wallet'],
  ['password', 'credential', 'creds', 'login'],
  ['email', 'mail', 'phishing', 'spearphishing'],
  ['ad', 'advert', 'advertisement', 'advertising', 'malvertising'],
  ['website', 'site', 'webpage', 'page', 'portal'],
  ['job', 'recruiter', 'recruitment', 'hiring', 'vacancy', 'employment'],
  ['computer', 'machine', 'endpoint', 'workstation'],
  ['server', 'vps', 'virtual private server'],
  ['router', 'network device', 'edge device', 'gateway', 'appliance'],
  ['phone', 'mobile', 'smartphone', 'handset', 'iphone', 'android', 'ios'],
  ['browser', 'chrome', 'chromium', 'firefox', 'safari'],
  ['chat', 'messaging', 'messenger', 'instant message'],
  ['ddos', 'denial of service'],
  ['c2', 'command and control', 'c&c'],
  ['mfa', '2fa', 'multi factor', 'two factor', 'one time password', 'otp'],
  ['ics', 'scada', 'industrial control', 'operational technology', 'plc'],
  ['rdp', 'remote desktop'],
  ['rmm', 'remote monitoring', 'remote management', 'remote support'],
  ['vpn', 'virtual private network', 'remote access gateway'],
  ['election', 'voter', 'voting', 'ballot'],
  ['usb', 'removable media', 'thumb drive', 'flash drive'],
  ['zeroday', 'zero day', '0day', 'unpatched', 'undisclosed vulnerability'],
  ['old', 'legacy', 'outdated', 'end of life', 'unsupported'],
  ['rented', 'leased', 'rent', 'lease'],
  ['hijack', 'compromise', 'take over', 'takeover', 'commandeer'],
  ['botnet', 'zombie'],
];

/** An alternative to a word: its words as written (folded) and their stems (one word, or several for a phrase). */
export interface Alternative {
  words: readonly string[];
  stems: readonly string[];
}

const ALTERNATIVES = new Map<string, Alternative[]>();
for (const group of SYNONYM_GROUPS) {
  const entries = group.map((phrase): Alternative => {
    const words = phrase.split(/[\s-]+/);
    return { words, stems: words.map(stem) };
  });
  for (const entry of entries) {
    // Only single words are looked up; a phrase is an alternative others may be found as.
    if (entry.stems.length !== 1) continue;
    const key = entry.stems[0];
    const list = ALTERNATIVES.get(key) ?? [];
    for (const other of entries) {
      const id = other.stems.join(' ');
      if (id !== key && !list.some((a) => a.stems.join(' ') === id)) list.push(other);
    }
    ALTERNATIVES.set(key, list);
  }
}

/** Returns the other words and phrases that say what the (folded) word says; empty when none are known. */
export function alternativesOf(word: string): readonly Alternative[] {
  return ALTERNATIVES.get(stem(word)) ?? [];
}

/** Returns the words (folded, as written) of every alternative to the word, for a search to look for too. */
export function alternativeWords(word: string): string[] {
  return [...new Set(alternativesOf(word).flatMap((a) => a.words))];
}
