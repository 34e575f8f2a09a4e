import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { GatewayIntentBits, Status } from 'discord.js';
import { COMMANDS } from '../../../commands/index.js';
import type { Command } from '../../../commands/types.js';
import { createIncidentService } from '../../../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../../src/core/load-data.js';
import { ERROR_TEXT } from '../../../src/adapters/discord/interactions.js';
import { DISCORD_LIMITS, embedLength, messageLimitViolations } from '../../../src/adapters/discord/render.js';
import { startFakeDiscordBot, type FakeDiscordBot } from '../../support/fake-discord-bot.js';
import type { RecordedRequest, SentInteraction } from '../../support/fake-discord.js';
import { createFakeIncidentService, encroChatRecord, skyEccRecord, SKY_ECC_URL, type FakeRecord } from '../../support/fake-discord-service.js';
import { hostileAnswer, hugeAnswer, liveMaskedLinks, unescapedMentions } from './fixtures.js';

const EPHEMERAL = 1 << 6;
const CALLBACK = { reply: 4, defer: 5, update: 7, autocomplete: 8 } as const;

// Commands that exist only in these tests: one that throws, ones that take longer than the defer threshold.
const testCommands: Command[] = [
  {
    definition: { name: 'boom', description: 'always throws', help: '', usage: 'boom', options: [] },
    handle() {
      throw new Error('handler bug');
    },
  },
  {
    definition: { name: 'slow', description: 'answers late', help: '', usage: 'slow', options: [] },
    async handle(_input, ctx) {
      await delay(400);
      return { type: 'answer', answer: ctx.incidents.answer('skyecc') };
    },
  },
  {
    definition: { name: 'slowfail', description: 'fails late', help: '', usage: 'slowfail', options: [] },
    async handle() {
      await delay(400);
      return { type: 'error', message: 'late error' };
    },
  },
];

function hugeRecord(): FakeRecord {
  return { names: ['huge'], answer: hugeAnswer() };
}

function hostileRecord(): FakeRecord {
  return { names: ['hostile'], answer: hostileAnswer() };
}

/** Returns the callback body's message data (type 4 / 7). */
function dataOf(request: RecordedRequest): any {
  return request.body?.data ?? {};
}

function embedText(data: any): string {
  return JSON.stringify(data.embeds ?? []);
}

describe('Discord adapter with the bundled incidents, through the real discord.js client', { timeout: 20_000 }, () => {
  let bot: FakeDiscordBot;

  before(async () => {
    bot = await startFakeDiscordBot({ service: createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR)) });
  });

  after(async () => {
    await bot?.stop();
  });

  it('identifies with the Guilds intent only', async () => {
    const identify = await bot.fake.waitForGateway((e) => e.kind === 'identify');
    assert.equal(identify.payload.intents, GatewayIntentBits.Guilds);
  });

  it('/incident skyecc replies with an embed naming Sky ECC and holding its source URL', async () => {
    const sent = bot.fake.sendSlashCommand('incident', { query: 'skyecc' });
    const callback = await bot.fake.waitForCallback(sent);
    assert.equal(callback.body.type, CALLBACK.reply);
    const data = dataOf(callback);
    assert.match(data.embeds[0].title, /Sky ECC/);
    assert.ok(embedText(data).includes(SKY_ECC_URL), 'the embed holds the source URL');
    assert.deepEqual(data.allowed_mentions, { parse: [] });
    assert.equal((data.flags ?? 0) & EPHEMERAL, 0, 'a found answer is public');
  });

  it('autocomplete "sky" offers a Sky ECC choice within Discord limits', async () => {
    const sent = bot.fake.sendAutocomplete('incident', 'query', 'sky');
    const callback = await bot.fake.waitForCallback(sent);
    assert.equal(callback.body.type, CALLBACK.autocomplete);
    const choices: { name: string; value: string }[] = callback.body.data.choices;
    assert.ok(choices.some((c) => /Sky ECC/.test(c.name)), JSON.stringify(choices));
    assert.ok(choices.length <= DISCORD_LIMITS.autocompleteChoices, `${choices.length} choices`);
    for (const c of choices) assert.ok(c.name.length <= 100 && c.value.length <= 100, JSON.stringify(c));
  });

  it('autocomplete with nothing typed offers recent incidents', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendAutocomplete('incident', 'query', ''));
    assert.ok(callback.body.data.choices.length > 0, 'some recent titles offered');
  });

  it('an ambiguous query offers buttons, and a pick replaces the message with that answer', async () => {
    const sent = bot.fake.sendSlashCommand('incident', { query: 'operation' });
    const callback = await bot.fake.waitForCallback(sent);
    const data = dataOf(callback);
    assert.match(data.embeds[0].title, /Which one/);
    const ids: string[] = data.components[0].components.map((c: any) => c.custom_id);
    assert.ok(ids.includes('pick:seed:skyecc-2021') && ids.includes('pick:seed:encrochat-2020'), ids.join(', '));

    const click = bot.fake.sendButton('pick:seed:skyecc-2021', { embeds: data.embeds, components: data.components });
    const update = await bot.fake.waitForCallback(click);
    assert.equal(update.body.type, CALLBACK.update);
    assert.match(update.body.data.embeds[0].title, /Sky ECC/);
    assert.deepEqual(update.body.data.components, [], 'the picker is gone');
    assert.deepEqual(update.body.data.allowed_mentions, { parse: [] });
  });

  it('not-found replies ephemerally', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query: 'zzzqqq' }));
    const data = dataOf(callback);
    assert.equal(data.flags & EPHEMERAL, EPHEMERAL);
    assert.match(data.embeds[0].title, /Nothing found/);
    assert.match(data.embeds[0].description, /zzzqqq/);
  });

  it('/incidents recent lists incidents and /help is generated from the commands', async () => {
    const list = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incidents', { count: 2 }, 'recent'));
    assert.match(dataOf(list).embeds[0].title, /Recent/);
    assert.match(dataOf(list).embeds[0].description, /^\*\*1\.\*\* .+\n[\s\S]*\*\*2\.\*\* /);
    const search = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incidents', { query: 'encrypted' }, 'search'));
    assert.match(dataOf(search).embeds[0].description, /Sky ECC|EncroChat/);
    const help = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('help'));
    assert.ok(dataOf(help).embeds[0].fields.some((f: any) => f.name.startsWith('/incident')), 'help has an /incident entry');
  });

  it('a 429 is retried after its Retry-After, then the reply goes through', async () => {
    bot.fake.fail({ method: 'POST', path: /\/callback$/, status: 429, times: 1, headers: { 'Retry-After': '0.3', 'X-RateLimit-Scope': 'user' }, body: { message: 'You are being rate limited.', retry_after: 0.3, global: false } });
    const sent = bot.fake.sendSlashCommand('incident', { query: 'skyecc' });
    const ok = await bot.fake.waitForCallback(sent);
    const attempts = bot.fake.requestsFor(sent);
    assert.deepEqual(attempts.map((r) => r.status), [429, 204]);
    assert.ok(ok.at - attempts[0].at >= 300, `retried after ${Math.round(ok.at - attempts[0].at)} ms`);
    assert.match(dataOf(ok).embeds[0].title, /Sky ECC/);
    assert.ok(bot.logs.some((l) => l.level === 'warn' && /rate limited/.test(l.message)), 'the 429 is logged');
  });

  it('a 500 three times ends in an ephemeral error for the user, and is logged', async () => {
    bot.fake.fail({ method: 'POST', path: /\/callback$/, status: 500, times: 3 });
    const sent = bot.fake.sendSlashCommand('incident', { query: 'skyecc' });
    const ok = await bot.fake.waitForCallback(sent);
    assert.deepEqual(bot.fake.requestsFor(sent).map((r) => r.status), [500, 500, 500, 204]);
    assert.equal(dataOf(ok).content, ERROR_TEXT);
    assert.equal(dataOf(ok).flags & EPHEMERAL, EPHEMERAL);
    assert.ok(bot.logs.some((l) => l.level === 'error' && l.message === 'discord interaction failed' && l.details.interactionId === sent.id), 'the failure is logged with the interaction id');
  });

  it('keeps answering after a gateway reconnect (op 7) by resuming the session', async () => {
    const identifies = bot.fake.gatewayEvents.filter((e) => e.kind === 'identify').length;
    bot.fake.requestReconnect();
    const resume = await bot.fake.waitForGateway((e) => e.kind === 'resume');
    const connect = bot.fake.gatewayEvents.filter((e) => e.kind === 'connect').at(-1);
    assert.equal(connect?.path, '/resume', 'reconnected to resume_gateway_url');
    assert.ok(resume.payload.session_id, 'resume carries the session id');
    // discord.js marks the shard ready again once RESUMED is processed.
    await waitUntil(() => bot.adapter.client.ws.shards.first()?.status === Status.Ready);
    const sent: SentInteraction = bot.fake.sendSlashCommand('incident', { query: 'skyecc' });
    const callback = await bot.fake.waitForCallback(sent);
    assert.match(dataOf(callback).embeds[0].title, /Sky ECC/);
    assert.equal(bot.fake.gatewayEvents.filter((e) => e.kind === 'identify').length, identifies, 'resumed, not re-identified');
  });
});

describe('Discord adapter with scripted data, through the real discord.js client', { timeout: 20_000 }, () => {
  let bot: FakeDiscordBot;

  before(async () => {
    const service = createFakeIncidentService({
      records: [skyEccRecord(), encroChatRecord(), hugeRecord(), hostileRecord()],
      ambiguous: { takedown: ['seed:skyecc-2021', 'seed:encrochat-2020'] },
    });
    bot = await startFakeDiscordBot({ service, commands: [...COMMANDS, ...testCommands], deferAfterMs: 100 });
  });

  after(async () => {
    await bot?.stop();
  });

  it('not-found suggestions are buttons that answer when clicked', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query: 'skynet botnet' }));
    const data = dataOf(callback);
    assert.equal(data.flags & EPHEMERAL, EPHEMERAL);
    assert.match(data.embeds[0].description, /Sky ECC takedown/);
    const button = data.components[0].components[0];
    assert.equal(button.custom_id, 'ask:Sky ECC takedown');
    const update = await bot.fake.waitForCallback(bot.fake.sendButton(button.custom_id, { flags: EPHEMERAL }));
    assert.equal(update.body.type, CALLBACK.update);
    assert.match(update.body.data.embeds[0].title, /Sky ECC/);
  });

  it('a select-menu pick answers with the chosen record', async () => {
    const update = await bot.fake.waitForCallback(bot.fake.sendSelect('pick:', ['seed:skyecc-2021']));
    assert.equal(update.body.type, CALLBACK.update);
    assert.match(update.body.data.embeds[0].title, /Sky ECC/);
  });

  it('a 20,000-character summary with 60 sources arrives as a valid embed within every limit', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query: 'huge' }));
    const data = dataOf(callback);
    assert.deepEqual(messageLimitViolations({ content: data.content, embeds: data.embeds, components: data.components ?? [] }), []);
    const embed = data.embeds[0];
    assert.ok(embed.title.length <= 256 && embed.description.length <= 4096, 'title and description within limits');
    assert.ok(embed.fields.length <= 25, `${embed.fields.length} fields`);
    for (const f of embed.fields) assert.ok(f.name.length <= 256 && f.value.length <= 1024, `field ${f.name} within limits`);
    assert.ok(embedLength(embed) <= 6000, `total ${embedLength(embed)}`);
    assert.match(embed.fields.find((f: any) => f.name === 'Sources').value, /\+\d+ more$/);
  });

  it('a title of "@everyone <@&123> [x](https://evil)" pings nobody and links nowhere', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query: 'hostile' }));
    const data = dataOf(callback);
    assert.deepEqual(data.allowed_mentions, { parse: [] });
    const text = [data.content ?? '', ...data.embeds.flatMap((e: any) => [e.title, e.description, e.footer?.text, ...(e.fields ?? []).flatMap((f: any) => [f.name, f.value])])].join('\n');
    assert.deepEqual(unescapedMentions(text), []);
    assert.deepEqual(liveMaskedLinks(text).filter((l) => l.url.includes('evil')), []);
  });

  it('a handler that throws gets an ephemeral error, and the bot keeps answering', async () => {
    const failed = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('boom'));
    assert.equal(dataOf(failed).content, ERROR_TEXT);
    assert.equal(dataOf(failed).flags & EPHEMERAL, EPHEMERAL);
    const error = bot.logs.find((l) => l.level === 'error' && l.details.command === 'boom');
    assert.match(JSON.stringify(error?.details), /handler bug/);
    const next = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('incident', { query: 'skyecc' }));
    assert.match(dataOf(next).embeds[0].title, /Sky ECC/);
  });

  it('an unknown command gets an ephemeral hint', async () => {
    const callback = await bot.fake.waitForCallback(bot.fake.sendSlashCommand('nonexistent'));
    assert.equal(dataOf(callback).flags & EPHEMERAL, EPHEMERAL);
    assert.match(dataOf(callback).content, /help/);
  });

  it('a slow reply is deferred first, then edited in', async () => {
    const sent = bot.fake.sendSlashCommand('slow');
    const defer = await bot.fake.waitForCallback(sent);
    assert.equal(defer.body.type, CALLBACK.defer);
    assert.ok(defer.at - sent.sentAt < 400, `deferred after ${Math.round(defer.at - sent.sentAt)} ms, before the work finished`);
    const edit = await bot.fake.waitForRequest((r) => r.method === 'PATCH' && r.path.includes(sent.token) && r.path.endsWith('/messages/@original'));
    assert.match(edit.body.embeds[0].title, /Sky ECC/);
    assert.deepEqual(edit.body.allowed_mentions, { parse: [] });
  });

  it('a slow reply that turns out ephemeral replaces the deferred message with an ephemeral follow-up', async () => {
    const sent = bot.fake.sendSlashCommand('slowfail');
    const followUp = await bot.fake.waitForRequest((r) => r.method === 'POST' && r.path.endsWith(`/${sent.token}`));
    assert.equal(followUp.body.flags & EPHEMERAL, EPHEMERAL);
    assert.equal(followUp.body.content, 'late error');
    assert.ok(bot.fake.requestsFor(sent).some((r) => r.method === 'DELETE'), 'the deferred public reply is deleted');
  });
});

describe('createDiscordAdapter stop()', { timeout: 10_000 }, () => {
  it('destroys the client and closes the gateway; a second stop() is harmless', async () => {
    const bot = await startFakeDiscordBot();
    assert.equal(bot.adapter.client.isReady(), true);
    await bot.adapter.stop();
    assert.equal(bot.adapter.client.isReady(), false);
    await bot.fake.waitForGateway((e) => e.kind === 'close');
    await bot.stop();
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(10);
  }
}
