/**
 * Calibration of "not sure": for every single-record question of the natural files (lookups, facts, topics and
 * absent questions), prints the final answer and the evidence its best record gives, term by term (document
 * frequency and credit), so the not-sure rule is set on distributions, not on single questions.
 *
 * `node --import tsx bench/calibration.ts --queries FILE [--queries FILE]... [--data FILE]... [--terms]`
 */
import { parseArgs } from 'node:util';
import { loadServed, readDataFiles } from '../src/bootstrap.js';
import { rankedHits } from '../src/core/answer.js';
import { descriptionDoubt, weighEvidence } from '../src/core/confidence.js';
import { createServedService } from '../src/core/create-service.js';
import { nameAlternatives } from '../src/core/name-alternatives.js';
import { parseQuery, words } from '../src/core/query.js';
import { stripMarkup } from '../src/core/text.js';
import type { Incident } from '../src/core/incident.js';
import { judge, readNaturalQueries } from '../src/eval/natural.js';
import { conversationalAsk } from '../src/eval/natural-run.js';

const { values } = parseArgs({ options: { queries: { type: 'string', multiple: true, default: [] }, data: { type: 'string', multiple: true, default: [] }, terms: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
const served = loadServed(undefined, readDataFiles(values.data));
const service = createServedService(served);
const index = service.index;
const n = Math.max(1, index.size);
const weight = (w: string) => Math.log(1 + n / (1 + index.text.df(w)));
const lengthOf = (r: Incident) => new Set(words([r.title, ...r.aliases, stripMarkup(r.summary), r.body ? stripMarkup(r.body) : '', r.tags.join(' ')].join(' '))).size;
let avgLen = 0;
for (const r of index.all()) avgLen += lengthOf(r);
avgLen /= n;

for (const file of values.queries) {
  const ask = conversationalAsk(service);
  for (const q of readNaturalQueries(file)) {
    const answer = ask(q.query, q.conversation);
    if (!['lookup', 'fact', 'topic', 'absent'].includes(q.kind) || q.conversation) continue;
    const pq = parseQuery(q.query);
    const hits = rankedHits(index, pq);
    const top = hits[0] && index.get(hits[0].id);
    const right = q.kind === 'absent' ? false : !judge({ ...q, answer_contains: undefined }, { ...answer, status: 'found', incident: top ? { id: top.id, title: top.title, kind: top.kind, date: null, blurb: '', aliases: [], tags: [], sameAs: top.sameAs ?? [] } : undefined }, served.canonical);
    const ev = top ? weighEvidence(top, pq, weight, Math.log(1 + n), nameAlternatives(index, pq)) : undefined;
    const second = hits[1] && index.get(hits[1].id);
    const ev2 = second ? weighEvidence(second, pq, weight, Math.log(1 + n), nameAlternatives(index, pq)) : undefined;
    const verdict = judge(q, answer, served.canonical) ? 'WRONG' : 'ok';
    const label = q.kind === 'absent' ? 'ABSENT' : right ? 'RIGHT' : 'OTHER';
    const row = {
      file: file.split('/').pop(),
      kind: q.kind,
      label,
      verdict,
      status: answer.status,
      share: ev ? Number(ev.share.toFixed(2)) : null,
      share2: ev2 ? Number(ev2.share.toFixed(2)) : null,
      s1: hits[0] ? Number(hits[0].score.toFixed(3)) : null,
      s2: hits[1] ? Number(hits[1].score.toFixed(3)) : null,
      len: top ? lengthOf(top) : null,
      doubt: top && ev ? descriptionDoubt(top, pq, ev, answer.related.flatMap((r) => index.get(r.id) ?? [])) ?? null : null,
      unknownMissing: ev?.unknownMissingCount,
      avgLen: Math.round(avgLen),
      n,
      terms: ev?.terms.map((t) => ({ t: t.term, df: index.text.df(t.term), w: Number(t.weight.toFixed(2)), c: Number(t.credit.toFixed(2)) })),
      terms2: ev2?.terms.map((t) => ({ t: t.term, c: Number(t.credit.toFixed(2)) })),
      len2: second ? lengthOf(second) : null,
      top: top?.title,
      query: q.query,
    };
    process.stdout.write(`${JSON.stringify(row)}\n`);
    if (values.terms && ev && !values.json) process.stdout.write(`   ${ev.terms.map((t) => `${t.term}:${index.text.df(t.term)}:${t.credit.toFixed(1)}`).join(' ')}\n`);
  }
}
