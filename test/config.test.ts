import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DISCORD_DEFAULT_API_URL, loadConfig, SLACK_DEFAULT_API_URL } from '../src/config.js';

const APP_ID = '123456789012345678';

/** Returns the ConfigError message loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected loadConfig to throw for ${Object.keys(env).join(', ')}`);
}

describe('loadConfig defaults', () => {
  it('loadConfig returns the console defaults when the environment is empty', () => {
    const config = loadConfig({});
    assert.equal(config.databasePath, './var/incident-bot.db');
    assert.deepEqual(config.dataPaths, []);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.discord, undefined);
    assert.equal(config.slack, undefined);
  });

  it('loadConfig treats blank values as unset when variables are empty or spaces', () => {
    const config = loadConfig({ DATABASE_PATH: '  ', LOG_LEVEL: '', DISCORD_TOKEN: ' ', SLACK_BOT_TOKEN: '' });
    assert.equal(config.databasePath, './var/incident-bot.db');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.discord, undefined);
    assert.equal(config.slack, undefined);
  });

  it('loadConfig splits INCIDENT_DATA on commas when given several paths', () => {
    assert.deepEqual(loadConfig({ INCIDENT_DATA: ' a.jsonl, data/b.json ,,' }).dataPaths, ['a.jsonl', 'data/b.json']);
  });

  it('loadConfig reads DATABASE_PATH and LOG_LEVEL when set', () => {
    const config = loadConfig({ DATABASE_PATH: '/tmp/x.db', LOG_LEVEL: 'debug' });
    assert.equal(config.databasePath, '/tmp/x.db');
    assert.equal(config.logLevel, 'debug');
  });

  it('loadConfig builds the Discord section with the default API URL when token and application id are set', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'discord-secret', DISCORD_APPLICATION_ID: APP_ID });
    assert.deepEqual(config.discord, { token: 'discord-secret', applicationId: APP_ID, guildId: undefined, apiUrl: DISCORD_DEFAULT_API_URL });
  });

  it('loadConfig builds the Slack section with port 3000 when bot and app tokens are set', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' });
    assert.equal(config.slack?.port, 3000);
    assert.equal(config.slack?.apiUrl, SLACK_DEFAULT_API_URL);
    assert.equal(config.slack?.botToken, 'xoxb-1');
  });

  it('loadConfig accepts HTTP mode when Slack has a signing secret instead of an app token', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'sig', SLACK_PORT: '8080' });
    assert.equal(config.slack?.port, 8080);
    assert.equal(config.slack?.appToken, undefined);
  });
});

describe('loadConfig errors', () => {
  it('loadConfig names LOG_LEVEL and the fix when the level is unknown', () => {
    const msg = configError({ LOG_LEVEL: 'loud' });
    assert.match(msg, /LOG_LEVEL/);
    assert.match(msg, /loud/);
    assert.match(msg, /\.env/);
  });

  it('loadConfig names SLACK_PORT when it is not a port number', () => {
    assert.match(configError({ SLACK_PORT: 'abc' }), /SLACK_PORT.*port number/);
    assert.match(configError({ SLACK_PORT: '70000' }), /SLACK_PORT.*1-65535/);
  });

  it('loadConfig names DISCORD_API_URL when it is not http(s)', () => {
    assert.match(configError({ DISCORD_API_URL: 'ftp://example.com/api' }), /DISCORD_API_URL/);
  });

  it('loadConfig names DISCORD_APPLICATION_ID and where to find it when the token has no application id', () => {
    const msg = configError({ DISCORD_TOKEN: 'discord-secret-value' });
    assert.match(msg, /DISCORD_APPLICATION_ID/);
    assert.match(msg, /Developer Portal/);
    assert.ok(!msg.includes('discord-secret-value'), 'the token never appears');
  });

  it('loadConfig names DISCORD_TOKEN when other Discord variables are set without it', () => {
    assert.match(configError({ DISCORD_APPLICATION_ID: APP_ID }), /DISCORD_TOKEN is missing/);
  });

  it('loadConfig names DISCORD_APPLICATION_ID when it is not numeric', () => {
    const msg = configError({ DISCORD_TOKEN: 't', DISCORD_APPLICATION_ID: 'my-app' });
    assert.match(msg, /DISCORD_APPLICATION_ID.*17-20 digits/);
  });

  it('loadConfig names SLACK_BOT_TOKEN without echoing its value when the token is malformed', () => {
    const msg = configError({ SLACK_BOT_TOKEN: 'bad-secret-value', SLACK_APP_TOKEN: 'xapp-1' });
    assert.match(msg, /SLACK_BOT_TOKEN/);
    assert.match(msg, /xoxb-/);
    assert.ok(!msg.includes('bad-secret-value'), msg);
  });

  it('loadConfig never echoes any secret when several variables are bad at once', () => {
    const env = { SLACK_BOT_TOKEN: 'bad-bot-secret', SLACK_APP_TOKEN: 'bad-app-secret', SLACK_SIGNING_SECRET: 'sig-secret', DISCORD_TOKEN: 'disc-secret', LOG_LEVEL: 'loud' };
    const msg = configError(env);
    for (const secret of ['bad-bot-secret', 'bad-app-secret', 'sig-secret', 'disc-secret']) assert.ok(!msg.includes(secret), `${secret} leaked: ${msg}`);
    assert.match(msg, /SLACK_BOT_TOKEN/);
    assert.match(msg, /SLACK_APP_TOKEN/);
    assert.match(msg, /LOG_LEVEL/);
  });

  it('loadConfig names SLACK_APP_TOKEN and the HTTP alternative when the bot token has neither', () => {
    const msg = configError({ SLACK_BOT_TOKEN: 'xoxb-secret-value' });
    assert.match(msg, /SLACK_APP_TOKEN/);
    assert.match(msg, /SLACK_SIGNING_SECRET/);
    assert.ok(!msg.includes('xoxb-secret-value'));
  });

  it('loadConfig names SLACK_BOT_TOKEN when only the app token is set', () => {
    const msg = configError({ SLACK_APP_TOKEN: 'xapp-secret-value' });
    assert.match(msg, /SLACK_BOT_TOKEN is missing/);
    assert.ok(!msg.includes('xapp-secret-value'));
  });

  it('reads the tenant limits and SLACK_ADMIN_USER_IDS with their defaults, and names a bad one with its rule', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.feeds.limits, { feedsPerTenant: 20, subscriptionsPerChannel: 25, manageCommandsPerMinute: 10 });
    const set = loadConfig({ FEEDS_PER_TENANT: '5', SUBSCRIPTIONS_PER_CHANNEL: '3', MANAGE_COMMANDS_PER_MINUTE: '30', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_ADMIN_USER_IDS: 'U0123ABCD, W0456EFGH' });
    assert.deepEqual(set.feeds.limits, { feedsPerTenant: 5, subscriptionsPerChannel: 3, manageCommandsPerMinute: 30 });
    assert.deepEqual(set.slack?.adminUserIds, ['U0123ABCD', 'W0456EFGH']);
    assert.match(configError({ FEEDS_PER_TENANT: 'lots' }), /FEEDS_PER_TENANT must be a whole number from 0 to 10000 \(got "lots"\)/);
    assert.match(configError({ SUBSCRIPTIONS_PER_CHANNEL: '0' }), /SUBSCRIPTIONS_PER_CHANNEL must be a whole number from 1/);
    assert.match(configError({ MANAGE_COMMANDS_PER_MINUTE: '-1' }), /MANAGE_COMMANDS_PER_MINUTE must be a whole number/);
    assert.match(configError({ SLACK_ADMIN_USER_IDS: 'alice,U0123ABCD' }), /SLACK_ADMIN_USER_IDS must be a comma-separated list of Slack user ids/);
  });
});
