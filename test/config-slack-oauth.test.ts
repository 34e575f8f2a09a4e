import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../src/config.js';

const CLIENT_SECRET = '0123456789abcdef0123456789abcdef';
const STATE_SECRET = 'state-secret-that-is-long-enough-42';
const OAUTH = { SLACK_CLIENT_ID: '1234567890.987654321', SLACK_CLIENT_SECRET: CLIENT_SECRET, SLACK_STATE_SECRET: STATE_SECRET };

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

describe('Slack OAuth distribution settings', () => {
  it('reads SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET as distribution in HTTP mode, with no bot token', () => {
    const slack = loadConfig({ ...OAUTH, SLACK_SIGNING_SECRET: 'sig', SLACK_PORT: '8080' }).slack;
    assert.equal(slack?.botToken, undefined);
    assert.deepEqual(slack?.distribution, { clientId: OAUTH.SLACK_CLIENT_ID, clientSecret: CLIENT_SECRET, stateSecret: STATE_SECRET });
    assert.equal(slack?.signingSecret, 'sig');
    assert.equal(slack?.port, 8080);
  });

  it('reads distribution in Socket Mode (the install pages then listen on SLACK_PORT), with the redirect URI and the key', () => {
    const key = randomBytes(32);
    const slack = loadConfig({
      ...OAUTH,
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_REDIRECT_URI: 'https://bot.example.com/slack/oauth_redirect',
      SLACK_TOKEN_ENCRYPTION_KEY: key.toString('base64'),
    }).slack;
    assert.equal(slack?.appToken, 'xapp-1');
    assert.equal(slack?.distribution?.redirectUri, 'https://bot.example.com/slack/oauth_redirect');
    assert.ok(slack?.distribution?.encryptionKey?.equals(key), 'the base64 key is decoded');
    const hex = loadConfig({ ...OAUTH, SLACK_APP_TOKEN: 'xapp-1', SLACK_TOKEN_ENCRYPTION_KEY: key.toString('hex') }).slack;
    assert.ok(hex?.distribution?.encryptionKey?.equals(key), 'the hex key is decoded');
  });

  it('names the missing one of the three, with where to find it', () => {
    assert.match(configError({ SLACK_CLIENT_ID: OAUTH.SLACK_CLIENT_ID, SLACK_SIGNING_SECRET: 's' }), /SLACK_CLIENT_SECRET is missing.*Basic Information > App Credentials/);
    assert.match(configError({ SLACK_CLIENT_ID: OAUTH.SLACK_CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET, SLACK_SIGNING_SECRET: 's' }), /SLACK_STATE_SECRET is missing.*openssl rand/);
    assert.match(configError({ SLACK_CLIENT_SECRET: CLIENT_SECRET, SLACK_STATE_SECRET: STATE_SECRET, SLACK_APP_TOKEN: 'xapp-1' }), /SLACK_CLIENT_ID is missing/);
  });

  it('refuses a bot token beside the OAuth credentials, saying which to remove for which setup', () => {
    const msg = configError({ ...OAUTH, SLACK_BOT_TOKEN: 'xoxb-secret-bot-token', SLACK_APP_TOKEN: 'xapp-1' });
    assert.match(msg, /SLACK_BOT_TOKEN and SLACK_CLIENT_ID are two different setups/);
    assert.ok(!msg.includes('xoxb-secret-bot-token') && !msg.includes(CLIENT_SECRET) && !msg.includes(STATE_SECRET), 'no secret echoed');
  });

  it('needs the signing secret (HTTP mode) or an app token (Socket Mode)', () => {
    assert.match(configError(OAUTH), /SLACK_SIGNING_SECRET is missing.*SLACK_APP_TOKEN for Socket Mode/);
  });

  it('names a bad value without echoing a secret', () => {
    assert.match(configError({ ...OAUTH, SLACK_CLIENT_ID: 'my-app', SLACK_APP_TOKEN: 'xapp-1' }), /SLACK_CLIENT_ID must be the Client ID.*\(got "my-app"\)/);
    const short = configError({ ...OAUTH, SLACK_STATE_SECRET: 'short-secret', SLACK_APP_TOKEN: 'xapp-1' });
    assert.match(short, /SLACK_STATE_SECRET must be a random string of at least 16 characters/);
    assert.ok(!short.includes('short-secret'), 'the state secret is not echoed');
    const key = configError({ ...OAUTH, SLACK_TOKEN_ENCRYPTION_KEY: 'not-a-key-but-a-secret', SLACK_APP_TOKEN: 'xapp-1' });
    assert.match(key, /SLACK_TOKEN_ENCRYPTION_KEY must be 32 random bytes in base64 or hex/);
    assert.ok(!key.includes('not-a-key-but-a-secret'), 'the key is not echoed');
    assert.match(configError({ ...OAUTH, SLACK_CLIENT_SECRET: 'tiny', SLACK_APP_TOKEN: 'xapp-1' }), /SLACK_CLIENT_SECRET is too short/);
    assert.match(
      configError({ ...OAUTH, SLACK_APP_TOKEN: 'xapp-1', SLACK_REDIRECT_URI: 'https://bot.example.com/oauth' }),
      /SLACK_REDIRECT_URI must be an http\(s\) URL whose path is \/slack\/oauth_redirect/,
    );
  });

  it('refuses the distribution-only variables without distribution', () => {
    assert.match(configError({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_REDIRECT_URI: 'https://bot.example.com/slack/oauth_redirect' }), /SLACK_REDIRECT_URI is set, but.*SLACK_CLIENT_ID/);
    assert.match(configError({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex') }), /SLACK_TOKEN_ENCRYPTION_KEY is set, but/);
  });

  it('still names SLACK_BOT_TOKEN, and now distribution too, when only the app token is set', () => {
    assert.match(configError({ SLACK_APP_TOKEN: 'xapp-1' }), /SLACK_BOT_TOKEN is missing.*SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET/);
  });
});
