import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dateInRange, readDateSpan, readTimeRange } from '../../src/core/time-range.js';

/** A fixed "today" for every case: Wednesday 15 October 2025, midday UTC. */
const NOW = new Date('2025-10-15T12:00:00Z');
const range = (text: string, now = NOW) => {
  const r = readTimeRange(text, now);
  return r && { from: r.from, to: r.to, recency: r.recency, matched: r.matched, rest: r.rest };
};

describe('readTimeRange', () => {
  it('reads recency cues without a range', () => {
    assert.deepEqual(range('show me the newest fortinet flaws'), {
      from: undefined, to: undefined, recency: true, matched: 'newest', rest: 'show me the fortinet flaws',
    });
    assert.equal(range('ivanti bugs exploited recently')?.recency, true);
    assert.equal(range('most recent cisco entries')?.matched, 'most recent');
  });

  it('does not take words that merely contain a cue', () => {
    assert.equal(range('the recentred newsletter of apt-c-36'), undefined);
  });

  it('reads the current and previous calendar periods against now', () => {
    assert.deepEqual(range('ransomware hits this year'), {
      from: '2025-01-01', to: undefined, recency: false, matched: 'this year', rest: 'ransomware hits',
    });
    assert.equal(range('breaches this month')?.from, '2025-10-01');
    const lastYear = range('what did volt typhoon do last year');
    assert.equal(lastYear?.from, '2024-01-01');
    assert.equal(lastYear?.to, '2024-12-31');
    const lastMonth = range('anything big last month?');
    assert.deepEqual([lastMonth?.from, lastMonth?.to, lastMonth?.rest], ['2025-09-01', '2025-09-30', 'anything big?']);
  });

  it('reads rolling windows ending today', () => {
    const week = range('exploited in the past week');
    assert.deepEqual([week?.from, week?.to], ['2025-10-08', '2025-10-15']);
    const months = range('citrix issues over the last 6 months');
    assert.deepEqual([months?.from, months?.to], ['2025-04-15', '2025-10-15']);
    assert.equal(range('what came out yesterday')?.from, '2025-10-14');
  });

  it('reads a month with its year as the whole month', () => {
    const r = range('which intrusions began during February 2022');
    assert.deepEqual([r?.from, r?.to, r?.matched], ['2022-02-01', '2022-02-28', 'during February 2022']);
    assert.deepEqual([range('leaks from aug 2020 onwards')?.from], ['2020-08-01']);
  });

  it('reads a bare year only where it stands alone', () => {
    const r = range('anything about wiper attacks in 2018');
    assert.deepEqual([r?.from, r?.to, r?.rest], ['2018-01-01', '2018-12-31', 'anything about wiper attacks']);
    assert.equal(range('details of CVE-2019-19781'), undefined, 'a CVE id is not a year');
    assert.equal(range('what is S0154 and G0016'), undefined);
    assert.equal(range('losses above 25,000 dollars'), undefined);
  });

  it('opens a range with since, from and after', () => {
    assert.equal(range('juniper vulns since 2023')?.from, '2023-01-01');
    assert.equal(range('juniper vulns since 2023')?.to, undefined);
    assert.equal(range('phishing after September 2024')?.from, '2024-10-01', 'after a month is the day after it ends');
    assert.equal(range('listed since 4 July 2024')?.from, '2024-07-04');
  });

  it('closes a range with until and before', () => {
    assert.deepEqual([range('older attacks before 2016')?.to, range('older attacks before 2016')?.from], ['2015-12-31', undefined]);
    assert.equal(range('everything up to April 2021')?.to, '2021-04-30');
  });

  it('reads a month without a year as its latest occurrence that has begun', () => {
    assert.equal(range('exploited since January')?.from, '2025-01-01');
    assert.equal(range('campaigns since November')?.from, '2024-11-01', 'November 2025 has not begun on 15 October');
    assert.equal(range('anything in october')?.from, '2025-10-01', 'the current month has begun');
  });

  it('reads both ends of a range, lending the second year to the first', () => {
    const r = range('intrusions between June and August 2023 in europe');
    assert.deepEqual([r?.from, r?.to, r?.rest], ['2023-06-01', '2023-08-31', 'intrusions in europe']);
    const years = range('apt41 from 2019 to 2021');
    assert.deepEqual([years?.from, years?.to], ['2019-01-01', '2021-12-31']);
    const winter = range('from December to February');
    assert.deepEqual([winter?.from, winter?.to], ['2024-12-01', '2025-02-28'], 'the winter just gone');
  });

  it('does not read the verbs may and march as months', () => {
    assert.equal(range('may I see what lazarus did'), undefined);
    assert.equal(range('protesters march on the ministry'), undefined);
    assert.equal(range('what happened in may')?.from, '2025-05-01');
  });

  it('reads search filters, and leaves a bad value alone', () => {
    const since = range('oracle since:2024');
    assert.deepEqual([since?.from, since?.matched, since?.rest], ['2024-01-01', 'since:2024', 'oracle']);
    assert.equal(range('oracle until:2023-02')?.to, '2023-02-28');
    assert.equal(range('oracle before:2023-02-10')?.to, '2023-02-09');
    assert.equal(range('oracle until:someday'), undefined);
    assert.equal(range('oracle until:2023-13'), undefined);
  });

  it('keeps both a cue and a range, stripping both', () => {
    const r = range('latest microsoft zero-days since March 2025');
    assert.deepEqual([r?.from, r?.recency, r?.matched, r?.rest], ['2025-03-01', true, 'since March 2025', 'microsoft zero-days']);
  });

  it('answers nothing for text without a time', () => {
    assert.equal(range('who is behind sandworm'), undefined);
    assert.equal(range(''), undefined);
  });
});

describe('readDateSpan', () => {
  it('reads ISO values at their precision and refuses impossible ones', () => {
    assert.deepEqual(readDateSpan('2024', NOW), { from: '2024-01-01', to: '2024-12-31', hasYear: true });
    assert.deepEqual(readDateSpan('2024-02', NOW), { from: '2024-02-01', to: '2024-02-29', hasYear: true });
    assert.deepEqual(readDateSpan('2023-02-28', NOW), { from: '2023-02-28', to: '2023-02-28', hasYear: true });
    assert.equal(readDateSpan('2023-02-30', NOW), undefined);
    assert.equal(readDateSpan('soon', NOW), undefined);
  });
});

describe('dateInRange', () => {
  it('keeps a record whose date overlaps the range', () => {
    const r = { from: '2024-05-01', to: '2024-05-31' };
    assert.equal(dateInRange({ value: '2024-05-20', precision: 'day' }, r), true);
    assert.equal(dateInRange({ value: '2024-05', precision: 'month' }, r), true);
    assert.equal(dateInRange({ value: '2024', precision: 'year' }, r), true);
    assert.equal(dateInRange({ value: '2024-06-01', precision: 'day' }, r), false);
    assert.equal(dateInRange({ value: '2024-04', precision: 'month' }, r), false);
  });

  it('keeps no undated record in a bounded range, and every record in an open one', () => {
    assert.equal(dateInRange(null, { from: '2020-01-01' }), false);
    assert.equal(dateInRange(null, {}), true);
  });
});
