/**
 * Dates as real feeds write them: RFC 822 with the zones and month names of many languages, ISO 8601 and its
 * near-misses, Korean forms, two-digit years; read to ISO strings in UTC, or undefined when unreadable.
 */
const MONTHS: Record<string, number> = {};
function addMonths(names: string, offset = 0): void {
  names.split(/\s+/).forEach((group, i) => {
    for (const n of group.split('|')) if (n) MONTHS[n] = i + 1 + offset;
  });
}
// English, then the languages real feeds use; each group is one month (full|abbreviations).
addMonths('january|jan february|feb march|mar april|apr may june|jun july|jul august|aug september|sep|sept october|oct november|nov december|dec');
addMonths('gennaio|gen febbraio|feb marzo|mar aprile|apr maggio|mag giugno|giu luglio|lug agosto|ago settembre|set ottobre|ott novembre|nov dicembre|dic');
addMonths('janvier|janv février|fevrier|févr|fevr|fév|fev mars avril|avr mai juin juillet|juil août|aout|aoû septembre octobre novembre décembre|decembre|déc');
addMonths('januar|jän|jaen februar märz|maerz|mär|mrz april mai juni juli august september oktober|okt november dezember|dez');
addMonths('enero|ene febrero marzo abril|abr mayo junio julio agosto septiembre|setiembre octubre noviembre diciembre');
addMonths('janeiro fevereiro|fev março|marco abril maio junho julho agosto setembro outubro|out novembro dezembro|dez');
addMonths('januari februari maart|mrt april mei juni juli augustus september oktober november december');
addMonths('stycznia|styczeń|sty lutego|luty|lut marca|marzec kwietnia|kwiecień|kwi maja|maj czerwca|czerwiec|cze lipca|lipiec|lip sierpnia|sierpień|sie września|wrzesień|wrz października|październik|paź listopada|listopad|lis grudnia|grudzień|gru');
addMonths('januari februari mars april maj juni juli augusti september oktober november december');
addMonths('январь|января|янв февраль|февраля|фев март|марта|мар апрель|апреля|апр май|мая июнь|июня|июн июль|июля|июл август|августа|авг сентябрь|сентября|сен октябрь|октября|окт ноябрь|ноября|ноя декабрь|декабря|дек');
// Greek and Hungarian, as feedparser reads them.
addMonths('ιαν|ιανουάριος φεβ|φεβρουάριος μάώ|μάρ|μαρ|μάρτιος απρ|απρίλιος μάι|μαϊ|μαι|μάιος ιούν|ιον|ιουν|ιούνιος ιούλ|ιολ|ιουλ|ιούλιος αύγ|αυγ|αύγουστος σεπ|σεπτέμβριος οκτ|οκτώβριος νοέ|νοε|νοέμβριος δεκ|δεκέμβριος');
addMonths('január február március április május június július augusztus szeptember október november december');

/** Zone abbreviations seen in feeds, in minutes east of UTC (RFC 822 plus the common North American / European ones). */
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0, 'etc/gmt': 0, 'etc/utc': 0, wet: 0,
  est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
  ast: -240, adt: -180, akst: -540, akdt: -480, hst: -600, nst: -210, ndt: -150,
  at: -240, et: -300, ct: -360, mt: -420, pt: -480,
  met: 60, mest: 120, cet: 60, cest: 120, mez: 60, mesz: 120, west: 60, bst: 60, ist: 330, eet: 120, eest: 180,
  msk: 180, gst: 240, pkt: 300, ict: 420, wib: 420, hkt: 480, sgt: 480, awst: 480, cst8: 480,
  jst: 540, kst: 540, acst: 570, acdt: 630, aest: 600, aedt: 660, nzst: 720, nzdt: 780,
  brt: -180, art: -180, clt: -240, sast: 120, cat: 120, eat: 180, wat: 60,
};

/** Returns the date as ISO 8601 UTC, or undefined when unparseable. Strings without a zone are taken as UTC. */
export function parseFeedDate(raw: string | undefined | null): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.replace(/\s+/g, ' ').trim();
  if (!s || s.length > 100) return undefined;
  const ms = parseIsoLike(s) ?? parseKorean(s) ?? parseRfc822Like(s);
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || y < 1 || y > 9999) return undefined;
  return d.toISOString();
}

function utc(y: number, mo: number, d: number, h = 0, mi = 0, sec = 0, msec = 0, offsetMin = 0): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 24 || mi > 59 || sec > 60) return undefined;
  if (h === 24 && (mi > 0 || sec > 0)) return undefined;
  const dim = new Date(Date.UTC(2000, mo, 0)).getUTCDate(); // days in month (leap-year Feb checked below)
  if (d > dim) return undefined;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return undefined;
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, Math.min(sec, 59), msec));
  date.setUTCFullYear(y); // Date.UTC maps years 0-99 to 1900-1999
  if (date.getUTCMonth() !== mo - 1 && !(h === 24)) return undefined;
  return date.getTime() - offsetMin * 60_000;
}

function zoneOffset(z: string | undefined): number | undefined {
  if (!z) return 0; // no zone: UTC (the rule; feeds without zones are almost always UTC servers)
  const t = z.trim().toLowerCase();
  if (t in ZONES) return ZONES[t];
  const m = /^(?:gmt|utc|ut)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(t);
  if (m) {
    const h = Number(m[2]);
    const mi = m[3] ? Number(m[3]) : 0;
    if (h > 14 || mi > 59) return undefined;
    return (m[1] === '-' ? -1 : 1) * (h * 60 + mi);
  }
  if (/^[a-z]{1,5}$/.test(t)) return 0; // unknown named zone: UTC rather than losing the date
  return undefined;
}

function twoDigitYear(y: number): number {
  // RFC 2822 §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
  return y < 50 ? 2000 + y : 1900 + y;
}

function parseIsoLike(s: string): number | undefined {
  // W3C-DTF / ISO 8601 / RFC 3339, with space instead of T, with or without zone, fractions; month may be a name
  // (Hungarian "2004-július-13").
  let m = /^(\d{4})-(\d{1,3}|[\p{L}.]+)-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)? ?(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{1,5})?)?$/iu.exec(s);
  if (m) {
    const mo = /^\d+$/.test(m[2]!) ? Number(m[2]) : MONTHS[m[2]!.toLowerCase().replace(/\.$/, '')];
    if (!mo) return undefined;
    const off = zoneOffset(m[8]);
    if (off === undefined) return undefined;
    const frac = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return utc(Number(m[1]), mo, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), frac, off);
  }
  if ((m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s))) {
    const off = zoneOffset(m[7]);
    if (off === undefined) return undefined;
    return utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0, off);
  }
  if ((m = /^(\d{4})(?:-(\d{2}))?$/.exec(s))) return utc(Number(m[1]), Number(m[2] ?? 1), 1);
  // Truncated ISO 8601 forms with 2-digit years that feedparser accepts (YY-MM-DD, -YY-MM, -YYMM, YYMMDD).
  if ((m = /^(\d{2})-(\d{2})-(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), Number(m[3]));
  if ((m = /^-(\d{2})-?(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), 1);
  if ((m = /^(\d{2})(\d{2})(\d{2})$/.exec(s))) return utc(twoDigitYear(Number(m[1])), Number(m[2]), Number(m[3]));
  return undefined;
}

function parseKorean(s: string): number | undefined {
  // Korean blog engines (OnBlog "2004년 05월 28일 01:31:15", Nate "2004-05-25 오후 11:23:17"), KST = UTC+9.
  let m = /^(\d{4})년 ?(\d{1,2})월 ?(\d{1,2})일 ?(\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (m) return utc(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), 0, 540);
  m = /^(\d{4})-(\d{1,2})-(\d{1,2}) (오전|오후) (\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (m) {
    let h = Number(m[5]) % 12;
    if (m[4] === '오후') h += 12;
    return utc(Number(m[1]), Number(m[2]), Number(m[3]), h, Number(m[6]), Number(m[7]), 0, 540);
  }
  return undefined;
}

const WEEKDAYS = new Set([
  'mon', 'tue', 'tues', 'wed', 'thu', 'thur', 'thurs', 'fri', 'sat', 'sun',
  'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday',
]);

/**
 * RFC 822/2822 and the variants feeds produce: any weekday (or none), "D Mon Y" or "Mon D, Y", asctime
 * ("Sun Jan  4 16:29:06 2004", year after the time), Perforce "2006/09/15", full or foreign month names,
 * 2-digit years, missing seconds or time, AM/PM, zones as names, "+hhmm", "+hh:mm", "GMT-01:01" or glued to
 * the time ("00:00:00-0500").
 */
function parseRfc822Like(input: string): number | undefined {
  let s = input.replace(/\([^)]*\)/g, ' ').replace(/,/g, ' ').replace(/\s+/g, ' ').trim();
  // Leading weekday: any word followed by a comma in the original ("mar," "Seg," "Κυρ,") or a known weekday.
  const lead = /^([\p{L}.]+)(,| )\s*/u.exec(input.trim());
  if (lead && (lead[2] === ',' || WEEKDAYS.has(lead[1]!.toLowerCase().replace(/\.$/, '')))) {
    s = s.slice(s.indexOf(' ') + 1);
  }
  const tokens = s.split(' ').filter(Boolean);
  let day: number | undefined;
  let month: number | undefined;
  let year: number | undefined;
  let yearDigits = 0;
  let time: [number, number, number] | undefined;
  let zone: string | undefined;
  let ampm: 'am' | 'pm' | undefined;

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const lower = t.toLowerCase().replace(/\.$/, '');
    let m: RegExpExecArray | null;
    if ((m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(t))) {
      if (year !== undefined) return undefined;
      year = Number(m[1]);
      yearDigits = 4;
      month = Number(m[2]);
      day = Number(m[3]);
      continue;
    }
    if ((m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?((?:[+-]\d{1,2}(?::?\d{2})?|z))?$/i.exec(t))) {
      if (time) return undefined;
      time = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
      if (m[4]) zone = m[4];
      continue;
    }
    if (/^(am|pm|a\.m\.|p\.m\.)$/i.test(t)) {
      ampm = t.toLowerCase().startsWith('a') ? 'am' : 'pm';
      continue;
    }
    if (/^\d{1,4}$/.test(t)) {
      // The first 1-2 digit number is the day ("16 Dec 2012", "Dec 16 2012"); a later one, or 3-4 digits, the year.
      if (t.length <= 2 && day === undefined) day = Number(t);
      else if (year === undefined) {
        year = Number(t);
        yearDigits = t.length;
      } else return undefined;
      continue;
    }
    if (/^[+-]\d{2}:?\d{2}$/.test(t) || /^(gmt|utc|ut)[+-]\d{1,2}(:?\d{2})?$/i.test(t)) {
      if (zone !== undefined) return undefined;
      zone = t;
      continue;
    }
    if (month === undefined && MONTHS[lower] !== undefined) {
      month = MONTHS[lower];
      continue;
    }
    if (WEEKDAYS.has(lower)) continue;
    if (zone === undefined && (lower in ZONES || /^[a-z]{2,5}$/.test(lower))) {
      zone = lower;
      continue;
    }
    return undefined;
  }
  if (day === undefined || month === undefined || year === undefined) return undefined;
  if (yearDigits <= 2) year = twoDigitYear(year);
  else if (yearDigits === 3) year += 1900; // old Perl/Java feeds writing years since 1900
  let [h, mi, sec] = time ?? [0, 0, 0];
  if (ampm) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (ampm === 'pm' ? 12 : 0);
  }
  const off = zoneOffset(zone);
  if (off === undefined) return undefined;
  return utc(year, month, day, h, mi, sec, 0, off);
}
