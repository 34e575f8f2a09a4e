import type { HelpReply, Reply } from '../../../commands/types.js';
import type { Answer, ComparedSide, Comparison, IncidentList, IncidentRef } from '../../core/answer-model.js';
import { firstPage, listPageOf, pageRange, type ListPage, type PageContext } from '../paging.js';

/** Terminal rendering limits: lines wrap in the terminal; lists stay short enough to read without scrolling. */
export const CONSOLE_LIMITS = { sources: 8, related: 5, wrap: 100 } as const;

/** What the console says under a list that has a next page. */
export const MORE_HINT = 'Type "more" for the next page.';

/**
 * Returns an answer as readable plain text for a terminal (no markup, URLs in full so terminals link them); a list
 * as one numbered page (`page`: where it starts, whether `more` can show the next), a comparison as two blocks.
 */
export function answerToText(answer: Answer, page: PageContext = firstPage()): string {
  if (answer.status === 'list') return listPageToText(listPageOf(answer), page);
  if (answer.status === 'comparison' && answer.comparison) return comparisonToText(answer, answer.comparison);
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
  return listPageToText(listPageOf(list), firstPage());
}

/**
 * Returns one page of a list as numbered plain-text lines, numbered from the page's first item, with the range
 * ("Showing 11–20 of 37") and, when there is a next page that can be asked for, how to see it.
 */
export function listPageToText(page: ListPage, ctx: PageContext): string {
  const title = page.title.replace(/\s+/g, ' ').trim() || 'Incidents';
  const out = [title, underline(title.length)];
  if (page.intro.trim()) out.push(wrap(page.intro, CONSOLE_LIMITS.wrap), ...(page.items.length ? [''] : []));
  page.items.forEach((item, n) => {
    out.push(`${String(ctx.start + n).padStart(2)}. ${refLine(item)}`);
    if (item.blurb) out.push(`    ${item.blurb}`);
  });
  if (page.items.length === 0 && !page.intro.trim()) out.push(ctx.start > 1 ? 'No more items.' : 'Nothing matched.');
  if (page.items.length > 0) {
    const more = page.cursor && ctx.command ? ` ${MORE_HINT}` : '';
    out.push('', `${pageRange(page, ctx.start)}.${more}`);
  }
  return out.join('\n');
}

/** Returns a comparison as two labelled blocks (each record with its facts), then what both share. */
export function comparisonToText(answer: Answer, comparison: Comparison): string {
  const title = `${comparison.left.ref.title} vs ${comparison.right.ref.title}`;
  const out = [title, underline(title.length)];
  if (answer.summary.trim()) out.push(wrap(answer.summary, CONSOLE_LIMITS.wrap));
  for (const side of [comparison.left, comparison.right]) out.push('', ...sideLines(side));
  const shared = comparison.shared.filter((s) => s.values.length > 0);
  out.push('', 'Both:');
  if (shared.length) for (const s of shared) out.push(`  ${s.label}: ${s.values.join(', ')}`);
  else out.push('  nothing in common on record');
  return out.join('\n');
}

function sideLines(side: ComparedSide): string[] {
  const lines = [`${refLine(side.ref)}${side.ref.kind !== 'incident' ? ` (${side.ref.kind})` : ''}`];
  const width = Math.max(0, ...side.facts.map((f) => f.label.length));
  for (const f of side.facts) lines.push(`  ${f.label.padEnd(width)}  ${f.value}`);
  if (!side.facts.length && side.ref.blurb) lines.push(`  ${side.ref.blurb}`);
  if (side.ref.url) lines.push(`  ${side.ref.url}`);
  return lines;
}

/** Returns help as plain text, one block per command. */
export function helpToText(help: HelpReply): string {
  const out = [help.title, underline(help.title.length)];
  for (const e of help.entries) {
    out.push('', `/${e.usage}`, `  ${e.description}`);
    for (const line of e.help.split('\n')) out.push(`  ${line}`);
  }
  out.push('', 'Or just type a question, e.g. "what happened with Sky ECC?"; "more" shows the next page of a list. Type "exit" to leave.');
  return out.join('\n');
}

/** Returns any command reply as plain text; `page` says where a list reply starts and whether it can be paged. */
export function replyToText(reply: Reply, page: PageContext = firstPage()): string {
  switch (reply.type) {
    case 'answer':
      return answerToText(reply.answer, page);
    case 'list':
      return listPageToText(listPageOf(reply.list), page);
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
