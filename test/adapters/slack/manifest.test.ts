import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { COMMANDS, routeText } from '../../../commands/index.js';
import { buildSlackManifest, manifestFileText, slackUsageFor, slackUsages } from '../../../src/adapters/slack/manifest.js';
import { MANIFEST_PATH } from '../../../src/adapters/slack/write-manifest.js';

describe('slack/manifest.json', () => {
  it('equals the manifest generated from the command definitions (run src/adapters/slack/write-manifest.ts)', () => {
    assert.equal(readFileSync(MANIFEST_PATH, 'utf8'), manifestFileText(COMMANDS));
  });
});

describe('buildSlackManifest', () => {
  const manifest = buildSlackManifest(COMMANDS) as Record<string, any>;

  it('declares one slash command named after the first command, with a usage hint from every usage line', () => {
    const [slash] = manifest.features.slash_commands;
    assert.equal(manifest.features.slash_commands.length, 1);
    assert.equal(slash.command, `/${COMMANDS[0].definition.name}`);
    assert.equal(slash.description, COMMANDS[0].definition.description);
    assert.equal(slash.usage_hint, '<query> | recent [count] | search <query> | alerts list|subscribe|unsubscribe | feeds list|status|add|remove | help');
    assert.ok(slash.command.length <= 32 && slash.description.length <= 2000 && slash.usage_hint.length <= 1000);
  });

  it('requests the scopes for commands, mentions and alerts, subscribes app_mention only, and enables Socket Mode', () => {
    const scopes: string[] = manifest.oauth_config.scopes.bot;
    for (const scope of ['commands', 'app_mentions:read', 'chat:write', 'chat:write.public']) assert.ok(scopes.includes(scope), scope);
    // Alerts: the admin check (users.info, conversations.info) and findSent (conversations.history and .replies).
    for (const scope of ['users:read', 'channels:read', 'groups:read', 'channels:history', 'groups:history']) assert.ok(scopes.includes(scope), scope);
    assert.deepEqual(manifest.settings.event_subscriptions.bot_events, ['app_mention']);
    assert.equal(manifest.settings.socket_mode_enabled, true);
    assert.equal(manifest.settings.interactivity.is_enabled, true, 'the share button needs interactivity');
    assert.ok(manifest.display_information.name.length <= 35);
    assert.ok(manifest.display_information.description.length <= 140);
  });

  it('points every URL at the request URL in HTTP mode', () => {
    const url = 'https://bot.example.com/slack/events';
    const http = buildSlackManifest(COMMANDS, { requestUrl: url }) as Record<string, any>;
    assert.equal(http.settings.socket_mode_enabled, false);
    assert.equal(http.features.slash_commands[0].url, url);
    assert.equal(http.settings.event_subscriptions.request_url, url);
    assert.equal(http.settings.interactivity.request_url, url);
  });
});

describe('slackUsages', () => {
  it('gives each usage line a form that routes back to the same command and subcommand', () => {
    for (const [neutral, short] of slackUsages(COMMANDS)) {
      if (neutral.includes(' | ')) continue;
      const want = routeText(neutral.replace(/^incident\s+(?=<)/, ''));
      const got = routeText(short);
      assert.equal(got.command.definition.name, want.command.definition.name, `${short} (from ${neutral})`);
      assert.equal(got.input.subcommand, want.input.subcommand, `${short} (from ${neutral})`);
    }
  });
  it('maps a neutral usage line to what a Slack user types', () => {
    const usageFor = slackUsageFor(COMMANDS);
    assert.equal(usageFor('incidents recent [count]'), '/incident recent [count]');
    assert.equal(usageFor('incident <query>'), '/incident <query>');
    assert.equal(usageFor('help'), '/incident help');
  });
});
