/**
 * The adjective for each country's people, by ISO 3166 code, for every country countries.ts names whose adjective
 * differs from its name (a general reference table, not drawn from any question set). Questions name places by their
 * people ("swedish hackers", "polish banks") as often as by name; a place left unread can neither narrow a list nor
 * doubt an answer about another country's events. Two-word adjectives ("south african") are read as one.
 * Left out on purpose: adjectives that are mostly languages or regions in this field ("english", "arabic", "latin"),
 * and adjectives several countries share ("guinean" is kept for Guinea only, "dominican" for the Dominican Republic).
 * "korean" means North Korean: analysts say it of actors, which the data holds for North Korea.
 */
const BY_CODE: Readonly<Record<string, readonly string[]>> = {
  AD: ['andorran'], AE: ['emirati'], AF: ['afghan'], AG: ['antiguan'], AL: ['albanian'], AM: ['armenian'], AO: ['angolan'],
  AR: ['argentine', 'argentinian'], AT: ['austrian'], AU: ['australian'], AZ: ['azerbaijani', 'azeri'],
  BA: ['bosnian'], BB: ['barbadian'], BD: ['bangladeshi'], BE: ['belgian'], BF: ['burkinabe'], BG: ['bulgarian'],
  BH: ['bahraini'], BI: ['burundian'], BJ: ['beninese'], BN: ['bruneian'], BO: ['bolivian'], BR: ['brazilian'],
  BS: ['bahamian'], BT: ['bhutanese'], BW: ['botswanan'], BY: ['belarusian', 'belarussian'], BZ: ['belizean'],
  CA: ['canadian'], CD: ['congolese'], CF: ['central african'], CH: ['swiss'], CI: ['ivorian'], CL: ['chilean'],
  CM: ['cameroonian'], CN: ['chinese'], CO: ['colombian'], CR: ['costa rican'], CU: ['cuban'], CV: ['cape verdean'],
  CY: ['cypriot'], CZ: ['czech'], DE: ['german'], DJ: ['djiboutian'], DK: ['danish'], DO: ['dominican'],
  DZ: ['algerian'], EC: ['ecuadorian'], EE: ['estonian'], EG: ['egyptian'], ER: ['eritrean'], ES: ['spanish'],
  ET: ['ethiopian'], FI: ['finnish'], FJ: ['fijian'], FM: ['micronesian'], FO: ['faroese'], FR: ['french'],
  GA: ['gabonese'], GB: ['british', 'scottish', 'welsh'], GD: ['grenadian'], GE: ['georgian'], GH: ['ghanaian'],
  GL: ['greenlandic'], GM: ['gambian'], GN: ['guinean'], GQ: ['equatoguinean'], GR: ['greek'], GT: ['guatemalan'],
  GY: ['guyanese'], HK: ['hongkongese'], HN: ['honduran'], HR: ['croatian'], HT: ['haitian'], HU: ['hungarian'],
  ID: ['indonesian'], IE: ['irish'], IL: ['israeli'], IN: ['indian'], IQ: ['iraqi'], IR: ['iranian', 'persian'],
  IS: ['icelandic'], IT: ['italian'], JM: ['jamaican'], JO: ['jordanian'], JP: ['japanese'], KE: ['kenyan'],
  KG: ['kyrgyz'], KH: ['cambodian'], KM: ['comoran'], KP: ['north korean', 'korean'], KR: ['south korean'],
  KW: ['kuwaiti'], KZ: ['kazakh', 'kazakhstani'], LA: ['lao', 'laotian'], LB: ['lebanese'], LC: ['saint lucian'],
  LI: ['liechtensteiner'], LK: ['sri lankan'], LR: ['liberian'], LS: ['basotho'], LT: ['lithuanian'],
  LU: ['luxembourgish'], LV: ['latvian'], LY: ['libyan'], MA: ['moroccan'], MC: ['monegasque'], MD: ['moldovan'],
  ME: ['montenegrin'], MG: ['malagasy'], MH: ['marshallese'], MK: ['macedonian'], ML: ['malian'], MM: ['burmese'],
  MN: ['mongolian'], MO: ['macanese'], MR: ['mauritanian'], MT: ['maltese'], MU: ['mauritian'], MV: ['maldivian'],
  MW: ['malawian'], MX: ['mexican'], MY: ['malaysian'], MZ: ['mozambican'], NA: ['namibian'], NE: ['nigerien'],
  NG: ['nigerian'], NI: ['nicaraguan'], NL: ['dutch'], NO: ['norwegian'], NP: ['nepalese', 'nepali'], NR: ['nauruan'],
  NZ: ['new zealander'], OM: ['omani'], PA: ['panamanian'], PE: ['peruvian'], PG: ['papuan'], PH: ['filipino', 'philippine'],
  PK: ['pakistani'], PL: ['polish'], PR: ['puerto rican'], PS: ['palestinian'], PT: ['portuguese'], PW: ['palauan'],
  PY: ['paraguayan'], QA: ['qatari'], RO: ['romanian'], RS: ['serbian'], RU: ['russian'], RW: ['rwandan'],
  SA: ['saudi'], SB: ['solomon islander'], SC: ['seychellois'], SD: ['sudanese'], SE: ['swedish'], SG: ['singaporean'],
  SI: ['slovenian', 'slovene'], SK: ['slovak', 'slovakian'], SL: ['sierra leonean'], SM: ['sammarinese'],
  SN: ['senegalese'], SO: ['somali'], SR: ['surinamese'], SS: ['south sudanese'], SV: ['salvadoran'], SY: ['syrian'],
  SZ: ['swazi'], TD: ['chadian'], TG: ['togolese'], TH: ['thai'], TJ: ['tajik'], TL: ['timorese'], TM: ['turkmen'],
  TN: ['tunisian'], TO: ['tongan'], TR: ['turkish'], TT: ['trinidadian'], TV: ['tuvaluan'], TW: ['taiwanese'],
  TZ: ['tanzanian'], UA: ['ukrainian'], UG: ['ugandan'], US: ['american'], UY: ['uruguayan'], UZ: ['uzbek'],
  VC: ['vincentian'], VE: ['venezuelan'], VN: ['vietnamese'], VU: ['ni vanuatu'], WS: ['samoan'], YE: ['yemeni'],
  ZA: ['south african'], ZM: ['zambian'], ZW: ['zimbabwean'],
};

/** Returns each people's adjective (folded, words split by one space) mapped to its country's ISO code. */
export function demonymTable(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [code, adjectives] of Object.entries(BY_CODE)) for (const a of adjectives) out[a] = code;
  return out;
}
