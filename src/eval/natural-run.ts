import { answerTurn, contextAfter } from '../../commands/conversation.js';
import type { Answer } from '../core/answer-model.js';
import { answerQuery } from '../core/answer.js';
import type { IncidentIndex } from '../core/incident-index.js';
import type { ConversationContext } from '../core/conversation.js';
import type { IncidentService } from '../core/incident-service.js';
import { evaluateNatural, formatNaturalTable, readNaturalQueries, type AskFn, type NaturalReport } from './natural.js';

/**
 * Returns an ask function that answers as the chat commands do: questions sharing a conversation id go through one
 * conversation (its context handed to the service and replaced by each answer), the others are asked afresh.
 */
export function conversationalAsk(service: IncidentService, now: () => number = Date.now): AskFn {
  const contexts = new Map<string, ConversationContext>();
  return (query, conversation): Answer => {
    const context = conversation ? contexts.get(conversation) : undefined;
    const answer = answerTurn(service, query, { context });
    const next = contextAfter(answer, now());
    if (conversation && next) contexts.set(conversation, next);
    return answer;
  };
}

/** The natural eval's reports over one file: ours, and the previous method's (one record per question, no conversation). */
export interface NaturalRun {
  ours: NaturalReport;
  previous?: NaturalReport;
}

/** Returns the natural eval's reports over one file, with the service answering as the chat commands do. */
export function runNaturalEval(file: string, service: IncidentService & { index?: IncidentIndex }, canonical: ReadonlyMap<string, string>): NaturalRun {
  const queries = readNaturalQueries(file);
  const ours = evaluateNatural(queries, conversationalAsk(service), canonical);
  const index = service.index;
  if (!index) return { ours };
  // The previous release answered every question with one record found by name and text, and kept no conversation.
  const previous = evaluateNatural(queries, (q) => answerQuery(index, (id) => service.get(id), q, { graph: service.graph }), canonical);
  return { ours, previous };
}

/** Returns the printable report: the table (beside the previous method's), then the misses when asked for. */
export function naturalEvalText(file: string, run: NaturalRun, records: number, misses: boolean): string {
  const report = run.ours;
  const lines = [`${file} (${report.overall.queries} natural questions, ${records} records)`, formatNaturalTable(report, run.previous), ''];
  if (misses) for (const m of report.misses) lines.push(`miss [${m.kind}] ${JSON.stringify(m.query)}: ${m.why}`);
  return `${lines.join('\n')}\n`;
}
