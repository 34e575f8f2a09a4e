import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer, Comparison } from '../../../src/core/answer-model.js';
import { firstPage, listPageOf, MAX_PAGED_COMMAND_CHARS, type ListPage, type PageContext } from '../../../src/adapters/paging.js';
import {
  comparisonToEmbed,
  listFooter,
  listPageToMessage,
  pageAtId,
  pageBeforeId,
  pagedCommandFromFooter,
  parsePageId,
  PAGE_ID,
} from '../../../src/adapters/discord/lists.js';
import { DISCORD_LIMITS, messageLimitViolations, replyToMessage } from '../../../src/adapters/discord/render.js';
import { buildRefs, comparisonAnswer, listAnswer } from '../../support/fake-lists.js';
import { HOSTILE_TITLE, liveMaskedLinks, unescapedMentions } from './fixtures.js';

/** 4,000 characters that try every trick: mass and user mentions, masked links, markdown, headings, a bare URL. */
const HOSTILE = `${HOSTILE_TITLE} @here <@123456789012345678> <#123456789012345678> **bold** __u__ ||spoiler|| \`code\`\n# heading\n> quote https://evil.example/path `
  .repeat(40)
  .slice(0, 4000);

const CURSOR_80 = 'c'.repeat(80);

function hostilePage(cursor: string | undefined = CURSOR_80): ListPage {
  const items = buildRefs(25, 'h', (i) => ({ title: HOSTILE, blurb: HOSTILE, date: HOSTILE, url: `https://example.org/item/${i}` }));
  return { title: HOSTILE, intro: HOSTILE, items, total: 1_000_000, cursor };
}

/** Every text of a message that Discord renders as markdown, one string. */
function renderedText(message: ReturnType<typeof listPageToMessage>): string {
  return message.embeds.flatMap((e) => [e.title ?? '', e.description ?? '', ...(e.fields ?? []).flatMap((f) => [f.name, f.value])]).join('\n');
}

function customIds(message: ReturnType<typeof listPageToMessage>): string[] {
  return message.components.flatMap((r) => r.components.flatMap((c) => ('custom_id' in c ? [c.custom_id] : [])));
}

describe('Discord list pages', () => {
  const command = { name: 'incident' as const, query: HOSTILE.replace(/\s+/g, ' ').slice(0, 300) };

  it('25 items with 4,000-character hostile titles and blurbs stay within every limit, inert', () => {
    for (const ctx of [firstPage(command), { command, start: 999_976, cursor: CURSOR_80 }] satisfies PageContext[]) {
      const message = listPageToMessage(hostilePage(), ctx);
      assert.deepEqual(messageLimitViolations(message), []);
      const numbers = [...(message.embeds[0].description ?? '').matchAll(/^\*\*(\d+)\.\*\* /gm)].map((m) => Number(m[1]));
      assert.deepEqual(numbers, Array.from({ length: 25 }, (_, i) => ctx.start + i), 'all 25 items shown, numbered from the page start');
      const text = renderedText(message);
      assert.deepEqual(unescapedMentions(text), [], 'no live mentions');
      assert.deepEqual(liveMaskedLinks(text).filter((l) => !l.url.startsWith('https://example.org/item/')), [], 'no forged links');
      assert.doesNotMatch(text, /^#/m, 'no headings');
      for (const id of customIds(message)) assert.ok(id.length <= DISCORD_LIMITS.customId, id);
    }
  });

  it('numbers items from the page start, says the range and names the command in the footer', () => {
    const page = listPageOf(listAnswer('which groups use mimikatz', buildRefs(37), undefined, 10));
    const ctx = firstPage({ name: 'incident', query: 'which groups use mimikatz' });
    const message = listPageToMessage(page, { ...ctx, start: 11, cursor: 'c.a.x' });
    assert.match(message.embeds[0].description ?? '', /^\*\*11\.\*\* \[Item 1\]\(https:\/\/example\.org\/list\/1\) · 2001 · Threat group\nBlurb of item 1\.$/m);
    assert.equal(message.embeds[0].footer?.text, 'Showing 11–20 of 37 · /incident which groups use mimikatz');
    assert.equal(message.embeds[0].title, 'Which groups use mimikatz');
  });

  it('disables Prev on the first page and Next on the last; one page has no buttons', () => {
    const command = { name: 'incident' as const, query: 'q' };
    const first = listPageToMessage({ title: 'q', intro: '', items: buildRefs(10), total: 30, cursor: 'next' }, firstPage(command));
    const [prev, next] = first.components[0].components as any[];
    assert.deepEqual([prev.label, prev.disabled, prev.custom_id], ['◀ Prev', true, PAGE_ID.prevOff]);
    assert.deepEqual([next.label, next.disabled, next.custom_id], ['Next ▶', false, 'pg:11:next']);
    const last = listPageToMessage({ title: 'q', intro: '', items: buildRefs(10), total: 30 }, { command, start: 21, cursor: 'mine' });
    const [prev2, next2] = last.components[0].components as any[];
    assert.deepEqual([prev2.disabled, prev2.custom_id, next2.disabled], [false, 'pb:mine', true]);
    assert.deepEqual(listPageToMessage({ title: 'q', intro: '', items: buildRefs(3), total: 3 }, firstPage(command)).components, []);
    assert.equal(listPageToMessage({ title: 'q', intro: '', items: buildRefs(3), total: 3 }, firstPage(command)).embeds[0].footer?.text, '3 in all');
  });

  it('leaves out a button whose cursor cannot fit in a custom id, and every button when the command cannot be carried', () => {
    const command = { name: 'incident' as const, query: 'q' };
    const tooLong = 'x'.repeat(DISCORD_LIMITS.customId);
    assert.deepEqual(listPageToMessage({ title: 'q', intro: '', items: buildRefs(10), total: 30, cursor: tooLong }, firstPage(command)).components, [], 'only a disabled Prev would be left');
    const middle = listPageToMessage({ title: 'q', intro: '', items: buildRefs(10), total: 30, cursor: tooLong }, { command, start: 11, cursor: 'short' });
    assert.deepEqual(customIds(middle), ['pb:short'], 'Prev stays, Next is left out');
    const long = { name: 'incident' as const, query: 'w'.repeat(MAX_PAGED_COMMAND_CHARS) };
    const unpaged = listPageToMessage({ title: 'q', intro: '', items: buildRefs(10), total: 30, cursor: 'next' }, firstPage(long));
    assert.deepEqual(unpaged.components, []);
    assert.equal(unpaged.embeds[0].footer?.text, 'Showing 1–10 of 30');
  });

  it('page ids and footers round-trip, and a query cannot smuggle another command', () => {
    assert.deepEqual(parsePageId(pageAtId(11, CURSOR_80)!), { kind: 'at', start: 11, cursor: CURSOR_80 });
    assert.deepEqual(parsePageId(pageAtId(1, undefined)!), { kind: 'at', start: 1 });
    assert.deepEqual(parsePageId(pageBeforeId('a:b:c')!), { kind: 'before', cursor: 'a:b:c' });
    assert.equal(pageAtId(1, 'x'.repeat(100)), undefined);
    assert.equal(parsePageId('pick:x'), undefined);
    assert.equal(parsePageId('pg:abc:x'), undefined);
    const sly = { name: 'incident' as const, query: 'x · /incidents recent 5' };
    const footer = listFooter({ title: '', intro: '', items: buildRefs(10), total: 30, cursor: 'n' }, firstPage(sly));
    assert.deepEqual(pagedCommandFromFooter(footer), sly);
    assert.deepEqual(pagedCommandFromFooter('Showing 1–10 of 30 · /alerts remove all'), undefined);
    assert.deepEqual(pagedCommandFromFooter('/incident x'), undefined);
    const search = { name: 'incidents' as const, subcommand: 'search' as const, query: 'microsoft since:2025' };
    assert.deepEqual(pagedCommandFromFooter(listFooter({ title: '', intro: '', items: buildRefs(10), total: 30, cursor: 'n' }, firstPage(search))), search);
  });

  it('renders list answers and IncidentLists through replyToMessage alike', () => {
    const answer = listAnswer('q', buildRefs(12), undefined, 10);
    const fromAnswer = replyToMessage({ type: 'answer', answer }, firstPage({ name: 'incident', query: 'q' }));
    const fromList = replyToMessage({ type: 'list', list: { title: 'q', items: answer.items!, total: 12, cursor: answer.cursor } }, firstPage({ name: 'incident', query: 'q' }));
    assert.equal(fromAnswer.embeds[0].footer?.text, fromList.embeds[0].footer?.text);
    assert.deepEqual(fromAnswer.components, fromList.components);
    const empty: Answer = { ...answer, items: [], total: 0, cursor: undefined };
    assert.equal(replyToMessage({ type: 'answer', answer: empty }).ephemeral, true, 'an empty list is private, as not-found');
  });
});

describe('Discord comparisons', () => {
  it('hostile 4,000-character titles, facts and shared values stay within every limit, inert', () => {
    const facts = Array.from({ length: 30 }, (_, i) => ({ label: 'Tools' as const, value: `${i} ${HOSTILE}` }));
    const comparison: Comparison = {
      left: { ref: buildRefs(1, 'l', () => ({ title: HOSTILE, url: 'https://example.org/l' }))[0], facts },
      right: { ref: buildRefs(1, 'r', () => ({ title: HOSTILE, url: `https://example.org/${'r'.repeat(3000)}` }))[0], facts },
      shared: Array.from({ length: 30 }, () => ({ label: 'Targets' as const, values: Array.from({ length: 100 }, () => HOSTILE.slice(0, 200)) })),
    };
    const answer = { ...comparisonAnswer('a vs b', comparison), summary: HOSTILE };
    const message = replyToMessage({ type: 'answer', answer });
    assert.deepEqual(messageLimitViolations(message), []);
    const embed = comparisonToEmbed({ ...answer, comparison });
    assert.deepEqual(embed.fields?.map((f) => f.inline), [true, true, false]);
    const text = renderedText(message);
    assert.deepEqual(unescapedMentions(text), []);
    assert.deepEqual(liveMaskedLinks(text).filter((l) => l.url !== 'https://example.org/l'), [], 'only the left link (the right one is too long to use)');
  });

  it('says when the two records share nothing', () => {
    const comparison: Comparison = { left: { ref: buildRefs(1, 'l')[0], facts: [] }, right: { ref: buildRefs(1, 'r')[0], facts: [] }, shared: [] };
    const embed = comparisonToEmbed({ ...comparisonAnswer('l vs r', comparison), comparison });
    assert.equal(embed.fields?.[2].value, 'Nothing in common on record.');
    assert.match(embed.fields?.[0].value ?? '', /Blurb of item 1/);
  });
});
