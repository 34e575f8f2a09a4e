import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Comparison } from '../../../src/core/answer-model.js';
import { firstPage, type ListPage, type PageContext } from '../../../src/adapters/paging.js';
import { comparisonToBlocks, listPageToBlocks, MORE_ACTION_ID, moreValue, parseMoreValue } from '../../../src/adapters/slack/lists.js';
import { messageSize, RENDER_BUDGET, SLACK_LIMITS, type SlackMessage } from '../../../src/adapters/slack/render.js';
import { replyToMessage, SHARE_ACTION_ID, withShareButton } from '../../../src/adapters/slack/reply.js';
import { checkMessage, messageTexts } from '../../support/fake-slack-blocks.js';
import { buildRefs, comparisonAnswer, listAnswer } from '../../support/fake-lists.js';

/** 4,000 characters that try every trick: broadcasts, user and group mentions, forged links, entities, markup, quotes. */
const HOSTILE = '<!channel> <!here> @everyone <@U123> <!subteam^S1> <https://evil.example|click> &amp; *b* _i_ `c` "q" \\ \n'.repeat(60).slice(0, 4000);

function assertValidAndInert(message: SlackMessage): void {
  assert.deepEqual(checkMessage(message), []);
  assert.ok(messageSize(message) <= RENDER_BUDGET, `message is ${messageSize(message)} characters, budget ${RENDER_BUDGET}`);
  assert.ok(message.text.trim().length > 0, 'text fallback is empty');
  for (const text of [...messageTexts(message), message.text]) {
    for (const seq of text.match(/<[^>]*>/g) ?? []) assert.match(seq, /^<https:\/\/example\.org\/[^|<>\s]+\|[^|<>]*>$/, `unexpected control sequence ${seq}`);
    assert.doesNotMatch(text, /<[!@#]/, 'no mention or broadcast');
  }
}

function moreOf(message: SlackMessage): any {
  return message.blocks.filter((b) => b.type === 'actions').flatMap((b: any) => b.elements).find((e: any) => e.action_id === MORE_ACTION_ID);
}

function hostilePage(cursor: string | undefined = 'c'.repeat(80)): ListPage {
  const items = buildRefs(25, 'h', (i) => ({ title: HOSTILE, blurb: HOSTILE, date: HOSTILE, url: `https://example.org/item/${i}` }));
  return { title: HOSTILE, intro: HOSTILE, items, total: 1_000_000, cursor };
}

describe('Slack list pages', () => {
  const command = { name: 'incident' as const, query: HOSTILE.replace(/\s+/g, ' ').slice(0, 300) };

  it('25 items with 4,000-character hostile titles and blurbs stay within every limit, inert, all shown', () => {
    for (const ctx of [firstPage(command), { command, start: 999_976, cursor: 'c'.repeat(80) }] satisfies PageContext[]) {
      const message = listPageToBlocks(hostilePage(), ctx);
      assertValidAndInert(message);
      const numbers = message.blocks.map((b: any) => (b.type === 'section' ? /^\*(\d+)\.\* /.exec(b.text?.text ?? '')?.[1] : undefined)).filter(Boolean).map(Number);
      assert.deepEqual(numbers, Array.from({ length: 25 }, (_, i) => ctx.start + i), 'all 25 items shown, numbered from the page start');
      assert.match(JSON.stringify(message.blocks), new RegExp(`Showing ${ctx.start}–${ctx.start + 24} of 1000000`));
      const more = moreOf(message);
      assert.ok(more && more.value.length <= SLACK_LIMITS.buttonValue, 'a More button within the value limit');
      assert.deepEqual(parseMoreValue(more.value), { command, cursor: 'c'.repeat(80), start: ctx.start + 25 });
    }
  });

  it('numbers items from the page start and has no More on the last page or without a command', () => {
    const answer = listAnswer('which groups use mimikatz', buildRefs(37), undefined, 10);
    const command = { name: 'incident' as const, query: 'which groups use mimikatz' };
    const middle = replyToMessage({ type: 'answer', answer }, {}, { command, start: 11, cursor: 'x' });
    assert.match(JSON.stringify(middle.blocks), /\*11\.\* \*<https:\/\/example\.org\/list\/1\|Item 1>\* · 2001 · group/);
    assert.match(middle.text, /^which groups use mimikatz: 11–20 of 37: Item 1; Item 2/);
    assert.ok(moreOf(middle));
    const last = replyToMessage({ type: 'answer', answer: { ...answer, cursor: undefined } }, {}, { command, start: 31, cursor: 'x' });
    assert.equal(moreOf(last), undefined);
    assert.equal(moreOf(replyToMessage({ type: 'answer', answer }, {}, firstPage())), undefined, 'no command to ask again: no button');
  });

  it('leaves out More when its value cannot be carried, and refuses values that are not ours', () => {
    const command = { name: 'incident' as const, query: 'q' };
    assert.equal(moreOf(listPageToBlocks({ title: 'q', intro: '', items: buildRefs(10), total: 30, cursor: 'x'.repeat(SLACK_LIMITS.buttonValue) }, firstPage(command))), undefined);
    assert.equal(moreValue({ command: { name: 'incident', query: 'w'.repeat(500) }, cursor: 'c', start: 11 }), undefined);
    for (const value of ['skyecc', '{"t":"alerts remove all","c":"x","s":11}', '{"t":"incident x","c":"","s":11}', '{"t":"incident x","c":"y","s":0}', '{bad json']) {
      assert.equal(parseMoreValue(value), undefined, value);
    }
    assert.deepEqual(parseMoreValue('{"t":"incidents recent 5","c":"y","s":6}'), { command: { name: 'incidents', subcommand: 'recent', count: 5 }, cursor: 'y', start: 6 });
  });

  it('puts the share button in the More row, sharing the page shown', () => {
    const command = { name: 'incidents' as const, subcommand: 'search' as const, query: 'microsoft' };
    const page: PageContext = { command, start: 11, cursor: 'here' };
    const message = withShareButton(listPageToBlocks({ title: 'Search: microsoft', intro: '', items: buildRefs(10), total: 30, cursor: 'next' }, page), 'search microsoft', page);
    const rows = message.blocks.filter((b) => b.type === 'actions') as any[];
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].elements.map((e: any) => e.action_id), [MORE_ACTION_ID, SHARE_ACTION_ID]);
    assert.deepEqual(parseMoreValue(rows[0].elements[1].value), { command, cursor: 'here', start: 11 });
    assert.deepEqual(checkMessage(message), []);
  });
});

describe('Slack comparisons', () => {
  it('hostile 4,000-character titles, facts and shared values stay within every limit, inert', () => {
    const facts = Array.from({ length: 30 }, (_, i) => ({ label: 'Tools' as const, value: `${i} ${HOSTILE}` }));
    const comparison: Comparison = {
      left: { ref: buildRefs(1, 'l', () => ({ title: HOSTILE, url: 'https://example.org/l' }))[0], facts },
      right: { ref: buildRefs(1, 'r', () => ({ title: HOSTILE, url: 'https://example.org/r' }))[0], facts },
      shared: Array.from({ length: 30 }, () => ({ label: 'Targets' as const, values: Array.from({ length: 100 }, () => HOSTILE.slice(0, 200)) })),
    };
    const message = comparisonToBlocks({ ...comparisonAnswer('a vs b', comparison), summary: HOSTILE, comparison });
    assertValidAndInert(message);
    const sides = message.blocks.filter((b: any) => b.type === 'section' && b.fields);
    assert.equal(sides.length, 2, 'one section of fields per record');
    assert.ok(messageTexts(message).some((t) => t.startsWith('*Both:* Targets: ')), 'the shared line');
  });

  it('renders a plain comparison with each side and what both share', () => {
    const comparison: Comparison = {
      left: { ref: buildRefs(1, 'l', () => ({ title: 'APT28' }))[0], facts: [{ label: 'Who', value: 'GRU' }] },
      right: { ref: buildRefs(1, 'r', () => ({ title: 'APT29' }))[0], facts: [] },
      shared: [],
    };
    const message = replyToMessage({ type: 'answer', answer: comparisonAnswer('apt28 vs apt29', comparison) });
    assert.deepEqual(checkMessage(message), []);
    const json = JSON.stringify(message.blocks);
    assert.match(json, /APT28 vs APT29/);
    assert.match(json, /\*Who\*\\nGRU/);
    assert.match(json, /Blurb of item 1/, 'a side without facts shows its blurb');
    assert.match(json, /\*Both:\* nothing in common on record/);
  });
});
