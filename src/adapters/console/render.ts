import type { HelpReply, Reply } from '../../../commands/types.js';
import type { Answer, IncidentList, IncidentRef } from '../../core/answer-model.js';

/** Terminal rendering limits: lines wrap in the terminal; lists stay short enough to read without scrolling. */
export const CONSOLE_LIMITS = { sources: 8, related: 5, wrap: 100 } as const;

/** Returns an answer as readable plain text for a terminal (no markup, URLs in full so terminals link them). */
export function answerToText(answer: Answer): string {
  const out: string[] = [];
  if (answer.status === 'not-found' || !answer.incident) {
    out.push(answer.summary || 'No answer.');
    if (answer.suggestions.length) out.push('', `Did you mean: ${answer.suggestions.join(' · ')}?`);
    if (answer.hint) out.push('', wrap(answer.hint, CONSOLE_LIMITS.wrap));
    return out.join('\n');
  }
  const i = answer.incident;
  if (answer.status === 'ambiguous') {
    out.push(`Several incidents match "${answer.query}". Best match first; ask again with one of the names below to be sure.`, '');
  }
  out.push(`${i.title}${i.date ? ` (${i.date})` : ''}  [${i.id}]`);
  out.push(underline(i.title.length));
  if (answer.quote) {
    out.push(`> ${answer.quote.text}`);
    if (answer.quote.source) out.push(`  — ${sourceLine(answer.quote.source)}`);
    out.push('');
  }
  out.push(wrap(answer.summary, CONSOLE_LIMITS.wrap));
  if (answer.facts.length) {
    out.push('');
    const width = Math.max(...answer.facts.map((f) => f.label.length));
    for (const f of answer.facts) out.push(`${f.label.padEnd(width)}  ${f.value}`);
  }
  if (i.aliases.length) out.push('', `Also known as: ${i.aliases.join(', ')}`);
  if (answer.sources.length) {
    out.push('', 'Sources:');
    for (const s of answer.sources.slice(0, CONSOLE_LIMITS.sources)) out.push(`  - ${sourceLine(s)}`);
    const more = answer.sources.length - CONSOLE_LIMITS.sources;
    if (more > 0) out.push(`  (+${more} more)`);
  }
  if (answer.candidates.length > 1) {
    out.push('', 'Other matches:');
    for (const c of answer.candidates.slice(1)) out.push(`  - ${refLine(c)}`);
  }
  if (answer.related.length) {
    out.push('', 'Related:');
    for (const r of answer.related.slice(0, CONSOLE_LIMITS.related)) out.push(`  - ${refLine(r)}`);
  }
  return out.join('\n');
}

/** Returns a list of incidents as numbered plain-text lines. */
export function listToText(list: IncidentList): string {
  const out = [list.title, underline(list.title.length)];
  list.items.forEach((item, n) => {
    out.push(`${String(n + 1).padStart(2)}. ${refLine(item)}`);
    if (item.blurb) out.push(`    ${item.blurb}`);
  });
  if (list.note) out.push(list.note);
  return out.join('\n');
}

/** Returns help as plain text, one block per command. */
export function helpToText(help: HelpReply): string {
  const out = [help.title, underline(help.title.length)];
  for (const e of help.entries) {
    out.push('', `/${e.usage}`, `  ${e.description}`);
    for (const line of e.help.split('\n')) out.push(`  ${line}`);
  }
  out.push('', 'Or just type a question, e.g. "what happened with Sky ECC?". Type "exit" to leave.');
  return out.join('\n');
}

/** Returns any command reply as plain text. */
export function replyToText(reply: Reply): string {
  switch (reply.type) {
    case 'answer':
      return answerToText(reply.answer);
    case 'list':
      return listToText(reply.list);
    case 'help':
      return helpToText(reply.help);
    case 'message':
      return [reply.title, underline(reply.title.length), ...reply.lines].join('\n');
    case 'error':
      return `Error: ${reply.message}`;
  }
}

function refLine(r: IncidentRef): string {
  return `${r.title}${r.date ? ` (${r.date})` : ''} [${r.id}]`;
}

function sourceLine(s: { title: string; url?: string; publisher?: string; published?: string }): string {
  const meta = [s.publisher, s.published].filter(Boolean).join(', ');
  return [s.title, meta && meta !== s.title ? `(${meta})` : '', s.url ?? ''].filter(Boolean).join(' ');
}

function underline(n: number): string {
  return '='.repeat(Math.min(n, CONSOLE_LIMITS.wrap));
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
