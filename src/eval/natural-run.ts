import { answerTurn, contextAfter } from '../../commands/conversation.js';
import type { Answer } from '../core/answer-model.js';
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

/** Returns the natural eval's report over one file, with the service answering as the chat commands do. */
export function runNaturalEval(file: string, service: IncidentService, canonical: ReadonlyMap<string, string>): NaturalReport {
  return evaluateNatural(readNaturalQueries(file), conversationalAsk(service), canonical);
}

/** Returns the printable report: the table, then the misses when asked for. */
export function naturalEvalText(file: string, report: NaturalReport, records: number, misses: boolean): string {
  const lines = [`${file} (${report.overall.queries} natural questions, ${records} records)`, formatNaturalTable(report), ''];
  if (misses) for (const m of report.misses) lines.push(`miss [${m.kind}] ${JSON.stringify(m.query)}: ${m.why}`);
  return `${lines.join('\n')}\n`;
}
