import type { types } from '@slack/bolt';

// The text side of Slack rendering, shared by every renderer: Slack's limits, escaping data so that it can form no
// mention or link, fitting text to a budget, and the small block builders.

/**
 * Slack's limits for what we send. Source: Slack's Block Kit reference (blocks, block elements, composition
 * objects) and the chat.postMessage reference, except `messageChars`, which is not documented.
 */
export const SLACK_LIMITS = {
  /** Blocks in one message. */
  blocks: 50,
  /** Header block text (plain_text only). */
  headerText: 150,
  /** Section block `text`. */
  sectionText: 3000,
  /** Section block `fields`: how many. */
  sectionFields: 10,
  /** Section block `fields`: characters in each. */
  fieldText: 2000,
  /** Context block elements. */
  contextElements: 10,
  /** Any text object, e.g. a context element (the text object's own maximum). */
  textObject: 3000,
  /** Actions block elements. */
  actionsElements: 25,
  /** Button label. */
  buttonText: 75,
  /** Button value, returned to us on click. */
  buttonValue: 2000,
  /** action_id and block_id. */
  actionId: 255,
  /** Top-level `text`: Slack truncates beyond this (chat.postMessage reference). */
  messageText: 40_000,
  /**
   * The whole message, blocks and text serialized. UNDOCUMENTED: messages around 12,000 characters and over are
   * refused (`invalid_blocks`, `msg_too_long`) or cut in practice although every per-block limit holds, so our
   * renderers aim at RENDER_BUDGET, well under it.
   */
  messageChars: 12_000,
} as const;

/** What our renderers' output may weigh (serialized JSON), leaving room under the undocumented cap for a button row. */
export const RENDER_BUDGET = 9_000;

/** A Block Kit message: blocks and the `text` fallback used for notifications, screen readers and old clients. */
export interface SlackMessage {
  /** Block Kit blocks, within SLACK_LIMITS. */
  blocks: types.KnownBlock[];
  /** Plain mrkdwn fallback, escaped; never empty. */
  text: string;
}


/** Characters of the `text` fallback: enough for a notification preview and a screen reader's first sentence. */
export const FALLBACK_CHARS = 600;

// ---------------------------------------------------------------------------------------------------------------
// Escaping and fitting

/** Returns text with `&`, `<`, `>` escaped, so data can never form mentions (`<!channel>`, `<@U1>`) or links. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Returns escaped text cut to at most `max` characters at a word boundary with an ellipsis, never inside an
 * entity (`&amp;`) or a surrogate pair.
 */
export function fitEscaped(raw: string, max: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= max) return escaped;
  if (max < 2) return '…'.slice(0, Math.max(0, max));
  let cut = escaped.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  if (space > max * 0.6) cut = cut.slice(0, space);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  // Trailing punctuation goes; so does a partial entity ("&am", or "&amp" once its ";" went), which would show as text.
  cut = cut.replace(/[\s,;:.\-–—]+$/, '').replace(/&[a-z]*$/, '');
  return cut + '…';
}

/** Returns one line of text: newlines and runs of spaces collapsed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Returns the URL in the form Slack's `<url|title>` syntax needs, or undefined when it is not a plain http(s) URL. */
export function slackUrl(url: string | undefined): string | undefined {
  if (!url || !/^https?:\/\//i.test(url) || /[\s\u0000-\u001f]/.test(url)) return undefined;
  let href: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    href = parsed.href;
  } catch {
    return undefined;
  }
  // `|` and `>` would end the URL part of Slack's link syntax early; `&` is escaped as Slack itself sends it.
  return href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/&/g, '&amp;');
}

/** Returns a mrkdwn link `<url|title>` (title escaped, `|` removed), or the escaped title alone when the URL is not http(s). */
export function linkMrkdwn(url: string | undefined, title: string, maxTitle = 150): string {
  const label = fitEscaped(oneLine(title.replace(/\|/g, ' ')), maxTitle) || 'link';
  const href = slackUrl(url);
  return href ? `<${href}|${label}>` : label;
}

/** Returns the serialized size that RENDER_BUDGET and SLACK_LIMITS.messageChars are measured on. */
export function messageSize(message: SlackMessage): number {
  return JSON.stringify(message).length;
}

/** Returns a verbatim mrkdwn text object for text already escaped. */
export function mrkdwn(text: string): types.MrkdwnElement {
  // verbatim: Slack does not auto-link bare URLs, #channel names or @words in our text; explicit <url|t> links still work.
  return { type: 'mrkdwn', text, verbatim: true };
}

/** Returns a header block for raw text (escaped, one line, within the header limit). */
export function header(raw: string): types.HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: fitEscaped(oneLine(raw), SLACK_LIMITS.headerText) || '…', emoji: true } };
}

/** Returns a section block for mrkdwn already escaped, cut to the section limit. */
export function section(text: string): types.SectionBlock {
  return { type: 'section', text: mrkdwn(text.slice(0, SLACK_LIMITS.sectionText)) };
}

/** Returns a context block of mrkdwn texts already escaped, within the element and text limits. */
export function context(texts: string[]): types.ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, SLACK_LIMITS.contextElements).map((t) => mrkdwn(t.slice(0, SLACK_LIMITS.textObject))),
  };
}

/** Joins parts with a separator, adding parts while the result stays within `max`; returns the text and how many fit. */
export function joinWithin(parts: string[], separator: string, max: number): { text: string; count: number } {
  let text = '';
  let count = 0;
  for (const part of parts) {
    const next = count === 0 ? part : text + separator + part;
    if (next.length > max) break;
    text = next;
    count += 1;
  }
  return { text, count };
}

/** Picks the first (most detailed) level whose message fits RENDER_BUDGET; the last level must always fit. */
export function firstFitting(levels: number, build: (level: number) => SlackMessage): SlackMessage {
  let message = build(0);
  for (let level = 1; level < levels && messageSize(message) > RENDER_BUDGET; level += 1) message = build(level);
  return message;
}
