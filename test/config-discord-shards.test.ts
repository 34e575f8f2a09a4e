import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';
import { clientShardOptions, describeShardPlan } from '../src/adapters/discord/shards.js';

const DISCORD = { DISCORD_TOKEN: 'token', DISCORD_APPLICATION_ID: '123456789012345678' };

/** Returns the ConfigError message loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected loadConfig to throw for ${JSON.stringify(env)}`);
}

describe('DISCORD_SHARDS and DISCORD_SHARD_IDS', () => {
  it('leave Discord unsharded when unset (discord.js defaults: one session)', () => {
    const discord = loadConfig(DISCORD).discord;
    assert.equal(discord?.shards, undefined);
    assert.deepEqual(clientShardOptions(discord?.shards), {});
  });

  it('read a count alone as every shard of it in this process', () => {
    const shards = loadConfig({ ...DISCORD, DISCORD_SHARDS: '4' }).discord?.shards;
    assert.deepEqual(shards, { count: 4 });
    assert.deepEqual(clientShardOptions(shards), { shards: [0, 1, 2, 3], shardCount: 4 });
  });

  it('read a count with this replica\'s ids, lists and ranges alike, and always give discord.js the count', () => {
    assert.deepEqual(loadConfig({ ...DISCORD, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: ' 2 , 3 ' }).discord?.shards, { count: 4, ids: [2, 3] });
    const shards = loadConfig({ ...DISCORD, DISCORD_SHARDS: '16', DISCORD_SHARD_IDS: '0-3,8' }).discord?.shards;
    assert.deepEqual(shards, { count: 16, ids: [0, 1, 2, 3, 8] });
    assert.deepEqual(clientShardOptions(shards), { shards: [0, 1, 2, 3, 8], shardCount: 16 });
    assert.equal(describeShardPlan(shards), 'shards 0,1,2,3,8 of 16');
  });

  it('read auto in any case, leaving ids and count to discord.js', () => {
    const shards = loadConfig({ ...DISCORD, DISCORD_SHARDS: 'Auto' }).discord?.shards;
    assert.deepEqual(shards, { count: 'auto' });
    assert.deepEqual(clientShardOptions(shards), { shards: 'auto' });
  });

  it('refuse counts that are not auto or 1 or more, naming the variable', () => {
    for (const value of ['0', '-1', 'two', '2.5', '100001']) {
      assert.match(configError({ ...DISCORD, DISCORD_SHARDS: value }), /DISCORD_SHARDS must be auto or a whole number of shards from 1 to 100000/, value);
    }
  });

  it('refuse malformed, repeated or backwards ids', () => {
    assert.match(configError({ ...DISCORD, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: 'a,b' }), /DISCORD_SHARD_IDS must be shard ids, comma-separated/);
    assert.match(configError({ ...DISCORD, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '0,0' }), /DISCORD_SHARD_IDS lists shard 0 twice/);
    assert.match(configError({ ...DISCORD, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '3-1' }), /range 3-1 backwards/);
  });

  it('refuse an id at or above the count', () => {
    assert.match(configError({ ...DISCORD, DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '2,4' }), /DISCORD_SHARD_IDS lists shard 4, but DISCORD_SHARDS=4 numbers shards 0 to 3/);
  });

  it('refuse ids without a count, since discord.js would take their number as the count', () => {
    assert.match(configError({ ...DISCORD, DISCORD_SHARD_IDS: '2,3' }), /DISCORD_SHARD_IDS needs DISCORD_SHARDS/);
  });

  it('refuse ids with auto: replicas splitting shards must agree on one fixed count', () => {
    assert.match(configError({ ...DISCORD, DISCORD_SHARDS: 'auto', DISCORD_SHARD_IDS: '0,1' }), /cannot be used with DISCORD_SHARDS=auto.*Set DISCORD_SHARDS to a number/s);
  });

  it('refuse shard settings without DISCORD_TOKEN', () => {
    assert.match(configError({ DISCORD_SHARDS: '4' }), /DISCORD_TOKEN is missing/);
  });
});
