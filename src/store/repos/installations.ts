import type { Db } from '../db.js';
import { createTextSealer, type TextSealer } from '../sealed-text.js';
import {
  installationRowKey,
  installationSummary,
  openInstallation,
  type SlackInstallationKey,
  type SlackInstallationRecord,
  type SlackInstallationRepo,
  type SlackInstallationRow,
  type SlackInstallationSummary,
} from '../slack-installations.js';

/** Options for the installation repository. */
export interface InstallationRepoOptions {
  /** Seals the installation objects (tokens); default plain text. */
  sealer?: TextSealer;
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

/**
 * Returns the Slack installations (one bot token per workspace) kept in `db`, on either engine: the same table and
 * sealing as the SQLite repository, so every replica sharing a PostgreSQL answers with each workspace's own token.
 * Rows written before a key was set are sealed the next time they are read.
 */
export function createInstallationRepo(db: Db, options: InstallationRepoOptions = {}): SlackInstallationRepo {
  const sealer = options.sealer ?? createTextSealer();
  const now = options.now ?? Date.now;
  const toSummary = (row: SlackInstallationRow): SlackInstallationSummary => ({
    ...installationSummary(row),
    installedAt: new Date(row.installed_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  });
  return {
    async save(record: SlackInstallationRecord) {
      const key = installationRowKey(record);
      const at = now();
      await db.run(
        `INSERT INTO slack_installations (key, team_id, enterprise_id, is_enterprise_install, team_name, app_id, bot_user_id,
           installer_user_id, scopes, data, installed_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET team_id = excluded.team_id, enterprise_id = excluded.enterprise_id,
           is_enterprise_install = excluded.is_enterprise_install, team_name = excluded.team_name, app_id = excluded.app_id,
           bot_user_id = excluded.bot_user_id, installer_user_id = excluded.installer_user_id, scopes = excluded.scopes,
           data = excluded.data, updated_at = excluded.updated_at`,
        [
          key,
          record.teamId ?? null,
          record.enterpriseId ?? null,
          record.isEnterpriseInstall ? 1 : 0,
          record.teamName ?? null,
          record.appId ?? null,
          record.botUserId ?? null,
          record.installerUserId ?? null,
          record.scopes?.join(',') ?? null,
          sealer.seal(JSON.stringify(record.installation), key),
          at,
          at,
        ],
      );
    },
    async find(query: SlackInstallationKey) {
      const key = installationRowKey(query);
      const row = await db.one<SlackInstallationRow>('SELECT * FROM slack_installations WHERE key = ?', [key]);
      if (!row) return undefined;
      const { text, installation } = openInstallation(sealer, row);
      if (sealer.sealing && !sealer.isSealed(row.data)) {
        // Written before the key was set: sealed now, unless someone saved the row meanwhile.
        await db.run('UPDATE slack_installations SET data = ? WHERE key = ? AND data = ?', [sealer.seal(text, key), key, row.data]);
      }
      return { ...installationSummary(row), installation };
    },
    async delete(query: SlackInstallationKey) {
      return (await db.run('DELETE FROM slack_installations WHERE key = ?', [installationRowKey(query)])).changes > 0;
    },
    async list() {
      return (await db.query<SlackInstallationRow>('SELECT * FROM slack_installations ORDER BY installed_at, key')).map(toSummary);
    },
    async count() {
      return (await db.one<{ n: number }>('SELECT count(*) AS n FROM slack_installations'))?.n ?? 0;
    },
  };
}
