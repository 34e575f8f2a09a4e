import type { types } from '@slack/bolt';
import type { Answer, AnswerSource, Fact, IncidentList, IncidentRef } from '../../core/answer-model.js';
import type { HelpReply } from '../../../commands/types.js';
import type { AlertPost, OutgoingMessage } from '../../feeds/types.js';
import {
  FALLBACK_CHARS,
  RENDER_BUDGET,
  SLACK_LIMITS,
  context,
  firstFitting,
  fitEscaped,
  header,
  joinWithin,
  linkMrkdwn,
  messageSize,
  mrkdwn,
  oneLine,
  section,
  type SlackMessage,
} from './format.js';
import { comparisonToBlocks, listPageToBlocks } from './lists.js';
import { firstPage, listPageOf, type PageContext } from '../paging.js';

export { RENDER_BUDGET, SLACK_LIMITS, escapeMrkdwn, fitEscaped, linkMrkdwn, messageSize, slackUrl, type SlackMessage } from './format.js';

/** Options for rendering help. */
export interface HelpRenderOptions {
  /** Maps a neutral usage line ("incidents recent [count]") to how it is typed in Slack ("/incident recent [count]"). */
  usageFor?: (usage: string) => string;
  /** A last line, e.g. how to ask by mentioning the bot. */
  footer?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

/** How much of an answer each detail level shows: level 0 is the richest, the last is tiny whatever the data. */
const ANSWER_LEVELS = [
  { summary: 3000, quote: 1000, fields: 10, field: 1000, sources: 10, sourceTitle: 150, url: 1000, related: 5, candidates: 5 },
  { summary: 1500, quote: 500, fields: 10, field: 300, sources: 6, sourceTitle: 100, url: 500, related: 3, candidates: 3 },
  { summary: 700, quote: 250, fields: 6, field: 120, sources: 3, sourceTitle: 80, url: 300, related: 0, candidates: 3 },
  { summary: 300, quote: 0, fields: 0, field: 0, sources: 0, sourceTitle: 0, url: 0, related: 0, candidates: 0 },
] as const;

type AnswerLevel = (typeof ANSWER_LEVELS)[number];

function sourceMrkdwn(source: AnswerSource, level: AnswerLevel): string {
  const url = source.url && source.url.length <= level.url ? source.url : undefined;
  const title = linkMrkdwn(url, source.title, level.sourceTitle);
  const meta = [source.publisher, source.published].filter((v): v is string => Boolean(v));
  return meta.length ? `${title} (${fitEscaped(oneLine(meta.join(', ')), 80)})` : title;
}

function refMrkdwn(ref: IncidentRef, maxTitle = 100): string {
  const date = ref.date ? ` (${fitEscaped(ref.date, 40)})` : '';
  return `${linkMrkdwn(ref.url, ref.title, maxTitle)}${date}`;
}

function factFields(facts: Fact[], level: AnswerLevel): types.MrkdwnElement[] {
  return facts.slice(0, Math.min(level.fields, SLACK_LIMITS.sectionFields)).map((fact) => {
    const label = `*${fitEscaped(fact.label, 40)}*\n`;
    return mrkdwn(label + fitEscaped(fact.value, Math.min(level.field, SLACK_LIMITS.fieldText) - label.length));
  });
}

function sourcesContext(sources: AnswerSource[], level: AnswerLevel): types.ContextBlock | undefined {
  if (level.sources === 0 || sources.length === 0) return undefined;
  const shown = sources.slice(0, level.sources).map((s) => sourceMrkdwn(s, level));
  // One text element, packed within the text object limit (leaving room for the "+N more" note).
  const { text, count } = joinWithin(shown, ' · ', SLACK_LIMITS.textObject - 200);
  const more = sources.length - count;
  return context([`*Sources:* ${text}${more > 0 ? ` · +${more} more` : ''}`]);
}

function answerFallback(answer: Answer): string {
  const inc = answer.incident;
  if (answer.status === 'not-found' || !inc) {
    const hint = answer.hint ? ` ${answer.hint}` : '';
    return fitEscaped(oneLine(`${answer.summary || `Nothing found for "${answer.query}".`}${hint}`), FALLBACK_CHARS);
  }
  const date = inc.date ? ` (${inc.date})` : '';
  return fitEscaped(oneLine(`${inc.title}${date}: ${answer.summary}`), FALLBACK_CHARS);
}

function notFoundBlocks(answer: Answer, level: AnswerLevel): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [header(`No match for "${oneLine(answer.query)}"`)];
  const summary = answer.summary || 'No incident matches that.';
  blocks.push(section(fitEscaped(summary, level.summary)));
  if (answer.suggestions.length > 0) {
    const names = answer.suggestions.map((s) => `*${fitEscaped(oneLine(s), 100)}*`);
    const { text } = joinWithin(names, ', ', Math.max(level.summary, 300));
    blocks.push(section(`Did you mean ${text}?`));
  }
  if (answer.hint) blocks.push(context([fitEscaped(oneLine(answer.hint), 600)]));
  return blocks;
}

function buildAnswer(answer: Answer, level: AnswerLevel): SlackMessage {
  const text = answerFallback(answer);
  const inc = answer.incident;
  if (answer.status === 'not-found' || !inc) return { blocks: notFoundBlocks(answer, level), text };

  const blocks: types.KnownBlock[] = [header(inc.title)];
  const meta: string[] = [];
  if (inc.kind !== 'incident') meta.push(fitEscaped(inc.kind, 20));
  if (inc.date) meta.push(fitEscaped(inc.date, 40));
  if (inc.aliases.length > 0 && level.related > 0) meta.push(`also: ${fitEscaped(inc.aliases.slice(0, 3).join(', '), 200)}`);
  if (answer.status === 'ambiguous') meta.push(`closest of several matches for "${fitEscaped(oneLine(answer.query), 100)}"`);
  if (meta.length > 0) blocks.push(context([meta.join(' · ')]));

  if (answer.summary) blocks.push(section(fitEscaped(answer.summary, Math.min(level.summary, SLACK_LIMITS.sectionText))));
  if (answer.quote && level.quote > 0) {
    const src = answer.quote.source ? ` (${sourceMrkdwn(answer.quote.source, level)})` : '';
    blocks.push(section(`> ${fitEscaped(oneLine(answer.quote.text), level.quote)}${src}`));
  }
  const fields = factFields(answer.facts, level);
  if (fields.length > 0) blocks.push({ type: 'section', fields });

  const sources = sourcesContext(answer.sources, level);
  if (sources) blocks.push(sources);

  const others = answer.candidates.filter((c) => c.id !== inc.id).slice(0, level.candidates);
  if (answer.status === 'ambiguous' && others.length > 0) {
    blocks.push(section(`*Other matches*\n${others.map((c) => `• ${refMrkdwn(c)}`).join('\n')}`));
  }
  if (level.related > 0 && answer.related.length > 0) {
    const { text: related } = joinWithin(answer.related.slice(0, level.related).map((r) => refMrkdwn(r, 80)), ' · ', 1500);
    if (related) blocks.push(context([`*Related:* ${related}`]));
  }
  return { blocks, text };
}

/**
 * Returns the Block Kit message for an answer: header, summary, facts as fields, sources as links; a list as one page
 * (`page`: how it was asked for, so its More button asks again) and a comparison side by side; within SLACK_LIMITS
 * whatever the data.
 */
export function answerToBlocks(answer: Answer, page: PageContext = firstPage()): SlackMessage {
  if (answer.status === 'list') return listPageToBlocks(listPageOf(answer), page);
  if (answer.status === 'comparison' && answer.comparison) return comparisonToBlocks({ ...answer, comparison: answer.comparison });
  return firstFitting(ANSWER_LEVELS.length, (level) => buildAnswer(answer, ANSWER_LEVELS[level]));
}

// ---------------------------------------------------------------------------------------------------------------
// Lists and help

/** Returns the Block Kit message for a list of incidents (recent, search results), as the first page of a list. */
export function listToBlocks(list: IncidentList): SlackMessage {
  return listPageToBlocks(listPageOf(list), firstPage());
}

/** Returns the Block Kit message for help: one section per command with its Slack usage, description and examples. */
export function helpToBlocks(help: HelpReply, options: HelpRenderOptions = {}): SlackMessage {
  const usageFor = options.usageFor ?? ((u: string) => u);
  const blocks: types.KnownBlock[] = [header(help.title)];
  for (const entry of help.entries.slice(0, SLACK_LIMITS.blocks - 3)) {
    const usages = entry.usage.split(' | ').map((u) => `\`${fitEscaped(usageFor(u.trim()), 200)}\``).join('  ');
    blocks.push(section(`${usages}\n${fitEscaped(entry.description, 300)}\n${fitEscaped(entry.help, 1500)}`));
  }
  if (options.footer) blocks.push(context([fitEscaped(options.footer, 500)]));
  const text = fitEscaped(`${help.title}: ${help.entries.map((e) => usageFor(e.usage)).join(', ')}`, FALLBACK_CHARS);
  return firstFittingHelp({ blocks, text });
}

function firstFittingHelp(message: SlackMessage): SlackMessage {
  // Help comes from our own definitions; should it ever outgrow the budget, drop trailing entries rather than fail.
  while (messageSize(message) > RENDER_BUDGET && message.blocks.length > 2) message.blocks.splice(-2, 1);
  return message;
}

/** Returns a titled notice (subscriptions, feed status) as one section; all text escaped. */
export function noticeToBlocks(title: string, lines: readonly string[]): SlackMessage {
  const heading = fitEscaped(oneLine(title), SLACK_LIMITS.headerText);
  const body = fitEscaped(lines.join('\n') || ' ', SLACK_LIMITS.sectionText);
  return { blocks: [section(`*${heading}*\n${body}`)], text: heading };
}

/** Returns the Block Kit message for an error the user should see (plain words, no stack); the text is escaped. */
export function errorToBlocks(message: string): SlackMessage {
  const text = fitEscaped(oneLine(message) || 'Something went wrong.', 1000);
  return { blocks: [section(`:warning: ${text}`)], text };
}

// ---------------------------------------------------------------------------------------------------------------
// Alerts (channel posts made by the outbox worker)

/** Posts a digest lists by name; the rest are counted ("…and M more"). */
export const DIGEST_MAX_POSTS = 20;

/** Returns Slack's date token for an ISO date (each reader sees their own time zone), with a UTC fallback; undefined when not a date. */
export function slackDate(iso: string | undefined, format = '{date_short_pretty} {time}'): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  const fallback = `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  // Only digits and our own format go into the token: nothing from the feed.
  return `<!date^${Math.floor(t / 1000)}^${format}|${fallback}>`;
}

function alertMeta(post: AlertPost, dateFormat?: string): string {
  const parts = [post.source ? fitEscaped(oneLine(post.source), 150) : '', slackDate(post.published, dateFormat) ?? ''].filter(Boolean);
  return parts.join(' · ');
}

function alertBlocks(post: AlertPost): SlackMessage {
  const title = linkMrkdwn(post.url, oneLine(post.title) || 'New post', 250);
  const blocks: types.KnownBlock[] = [section(`*${title}*`)];
  const meta = alertMeta(post);
  if (meta) blocks.push(context([meta]));
  const summary = fitEscaped(oneLine(post.summary), 700);
  if (summary) blocks.push(section(summary));
  const text = fitEscaped(oneLine(`${post.title}${post.source ? ` (${post.source})` : ''}`), FALLBACK_CHARS) || 'New post';
  return { blocks, text };
}

const DIGEST_LEVELS = [
  { posts: DIGEST_MAX_POSTS, title: 150 },
  { posts: DIGEST_MAX_POSTS, title: 80 },
  { posts: 10, title: 60 },
] as const;

function digestBlocks(posts: readonly AlertPost[], level: (typeof DIGEST_LEVELS)[number]): SlackMessage {
  const lines = posts.slice(0, level.posts).map((p) => {
    const meta = alertMeta(p, '{date_short}');
    return `• *${linkMrkdwn(p.url, p.title, level.title)}*${meta ? ` — ${meta}` : ''}`;
  });
  const { text: listed, count } = joinWithin(lines, '\n', SLACK_LIMITS.sectionText);
  const blocks: types.KnownBlock[] = [header(`${posts.length} new post${posts.length === 1 ? '' : 's'}`)];
  if (listed) blocks.push(section(listed));
  const more = posts.length - count;
  if (more > 0) blocks.push(context([`…and ${more} more`]));
  const titles = posts.slice(0, 5).map((p) => oneLine(p.title)).join('; ');
  return { blocks, text: fitEscaped(`${posts.length} new posts: ${titles}`, FALLBACK_CHARS) };
}

/**
 * Returns the Block Kit message for an alert (the post's title linked to its http(s) URL, source, date, short
 * summary), a digest (up to DIGEST_MAX_POSTS posts, then "…and M more") or a notice (a warning line), with a text
 * fallback. Feed text is escaped, so it can form no mention, broadcast or link; Slack has no roles, so `roleId`
 * (a Discord role) is not used.
 */
export function alertToBlocks(message: OutgoingMessage): SlackMessage {
  switch (message.kind) {
    case 'alert':
      return alertBlocks(message.post);
    case 'digest':
      return firstFitting(DIGEST_LEVELS.length, (level) => digestBlocks(message.posts, DIGEST_LEVELS[level]));
    case 'notice': {
      const text = fitEscaped(oneLine(message.text) || 'Notice', 2900);
      return { blocks: [section(`:warning: ${text}`)], text: fitEscaped(oneLine(message.text) || 'Notice', FALLBACK_CHARS) };
    }
  }
}
