import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import alertsCommand from '../../../commands/alerts.js';
import feedsCommand from '../../../commands/feeds.js';
import { COMMANDS, findCommand, needsManagePermission, routeText, type ChannelContext, type CommandContext, type Reply } from '../../../commands/index.js';
import { handleConsoleLine } from '../../../src/adapters/console/console.js';
import { createIncidentService } from '../../../src/core/create-service.js';
import { FilterError, MAX_FILTER_TERMS, parseFilter } from '../../../src/feeds/match.js';
import { createFakeAlertsService, type FakeAlertsService } from '../../support/fake-alerts-service.js';
import { FAKE_SLACK_INCIDENTS } from '../../support/fake-slack-service.js';

const incidents = createIncidentService(FAKE_SLACK_INCIDENTS);
const MANAGER: ChannelContext = {
  platform: 'discord',
  channelId: '1100000000000000003',
  workspaceId: '1100000000000000002',
  userId: '1100000000000000004',
  tenant: 'discord:1100000000000000002',
  canManageFeeds: true,
  canManageChannel: true,
};
const MEMBER: ChannelContext = { ...MANAGER, canManageFeeds: false, canManageChannel: false };
const CONSOLE: ChannelContext = { platform: 'console', tenant: 'operator', userId: 'console', canManageFeeds: true, canManageChannel: false };

/** Returns a command context; `null` means no channel (the CLI), the default is a Discord channel manager. */
function context(alerts: FakeAlertsService | undefined, channel: ChannelContext | null = MANAGER): CommandContext {
  return { incidents, commands: COMMANDS, alerts, channel: channel ?? undefined };
}

/** Runs a line of text as Slack and the console route it. */
async function run(text: string, ctx: CommandContext): Promise<Reply> {
  const { command, input } = routeText(text);
  return command.handle(input, ctx);
}

function textOf(reply: Reply): string {
  if (reply.type === 'message') return [reply.title, ...reply.lines].join('\n');
  if (reply.type === 'error') return reply.message;
  return JSON.stringify(reply);
}

describe('the one filter grammar (commands and the feed watcher)', () => {
  it('accepts words, phrases, tag: and feed:, and stores keys in lower case with spacing collapsed', () => {
    const parsed = parseFilter('  lockbit   TAG:ransomware feed:cisa  https://example.com/x 10:30 "remote code" ');
    assert.equal(parsed.text, 'lockbit tag:ransomware feed:cisa https://example.com/x 10:30 "remote code"');
    assert.deepEqual(parsed.tags, ['ransomware']);
    assert.deepEqual(parsed.feeds, ['cisa']);
    assert.deepEqual(parsed.keywords, [['lockbit'], ['http', 'example', 'com', 'x'], ['10', '30'], ['remote', 'code']]);
  });

  it('an empty filter means every post', () => {
    assert.deepEqual(parseFilter(''), { text: '', keywords: [], excluded: [], tags: [], feeds: [] });
  });

  it('refuses since:-style date filters, near misses, unknown keys, empty values and too many terms with clear errors and an example', () => {
    const cases: [string, RegExp][] = [
      ['ransomware since:2024', /since:.*does not apply to alerts.*tag:<tag>.*e\.g\./],
      ['before:2025-01-01', /before:.*does not apply/],
      ['tags:ransomware', /did you mean `tag:ransomware`/],
      ['source:cisa', /did you mean `feed:cisa`/],
      ['kind:group', /Unknown filter `kind:`.*e\.g\./],
      ['tag:', /`tag:` needs a value/],
      ['feed:', /`feed:` needs a value/],
      ['x'.repeat(400), /keep it under 300/],
      [Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => `word${i}`).join(' '), new RegExp(`has ${MAX_FILTER_TERMS + 1} terms; a filter takes at most ${MAX_FILTER_TERMS}.*e\\.g\\.`)],
      ['"one two three four five six seven"', /A phrase has at most 6 words/],
    ];
    for (const [text, error] of cases) {
      assert.throws(() => parseFilter(text), (e: unknown) => e instanceof FilterError && error.test(e.message), text);
    }
  });

  it('a word followed by a colon is a word, not an unknown key', () => {
    assert.deepEqual(parseFilter('lockbit: arrests').keywords, [['lockbit'], ['arrest']]);
  });
});

describe('alerts command', () => {
  it('is adminOnly, and a bare "alerts" lists rather than subscribes', () => {
    assert.equal(alertsCommand.definition.adminOnly, true);
    const routed = routeText('/incident alerts');
    assert.equal(routed.command.definition.name, 'alerts');
    assert.equal(routed.input.subcommand, 'list');
  });

  it('refuses without the feed watcher, without a channel, and without the manage permission', async () => {
    assert.equal(textOf(await run('alerts subscribe', context(undefined))), 'Feeds are not enabled on this bot.');
    const alerts = createFakeAlertsService();
    assert.match(textOf(await run('alerts subscribe', context(alerts, null))), /managed from a Discord or Slack channel/);
    assert.match(textOf(await run('alerts subscribe', context(alerts, CONSOLE))), /managed from a Discord or Slack channel/);
    assert.match(textOf(await run('alerts subscribe', context(alerts, { ...MANAGER, canManageChannel: false }))), /Only members with the Manage Channels permission/);
    assert.match(textOf(await run('alerts list', context(alerts, { ...MANAGER, platform: 'slack', canManageChannel: false }))), /Only workspace admins/);
    // Manage Server alone does not manage a channel's alerts.
    assert.match(textOf(await run('alerts subscribe', context(alerts, { ...MANAGER, canManageFeeds: true, canManageChannel: false }))), /Manage Channels/);
    assert.equal(alerts.subscriptions.length, 0);
  });

  it('subscribes with a filter typed as words, keeping the words together (Slack and console routing)', async () => {
    const alerts = createFakeAlertsService();
    const reply = await run('/incident alerts subscribe lockbit tag:ransomware', context(alerts, { ...MANAGER, platform: 'slack', channelId: 'C1' }));
    assert.equal(reply.type, 'message');
    assert.equal(alerts.subscriptions[0].filter, 'lockbit tag:ransomware');
    assert.equal(alerts.subscriptions[0].roleId, undefined);
    assert.match(textOf(reply), /\/incident alerts unsubscribe 1/);
  });

  it('takes a Discord role from the role option or a role mention, never @everyone, and not on Slack', async () => {
    const alerts = createFakeAlertsService();
    const cmd = findCommand('alerts')!;
    await cmd.handle({ subcommand: 'subscribe', options: { filter: 'tag:ransomware', role: '1100000000000000099' } }, context(alerts));
    assert.equal(alerts.subscriptions[0].roleId, '1100000000000000099');
    await cmd.handle({ subcommand: 'subscribe', options: { filter: 'lockbit <@&1100000000000000098>' } }, context(alerts));
    assert.equal(alerts.subscriptions[1].roleId, '1100000000000000098');
    assert.equal(alerts.subscriptions[1].filter, 'lockbit');
    const everyone = await cmd.handle({ subcommand: 'subscribe', options: { role: MANAGER.workspaceId } }, context(alerts));
    assert.match(textOf(everyone), /cannot mention @everyone/);
    const slack = await cmd.handle({ subcommand: 'subscribe', options: { filter: 'x <@&1100000000000000098>' } }, context(alerts, { ...MANAGER, platform: 'slack' }));
    assert.match(textOf(slack), /only available on Discord/);
    const dm = await cmd.handle({ subcommand: 'subscribe', options: {} }, context(alerts, { ...MANAGER, platform: 'slack', channelId: 'D0123ABC' }));
    assert.match(textOf(dm), /Alerts go to channels/);
    assert.equal(alerts.subscriptions.length, 2);
  });

  it('refuses a duplicate subscription and more than the per-channel maximum', async () => {
    const alerts = createFakeAlertsService();
    await run('alerts subscribe tag:ransomware', context(alerts));
    assert.match(textOf(await run('alerts subscribe TAG:ransomware', context(alerts))), /already has that subscription \(#1\)/);
    for (let i = 0; i < 24; i++) await run(`alerts subscribe word${i}`, context(alerts));
    assert.equal(alerts.subscriptions.length, 25);
    assert.match(textOf(await run('alerts subscribe more', context(alerts))), /the most allowed/);
  });

  it('lists and unsubscribes: one by id, all when asked, and asks for an id when several exist', async () => {
    const alerts = createFakeAlertsService();
    assert.match(textOf(await run('alerts list', context(alerts))), /No alert subscriptions/);
    await run('alerts subscribe tag:ransomware', context(alerts));
    await run('alerts subscribe', context(alerts));
    const listed = textOf(await run('alerts list', context(alerts)));
    assert.match(listed, /#1 · filter: tag:ransomware/);
    assert.match(listed, /#2 · every new post/);
    assert.match(textOf(await run('alerts unsubscribe', context(alerts))), /give the id, or `all`/);
    assert.match(textOf(await run('alerts unsubscribe 7', context(alerts))), /No subscription #7/);
    assert.match(textOf(await run('alerts unsubscribe abc', context(alerts))), /The id is the number/);
    assert.match(textOf(await run('alerts unsubscribe #1', context(alerts))), /Removed subscription #1/);
    assert.match(textOf(await run('alerts unsubscribe all', context(alerts))), /Removed 1 subscription;/);
    assert.equal(alerts.subscriptions.length, 0);
  });
});

describe('feeds command', () => {
  const feeds = () =>
    createFakeAlertsService([
      { name: 'CISA', url: 'https://www.cisa.gov/feed.xml', polls: 20, notModifiedRate: 0.75, itemsSeen: 120, lastSuccessAt: '2026-11-25T12:00:00Z', nextPollAt: '2026-11-25T12:10:00Z' },
      { url: 'https://broken.example.org/rss', polls: 12, consecutiveFailures: 10, failing: true, lastError: 'HTTP 500\nInternal Server Error', lastErrorAt: '2026-11-25T11:59:00Z' },
    ]);

  it('list and status need no manage permission; status shows failing feeds first with their error', async () => {
    const alerts = feeds();
    const member = context(alerts, MEMBER);
    assert.match(textOf(await run('feeds list', member)), /#1 CISA — https:\/\/www\.cisa\.gov\/feed\.xml/);
    const status = await run('feeds status', member);
    assert.ok(status.type === 'message');
    assert.equal(status.title, 'Feed status: 2 feeds, 1 failing');
    assert.match(status.lines[0], /^#2 broken\.example\.org/);
    assert.match(status.lines[2], /FAILING after 10 failures: HTTP 500 Internal Server Error \(2026-11-25 11:59 UTC\)/);
    assert.match(status.lines.join('\n'), /last success 2026-11-25 12:00 UTC · next poll 2026-11-25 12:10 UTC · 120 items seen · 20 polls, 75% not modified/);
    assert.equal(needsManagePermission(feedsCommand, { subcommand: 'status', options: {} }), false);
    assert.equal(needsManagePermission(feedsCommand, { subcommand: 'add', options: {} }), true);
    assert.equal(needsManagePermission(alertsCommand, { subcommand: 'list', options: {} }), true);
  });

  it('add validates the URL, reports the service\'s refusal, and refuses duplicates; remove by id or URL', async () => {
    const alerts = feeds();
    const ctx = context(alerts);
    assert.match(textOf(await run('feeds add', ctx)), /Give the feed's URL/);
    assert.match(textOf(await run('feeds add javascript:alert(1)', ctx)), /absolute http\(s\) URLs/);
    assert.match(textOf(await run('feeds add ftp://example.com/feed', ctx)), /absolute http\(s\) URLs/);
    assert.match(textOf(await run('feeds add http://intranet.bad/rss', ctx)), /Could not add http:\/\/intranet\.bad\/rss: intranet\.bad resolves to a private address/);
    assert.match(textOf(await run('feeds add https://www.cisa.gov/feed.xml', ctx)), /already watched/);
    const added = await run('feeds add https://krebsonsecurity.com/feed/ Krebs on Security', ctx);
    assert.match(textOf(added), /Watching feed #3\n#3 Krebs on Security — https:\/\/krebsonsecurity\.com\/feed\//);
    assert.match(textOf(await run('feeds remove 99', ctx)), /No feed #99/);
    assert.match(textOf(await run('feeds remove https://krebsonsecurity.com/feed/', ctx)), /No longer watching #3 Krebs/);
    assert.match(textOf(await run('feeds remove #1', ctx)), /No longer watching #1 CISA/);
    assert.deepEqual(alerts.feeds.map((f) => f.id), [2]);
  });

  it('add and remove need Manage Server (Manage Channels is not enough) and a tenant; without the watcher feeds are not enabled', async () => {
    const alerts = feeds();
    assert.match(textOf(await run('feeds add https://x.example/rss', context(alerts, { ...MANAGER, canManageFeeds: false }))), /Only members with the Manage Server permission can add or remove feeds/);
    assert.match(textOf(await run('feeds add https://x.example/rss', context(alerts, { ...MANAGER, platform: 'slack', canManageFeeds: false }))), /Only workspace admins and owners .*SLACK_ADMIN_USER_IDS/);
    assert.match(textOf(await run('feeds remove 1', context(alerts, null))), /Feeds are managed from a Discord server, a Slack workspace, the console or the CLI/);
    assert.match(textOf(await run('feeds remove 1', context(alerts, { ...MANAGER, tenant: undefined }))), /Manage Server/);
    assert.equal(textOf(await run('feeds status', context(undefined))), 'Feeds are not enabled on this bot.');
    assert.equal(alerts.feeds.length, 2);
  });

  it('lists at most MAX_FEEDS_SHOWN feeds and points to the CLI for the rest', async () => {
    const alerts = createFakeAlertsService(Array.from({ length: 40 }, (_, i) => ({ name: `Feed ${i}` })));
    const reply = await run('feeds list', context(alerts));
    assert.ok(reply.type === 'message');
    assert.equal(reply.lines.length, 16);
    assert.match(reply.lines.at(-1)!, /^…and 25 more\.$/);
    const operator = await run('feeds list', context(alerts, CONSOLE));
    assert.ok(operator.type === 'message');
    assert.match(operator.lines.at(-1)!, /…and 25 more \(all of them: npm run cli -- feeds list\)/);
  });
});

describe('console', () => {
  it('shows the alert and feed commands in help, and says feeds are not enabled when asked', async () => {
    const ctx: CommandContext = { incidents, commands: COMMANDS };
    const help = await handleConsoleLine('help', ctx);
    assert.match(help, /\/alerts list \| alerts subscribe \[filter\] \[role\]/);
    assert.match(help, /\/feeds list \| feeds status/);
    assert.match(await handleConsoleLine('feeds status', ctx), /Feeds are not enabled on this bot/);
  });
});
