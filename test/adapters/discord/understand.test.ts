import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryConversationStore } from '../../../src/core/conversation.js';
import { startFakeDiscordBot, type FakeDiscordBot } from '../../support/fake-discord-bot.js';
import type { RecordedRequest } from '../../support/fake-discord.js';
import { buildUnderstandService } from '../../support/understand-records.js';

function dataOf(request: RecordedRequest): any {
  return request.body?.data ?? {};
}

function buttons(data: any): Record<string, any> {
  const out: Record<string, any> = {};
  for (const row of data.components ?? []) for (const c of row.components) out[c.label] = c;
  return out;
}

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
