import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMMANDS } from '../../../commands/index.js';
import { commandsToDiscordJson } from '../../../src/adapters/discord/command-json.js';
import { DeployConfigError, deployCommands, deployOptionsFromEnv } from '../../../src/adapters/discord/deploy-commands.js';
import { FakeDiscord } from '../../support/fake-discord.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = path.join(ROOT, 'src/adapters/discord/deploy-commands.ts');

/** Runs the deploy script as `npm run deploy:discord` would; blank variables keep a developer's .env out. */
async function runScript(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const blank = { DISCORD_TOKEN: '', DISCORD_APPLICATION_ID: '', DISCORD_GUILD_ID: '', DISCORD_API_URL: '' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', SCRIPT], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...blank, ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('deployCommands', { timeout: 30_000 }, () => {
  let fake: FakeDiscord;
  before(async () => {
    fake = await FakeDiscord.start();
  });
  after(async () => {
    await fake.close();
  });

  it('registers the commands to the guild when a guild id is given', async () => {
    const result = await deployCommands({ token: 't', applicationId: fake.applicationId, guildId: fake.guildId, apiUrl: fake.apiUrl });
    assert.equal(result.scope, 'guild');
    assert.deepEqual(result.registered.map((c) => c.name), ['incident', 'incidents', 'alerts', 'feeds', 'help']);
    const put = await fake.waitForRequest((r) => r.method === 'PUT');
    assert.equal(put.path, `/api/v10/applications/${fake.applicationId}/guilds/${fake.guildId}/commands`);
    assert.equal(put.headers.authorization, 'Bot t');
    assert.deepEqual(put.body, commandsToDiscordJson(COMMANDS));
  });

  it('registers globally without a guild id', async () => {
    const result = await deployCommands({ token: 't', applicationId: fake.applicationId, apiUrl: fake.apiUrl });
    assert.equal(result.scope, 'global');
    assert.equal(fake.registeredCommands.get('global')?.length, COMMANDS.length);
  });

  it('the script registers to DISCORD_GUILD_ID at DISCORD_API_URL and says where', async () => {
    const { code, stdout, stderr } = await runScript({
      DISCORD_TOKEN: 'script-token',
      DISCORD_APPLICATION_ID: fake.applicationId,
      DISCORD_GUILD_ID: fake.guildId,
      DISCORD_API_URL: fake.apiUrl,
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`Registered 5 commands to guild ${fake.guildId}.*/incident, /incidents, /alerts, /feeds, /help`));
    assert.equal(fake.requests.filter((r) => r.method === 'PUT' && r.headers.authorization === 'Bot script-token').length, 1);
  });

  it('the script exits with a message naming a missing variable', async () => {
    const { code, stderr } = await runScript({ DISCORD_APPLICATION_ID: '1' });
    assert.equal(code, 1);
    assert.match(stderr, /DISCORD_TOKEN is not set/);
  });
});

describe('deployOptionsFromEnv', () => {
  it('names the first missing variable and how to get it', () => {
    assert.throws(() => deployOptionsFromEnv({}), (e: unknown) => e instanceof DeployConfigError && /DISCORD_TOKEN is not set: .*developer portal/.test(e.message));
    assert.throws(() => deployOptionsFromEnv({ DISCORD_TOKEN: 'x' }), /DISCORD_APPLICATION_ID is not set/);
  });

  it('treats a blank guild id and API URL as unset', () => {
    assert.deepEqual(deployOptionsFromEnv({ DISCORD_TOKEN: 'x', DISCORD_APPLICATION_ID: '1', DISCORD_GUILD_ID: ' ', DISCORD_API_URL: '' }), {
      token: 'x',
      applicationId: '1',
      guildId: undefined,
      apiUrl: undefined,
    });
  });
});
