import { foldText } from './text.js';

// Official and everyday names the datasets use that differ from the English short names Intl knows
// (ISO 3166 / UN style "Russian Federation", "Korea (Republic of)"; "US"; older short names such as "Turkey").
const VARIANTS: Record<string, string> = {
  'russian federation': 'RU',
  'korea republic of': 'KR',
  'republic of korea': 'KR',
  'korea democratic peoples republic of': 'KP',
  'democratic peoples republic of korea': 'KP',
  dprk: 'KP',
  'iran islamic republic of': 'IR',
  'islamic republic of iran': 'IR',
  'peoples republic of china': 'CN',
  prc: 'CN',
  'united states of america': 'US',
  usa: 'US',
  us: 'US',
  'u s': 'US',
  uk: 'GB',
  'great britain': 'GB',
  'viet nam': 'VN',
  'syrian arab republic': 'SY',
  'ivory coast': 'CI',
  'czech republic': 'CZ',
  turkey: 'TR',
  palestine: 'PS',
  'state of palestine': 'PS',
  burma: 'MM',
  'hong kong': 'HK',
  macao: 'MO',
  macau: 'MO',
};

// Region codes Intl names that are not countries (European Union, Eurozone, United Nations, outlying Oceania, pseudo-regions).
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'QO', 'XA', 'XB', 'ZZ']);

// Retired and reserved codes ("BU" for Myanmar, "UK" for GB) canonicalise to another code: only the current one counts.
function isCanonical(code: string): boolean {
  try {
    return Intl.getCanonicalLocales(`und-${code}`)[0] === `und-${code}`;
  } catch {
    return false;
  }
}

let byName: Map<string, string> | undefined;
let names: Intl.DisplayNames | undefined;

function key(name: string): string {
  return foldText(name)
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/^the /, '')
    .trim();
}

// Built once, on first use: 676 lookups of the runtime's own region names (Node ships full ICU).
function table(): Map<string, string> {
  if (byName) return byName;
  names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const out = new Map<string, string>();
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      let name: string | undefined;
      try {
        name = names.of(code);
      } catch {
        continue;
      }
      if (!name || name === code || NOT_COUNTRIES.has(code) || !isCanonical(code)) continue;
      out.set(key(name), code);
      // "Myanmar (Burma)", "Hong Kong SAR China": the plain name alone is how people write it.
      const plain = name.replace(/\s*\(.*\)$/, '').replace(/\s+SAR China$/, '');
      if (plain !== name && !out.has(key(plain))) out.set(key(plain), code);
    }
  }
  for (const [variant, code] of Object.entries(VARIANTS)) out.set(variant, code);
  byName = out;
  return out;
}

/** Returns the ISO 3166-1 alpha-2 code of a country name or code ("Russian Federation", "RU", "Korea (Republic of)"), else undefined. */
export function countryCode(nameOrCode: string): string | undefined {
  const text = nameOrCode.trim();
  if (/^[A-Z]{2}$/.test(text)) {
    const code = table().get(key(countryName(text) ?? ''));
    return code === text ? text : undefined;
  }
  return table().get(key(text));
}

/** Returns the English short name of an ISO 3166-1 alpha-2 code ("RU" -> "Russia"), else undefined. */
export function countryName(code: string): string | undefined {
  table();
  try {
    const name = names!.of(code.toUpperCase());
    return name && name !== code.toUpperCase() ? name : undefined;
  } catch {
    return undefined;
  }
}
