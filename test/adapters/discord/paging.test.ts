import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Comparison } from '../../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../../src/core/conversation.js';
import { STALE_PAGE_TEXT } from '../../../src/adapters/discord/interactions.js';
import { messageLimitViolations } from '../../../src/adapters/discord/render.js';
import { startFakeDiscordBot, type FakeDiscordBot } from '../../support/fake-discord-bot.js';
import type { RecordedRequest, SentInteraction } from '../../support/fake-discord.js';
import { buildAnswer, buildRef, createFakeIncidentService, encroChatRecord, skyEccRecord, type FakeRecord } from '../../support/fake-discord-service.js';
import { buildRefs } from '../../support/fake-lists.js';
import { buildUnderstandService } from '../../support/understand-records.js';
import { HOSTILE_TITLE, liveMaskedLinks, unescapedMentions } from './fixtures.js';

/** A title that tries to ping everyone, a role and a user, and to forge a link. */
const HOSTILE = `${HOSTILE_TITLE} @here <@123456789012345678> `;

const EPHEMERAL = 1 << 6;
const CALLBACK = { reply: 4, deferUpdate: 6, update: 7 } as const;

/** Who is behind what, as a core that resolves "it" against the conversation would know it. */
const BEHIND: Record<string, string> = { 'seed:moveit-2023': 'Cl0p', 'seed:skyecc-2021': 'Sky Global executives' };

function moveItRecord(): FakeRecord {
  return { names: ['MOVEit'], answer: buildAnswer({ ref: { id: 'seed:moveit-2023', title: 'MOVEit Transfer mass exploitation', date: 'May 2023' } }) };
}

function skyGlobalRecord(): FakeRecord {
  return { names: ['Sky Global executives'], answer: buildAnswer({ ref: { id: 'group:sky-global', title: 'Sky Global executives', kind: 'group', date: null } }) };
}

function clopRecord(): FakeRecord {
  return { names: ['Cl0p', 'Clop'], answer: buildAnswer({ ref: { id: 'group:cl0p', title: 'Cl0p', kind: 'group', date: null, blurb: 'A ransomware and extortion group.' } }) };
}

const COMPARISON: Comparison = {
  left: { ref: buildRef({ id: 'group:apt28', title: 'APT28', kind: 'group', date: '2004' }), facts: [{ label: 'Who', value: 'Russia (GRU)' }, { label: 'Tools', value: 'X-Agent, Mimikatz' }] },
  right: { ref: buildRef({ id: 'group:apt29', title: 'APT29', kind: 'group', date: '2008' }), facts: [{ label: 'Who', value: 'Russia (SVR)' }, { label: 'Tools', value: 'SUNBURST, Mimikatz' }] },
  shared: [{ label: 'Tools', values: ['Mimikatz'] }],
};

/** Returns the message data of an interaction callback (type 4 or 7). */
function dataOf(request: RecordedRequest): any {
  return request.body?.data ?? {};
}

/** Returns the buttons of a message by label. */
function buttons(data: any): Record<string, any> {
  const out: Record<string, any> = {};
  for (const row of data.components ?? []) for (const c of row.components) out[c.label] = c;
  return out;
}

/** Returns the item numbers and titles a list embed shows, e.g. ["11. Item 11", ...]. */
function shownItems(data: any): string[] {
  return [...String(data.embeds?.[0]?.description ?? '').matchAll(/^\*\*(\d+)\.\*\* \[([^\]]+)\]/gm)].map((m) => `${m[1]}. ${m[2]}`);
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}. Item ${from + i}`);
}

describe('Discord list paging and conversations, through the real discord.js client', { timeout: 30_000 }, () => {
  let bot: FakeDiscordBot;
  let service: ReturnType<typeof createFakeIncidentService>;
  let slowAnswers = 0;

  before(async () => {
    service = createFakeIncidentService({
      records: [skyEccRecord(), encroChatRecord(), moveItRecord(), clopRecord(), skyGlobalRecord()],
      ambiguous: { takedown: ['seed:skyecc-2021', 'seed:encrochat-2020'] },
      lists: {
        'groups using mimikatz': buildRefs(37, 'grp'),
        microsoft: buildRefs(23, 'cve', () => ({ kind: 'vulnerability' })),
        'hostile list': buildRefs(25, 'h', () => ({ title: HOSTILE.repeat(100), blurb: HOSTILE.repeat(100), url: 'https://example.org/x' })),
      },
      comparisons: { 'apt28 vs apt29': COMPARISON },
      resolve: (query, context) => (/\bbehind (it|that)\b/i.test(query) && context?.recordId ? BEHIND[context.recordId] : undefined),
      onAnswer: () => {
        // A slow index, for the deferral test: each answer holds the loop this long.
        const until = performance.now() + slowAnswers;
        while (performance.now() < until);
      },
    });
    bot = await startFakeDiscordBot({ service, conversations: createMemoryConversationStore(), deferAfterMs: 150 });
  });

  after(async () => {
    await bot?.stop();
  });

  /** Clicks a button on the message `data` and returns the bot's callback. */
  async function click(button: any, data: any, extras = {}): Promise<RecordedRequest> {
    assert.ok(button && !button.disabled, `button ${JSON.stringify(button)} is clickable`);
    return bot.fake.waitForCallback(bot.fake.sendButton(button.custom_id, { embeds: data.embeds, components: data.components }, extras));
  }

  async function ask(query: string, extras = {}): Promise<{ sent: SentInteraction; data: any; callback: RecordedRequest }> {
    const sent = bot.fake.sendSlashCommand('incident', { query }, undefined, extras);
    const callback = await bot.fake.waitForCallback(sent);
    return { sent, data: dataOf(callback), callback };
  }

  it('a list answer shows items 1-10 with Next; Next updates the message to page 2 of the same query; Prev returns to page 1', async () => {
    const { data } = await ask('groups using mimikatz');
    assert.deepEqual(shownItems(data), range(1, 10));
    assert.equal(data.embeds[0].footer.text, 'Showing 1–10 of 37 · /incident groups using mimikatz');
    assert.deepEqual(messageLimitViolations({ embeds: data.embeds, components: data.components }), []);
    assert.deepEqual(data.allowed_mentions, { parse: [] });
    const first = buttons(data);
    assert.equal(first['◀ Prev'].disabled, true, 'Prev is disabled on the first page');
    assert.match(first['Next ▶'].custom_id, /^pg:11:c\./);

    const next = await click(first['Next ▶'], data);
    assert.equal(next.body.type, CALLBACK.update, 'the click updates the message in place');
    const page2 = dataOf(next);
    assert.deepEqual(shownItems(page2), range(11, 20));
    assert.equal(page2.embeds[0].footer.text, 'Showing 11–20 of 37 · /incident groups using mimikatz');
    const asked = service.views.at(-1)!;
    assert.equal(asked.query, 'groups using mimikatz', 'the same question was asked again');
    assert.equal(asked.cursor, first['Next ▶'].custom_id.replace(/^pg:11:/, ''), 'with the cursor the button carried');
    assert.deepEqual(page2.allowed_mentions, { parse: [] });

    const prev = await click(buttons(page2)['◀ Prev'], page2);
    assert.equal(prev.body.type, CALLBACK.update);
    assert.deepEqual(shownItems(dataOf(prev)), range(1, 10));
    assert.equal(buttons(dataOf(prev))['◀ Prev'].disabled, true);
  });

  it('Prev from page 3 goes to page 2, and Next is disabled on the last page', async () => {
    let { data } = await ask('groups using mimikatz');
    for (let page = 2; page <= 4; page++) data = dataOf(await click(buttons(data)['Next ▶'], data));
    assert.deepEqual(shownItems(data), range(31, 37));
    assert.equal(data.embeds[0].footer.text, 'Showing 31–37 of 37 · /incident groups using mimikatz');
    assert.equal(buttons(data)['Next ▶'].disabled, true, 'Next is disabled on the last page');
    data = dataOf(await click(buttons(data)['◀ Prev'], data));
    assert.deepEqual(shownItems(data), range(21, 30));
    data = dataOf(await click(buttons(data)['◀ Prev'], data));
    assert.deepEqual(shownItems(data), range(11, 20));
    assert.match(buttons(data)['◀ Prev'].custom_id, /^pb:/);
  });

  it('/incidents search pages the same way', async () => {
    const sent = bot.fake.sendSlashCommand('incidents', { query: 'microsoft' }, 'search');
    const data = dataOf(await bot.fake.waitForCallback(sent));
    assert.equal(data.embeds[0].footer.text, 'Showing 1–10 of 23 · /incidents search microsoft');
    const page2 = dataOf(await click(buttons(data)['Next ▶'], data));
    assert.match(page2.embeds[0].title, /Search: microsoft/);
    assert.deepEqual(shownItems(page2), range(11, 20));
    const page3 = dataOf(await click(buttons(page2)['Next ▶'], page2));
    assert.deepEqual(shownItems(page3), range(21, 23));
  });

  it('a slow page is deferred within the deadline, then edited in place', async () => {
    let { data } = await ask('groups using mimikatz');
    for (let page = 2; page <= 4; page++) data = dataOf(await click(buttons(data)['Next ▶'], data));
    slowAnswers = 80;
    try {
      // Prev from page 4 walks pages 1-3: longer than deferAfterMs, but the walk yields, so the deferral goes out.
      const sent = bot.fake.sendButton(buttons(data)['◀ Prev'].custom_id, { embeds: data.embeds, components: data.components });
      const first = await bot.fake.waitForCallback(sent);
      assert.equal(first.body.type, CALLBACK.deferUpdate, 'deferred as an update');
      const edit = await bot.fake.waitForRequest((r) => r.method === 'PATCH' && r.path.includes(sent.token) && r.path.endsWith('/messages/@original'));
      assert.deepEqual(shownItems(edit.body), range(21, 30));
      assert.deepEqual(edit.body.allowed_mentions, { parse: [] });
    } finally {
      slowAnswers = 0;
    }
  });

  it('a page button on a message that names no list gets an ephemeral notice, not a wrong page', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendButton('pg:11:c.a.zzz', { embeds: [{ title: 'x', footer: { text: 'something else' } }] }));
    assert.equal(callback.body.type, CALLBACK.reply);
    assert.equal(dataOf(callback).flags & EPHEMERAL, EPHEMERAL);
    assert.equal(dataOf(callback).content, STALE_PAGE_TEXT.replace(/[@<]/g, '\\$&'));
  });

  it('a comparison shows two inline columns and what both share', async () => {
    const { data } = await ask('APT28 vs APT29');
    const embed = data.embeds[0];
    assert.equal(embed.title, 'APT28 vs APT29');
    assert.deepEqual(embed.fields.map((f: any) => [f.name, f.inline]), [['APT28', true], ['APT29', true], ['Both:', false]]);
    assert.match(embed.fields[0].value, /Russia \(GRU\)/);
    assert.match(embed.fields[1].value, /SUNBURST/);
    assert.match(embed.fields[2].value, /\*\*Tools:\*\* Mimikatz/);
    assert.deepEqual(messageLimitViolations({ embeds: data.embeds, components: data.components }), []);
  });

  it('a follow-up in the same channel resolves against the last answer; another channel does not share it', async () => {
    const channel = '1200000000000000001';
    const other = '1200000000000000002';
    const first = await ask('MOVEit', { channelId: channel });
    assert.match(first.data.embeds[0].title, /MOVEit/);
    const followUp = await ask('who was behind it?', { channelId: channel });
    assert.equal(followUp.data.embeds[0].title, 'Cl0p', 'resolved against MOVEit');
    assert.equal(service.views.at(-1)!.context?.recordId, 'seed:moveit-2023');

    const elsewhere = await ask('who was behind it?', { channelId: other });
    assert.match(elsewhere.data.embeds[0].title, /Nothing found/, 'another channel has no context');
    assert.equal(service.views.at(-1)!.context, undefined);
  });

  it('picking a candidate makes it what the channel is talking about', async () => {
    const channel = '1200000000000000003';
    const { data } = await ask('takedown', { channelId: channel });
    const pick = data.components[0].components.find((c: any) => c.custom_id === 'pick:seed:skyecc-2021');
    await click(pick, data, { channelId: channel });
    const followUp = await ask('who was behind that?', { channelId: channel });
    assert.equal(followUp.data.embeds[0].title, 'Sky Global executives', 'resolved against the picked record');
    assert.equal(service.views.at(-1)!.context?.recordId, 'seed:skyecc-2021');
  });

  it('a page of 25 items with 4,000-character hostile titles pings nobody, links nowhere else and stays within limits', async () => {
    const { data } = await ask('hostile list');
    assert.deepEqual(messageLimitViolations({ embeds: data.embeds, components: data.components }), []);
    assert.deepEqual(data.allowed_mentions, { parse: [] });
    const embed = data.embeds[0];
    const text = [embed.title, embed.description, embed.footer?.text].join('\n');
    assert.deepEqual(unescapedMentions(text), []);
    assert.deepEqual(liveMaskedLinks(text).filter((l) => !l.url.startsWith('https://example.org/')), []);
    const next = dataOf(await click(buttons(data)['Next ▶'], data));
    assert.match(next.embeds[0].footer.text, /^Showing 11–20 of 25 · /);
  });
});

/** Returns the titles a list embed shows, in order. */
function shownTitles(data: any): string[] {
  return [...String(data.embeds?.[0]?.description ?? '').matchAll(/^\*\*\d+\.\*\* \[([^\]]+)\]/gm)].map((m) => m[1]);
}

// The real service (index, graph and understanding) behind the real discord.js client against the fake Discord.
describe('Discord with the real understanding: list paging and follow-ups', { timeout: 30_000 }, () => {
  let bot: FakeDiscordBot;

  before(async () => {
    bot = await startFakeDiscordBot({ service: buildUnderstandService(), conversations: createMemoryConversationStore() });
  });
  after(async () => {
    await bot?.stop();
  });

  async function ask(query: string, extras = {}): Promise<any> {
    return dataOf(await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query }, undefined, extras)));
  }

  it('a vendor list pages with Next to the rest of the same question', async () => {
    const data = await ask('acme security holes being abused');
    const first = shownTitles(data);
    assert.equal(first.length, 10);
    assert.equal(first[0], 'Acme Gateway authentication bypass', 'newest first');
    assert.match(data.embeds[0].footer.text, /Showing 1–10 of 14/);
    const next = buttons(data)['Next ▶'];
    const page2 = dataOf(await bot.fake.waitForCallback(bot.fake.sendButton(next.custom_id, { embeds: data.embeds, components: data.components })));
    const second = shownTitles(page2);
    assert.equal(second.length, 4);
    assert.deepEqual(second.filter((t) => first.includes(t)), [], 'page 2 goes on from page 1');
    assert.match(page2.embeds[0].footer.text, /Showing 11–14 of 14/);
  });

  it('a follow-up in a channel resolves against that channel\'s last answer only', async () => {
    const channel = '1300000000000000001';
    const first = await ask('paper lantern', { channelId: channel });
    assert.match(first.embeds[0].title, /Operation Paper Lantern/);
    const tools = await ask('what tools did they use?', { channelId: channel });
    assert.deepEqual(shownTitles(tools), ['Harrow']);
    const elsewhere = await ask('what tools did they use?', { channelId: '1300000000000000002' });
    assert.doesNotMatch(JSON.stringify(elsewhere.embeds ?? []), /Harrow/);
  });
});
