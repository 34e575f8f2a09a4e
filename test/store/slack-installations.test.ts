import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createTextSealer } from '../../src/store/sealed-text.js';
import { SlackInstallationError, SqliteSlackInstallationRepo, type SlackInstallationRecord } from '../../src/store/slack-installations.js';
import { openStore, type Store } from '../../src/store/store.js';

const TOKEN_A = 'xoxb-TA-1111-secret-token-of-a';
const TOKEN_B = 'xoxb-TB-2222-secret-token-of-b';

function install(teamId: string, token: string, extra: Partial<SlackInstallationRecord> = {}): SlackInstallationRecord {
  return {
    teamId,
    teamName: `Team ${teamId}`,
    isEnterpriseInstall: false,
    appId: 'A0001',
    botUserId: `U${teamId}BOT`,
    installerUserId: 'UINSTALLER',
    scopes: ['chat:write', 'commands'],
    installation: { team: { id: teamId }, bot: { token, userId: `U${teamId}BOT`, id: 'B1', scopes: ['chat:write', 'commands'] }, authVersion: 'v2' },
    ...extra,
  };
}

let dir: string;
let store: Store;
let n = 0;
let clock = Date.UTC(2026, 0, 5, 9);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'incident-bot-slack-installs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  store = openStore(join(dir, `s-${++n}.db`));
});
afterEach(() => store.close());

const rawData = (key: string) => (store.db.prepare('SELECT data FROM slack_installations WHERE key = ?').get(key) as { data: string } | undefined)?.data;

describe('SqliteSlackInstallationRepo', () => {
  it('saves, finds by team, lists without tokens, replaces on re-install (keeping the first install time) and deletes', async () => {
    const repo = new SqliteSlackInstallationRepo(store, { now: () => clock });
    await repo.save(install('TA', TOKEN_A));
    clock += 60_000;
    await repo.save(install('TB', TOKEN_B));
    assert.equal(await repo.count(), 2);

    const a = await repo.find({ teamId: 'TA', isEnterpriseInstall: false });
    assert.equal((a?.installation.bot as { token: string }).token, TOKEN_A);
    assert.equal(a?.teamName, 'Team TA');
    assert.deepEqual(a?.scopes, ['chat:write', 'commands']);
    assert.equal(await repo.find({ teamId: 'TC', isEnterpriseInstall: false }), undefined);

    const listed = await repo.list();
    assert.deepEqual(listed.map((i) => i.teamId), ['TA', 'TB']);
    assert.ok(!JSON.stringify(listed).includes('xoxb-'), 'the list holds no token');

    clock += 60_000;
    await repo.save(install('TA', 'xoxb-TA-reinstalled'));
    const again = (await repo.list()).find((i) => i.teamId === 'TA')!;
    assert.equal(again.installedAt, new Date(Date.UTC(2026, 0, 5, 9)).toISOString(), 'first install time kept');
    assert.equal(again.updatedAt, new Date(clock).toISOString());
    assert.equal(((await repo.find({ teamId: 'TA', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, 'xoxb-TA-reinstalled');

    assert.equal(await repo.delete({ teamId: 'TA', isEnterpriseInstall: false }), true);
    assert.equal(await repo.delete({ teamId: 'TA', isEnterpriseInstall: false }), false);
    assert.equal(await repo.find({ teamId: 'TA', isEnterpriseInstall: false }), undefined);
    assert.ok(await repo.find({ teamId: 'TB', isEnterpriseInstall: false }), 'the other workspace stays');
  });

  it('keys an org-wide install by its enterprise, apart from a workspace install with the same team', async () => {
    const repo = new SqliteSlackInstallationRepo(store);
    await repo.save({ enterpriseId: 'E1', isEnterpriseInstall: true, installation: { enterprise: { id: 'E1' }, bot: { token: 'xoxb-org' } } });
    await repo.save(install('TA', TOKEN_A, { enterpriseId: 'E1' }));
    assert.equal(((await repo.find({ enterpriseId: 'E1', isEnterpriseInstall: true }))?.installation.bot as { token: string }).token, 'xoxb-org');
    assert.equal(((await repo.find({ teamId: 'TA', enterpriseId: 'E1', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, TOKEN_A);
    await assert.rejects(repo.find({ isEnterpriseInstall: false }), SlackInstallationError);
  });

  it('stores the installation as given (tokens readable in the file) when no key is configured', async () => {
    const repo = new SqliteSlackInstallationRepo(store);
    await repo.save(install('TA', TOKEN_A));
    assert.match(rawData('team:TA')!, /xoxb-TA-1111/);
  });

  it('with a key, the file holds no token; another key, or a row moved to another team, does not open', async () => {
    const key = randomBytes(32);
    const repo = new SqliteSlackInstallationRepo(store, { sealer: createTextSealer(key) });
    await repo.save(install('TA', TOKEN_A));
    await repo.save(install('TB', TOKEN_B));
    const sealed = rawData('team:TA')!;
    assert.match(sealed, /^sealed:v1:/);
    assert.ok(!sealed.includes('xoxb-'), 'no token in the file');
    assert.equal(((await repo.find({ teamId: 'TA', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, TOKEN_A);

    const otherKey = new SqliteSlackInstallationRepo(store, { sealer: createTextSealer(randomBytes(32)) });
    await assert.rejects(otherKey.find({ teamId: 'TA', isEnterpriseInstall: false }), /does not open with the configured key.*SLACK_TOKEN_ENCRYPTION_KEY/);
    const noKey = new SqliteSlackInstallationRepo(store);
    await assert.rejects(noKey.find({ teamId: 'TA', isEnterpriseInstall: false }), /encrypted and no key is configured.*SLACK_TOKEN_ENCRYPTION_KEY/);

    // B's sealed installation copied into A's row: bound to B's key, it must not pass for A's.
    store.db.prepare('UPDATE slack_installations SET data = ? WHERE key = ?').run(rawData('team:TB'), 'team:TA');
    await assert.rejects(repo.find({ teamId: 'TA', isEnterpriseInstall: false }), SlackInstallationError);
  });

  it('seals a row written before the key was set the first time it is read with the key', async () => {
    await new SqliteSlackInstallationRepo(store).save(install('TA', TOKEN_A));
    assert.match(rawData('team:TA')!, /xoxb-/);
    const repo = new SqliteSlackInstallationRepo(store, { sealer: createTextSealer(randomBytes(32)) });
    assert.equal(((await repo.find({ teamId: 'TA', isEnterpriseInstall: false }))?.installation.bot as { token: string }).token, TOKEN_A);
    assert.match(rawData('team:TA')!, /^sealed:v1:/);
    assert.ok(!rawData('team:TA')!.includes('xoxb-'));
  });
});

describe('createTextSealer', () => {
  it('refuses a key that is not 32 bytes', () => {
    assert.throws(() => createTextSealer(randomBytes(16)), RangeError);
  });
  it('gives a fresh ciphertext each time and detects any change to it', () => {
    const sealer = createTextSealer(randomBytes(32));
    const one = sealer.seal('hello', 'ctx');
    assert.notEqual(one, sealer.seal('hello', 'ctx'));
    assert.equal(sealer.open(one, 'ctx'), 'hello');
    // A character in the middle, not near the end: the last base64 characters may carry only padding bits.
    const mid = Math.floor(one.length / 2);
    const flipped = one.slice(0, mid) + (one[mid] === 'A' ? 'B' : 'A') + one.slice(mid + 1);
    assert.throws(() => sealer.open(flipped, 'ctx'), /does not open/);
    assert.throws(() => sealer.open(one, 'other'), /does not open/);
  });
});
