import type Database from 'better-sqlite3';
import { SealError, type TextSealer, createTextSealer } from './sealed-text.js';
import type { Store } from './store.js';

/** Which installation: a workspace's (by team id) or an Enterprise Grid organisation's (org-wide, by enterprise id). */
export interface SlackInstallationKey {
  teamId?: string;
  enterpriseId?: string;
  isEnterpriseInstall: boolean;
}

/** One Slack installation as stored: searchable facts beside Slack's own installation object. */
export interface SlackInstallationRecord extends SlackInstallationKey {
  teamName?: string;
  appId?: string;
  botUserId?: string;
  /** Who installed it (Slack user id). */
  installerUserId?: string;
  /** Bot scopes granted. */
  scopes?: string[];
  /** Bolt's installation object, tokens included: opaque here, kept whole, sealed when a key is configured. */
  installation: Record<string, unknown>;
}

/** What may be listed without secrets: the record minus the installation object, with its times. */
export interface SlackInstallationSummary extends Omit<SlackInstallationRecord, 'installation'> {
  /** First installed (ISO 8601). */
  installedAt: string;
  /** Last saved: a re-install or a token refresh (ISO 8601). */
  updatedAt: string;
}

/**
 * Where Slack installations (each workspace's bot token) live. Asynchronous, so that a PostgreSQL implementation
 * fits the same interface; the SQLite one answers at once.
 */
export interface SlackInstallationRepo {
  /** Saves an installation, replacing the one with the same key (a re-install, a refreshed token). */
  save(record: SlackInstallationRecord): Promise<void>;
  /** The installation for this key, or undefined. */
  find(key: SlackInstallationKey): Promise<SlackInstallationRecord | undefined>;
  /** Deletes the installation for this key; resolves whether there was one. */
  delete(key: SlackInstallationKey): Promise<boolean>;
  /** Every installation, without tokens, oldest first. */
  list(): Promise<SlackInstallationSummary[]>;
  /** How many installations are stored. */
  count(): Promise<number>;
}

/** Thrown when a stored installation cannot be read (encrypted without the key, another key, damaged). */
export class SlackInstallationError extends Error {
  override name = 'SlackInstallationError';
}

/** Returns the row key: `team:<id>` for a workspace install, `enterprise:<id>` for an org-wide one; throws when the key lacks its id. */
export function installationRowKey(key: SlackInstallationKey): string {
  if (key.isEnterpriseInstall) {
    if (!key.enterpriseId) throw new SlackInstallationError('an org-wide installation needs its enterprise id');
    return `enterprise:${key.enterpriseId}`;
  }
  // Team ids are unique across Slack, Enterprise Grid included, so a workspace install is found by its team alone.
  if (!key.teamId) throw new SlackInstallationError('a workspace installation needs its team id');
  return `team:${key.teamId}`;
}

/** A stored installation row (table slack_installations). */
export type SlackInstallationRow = {
  key: string;
  team_id: string | null;
  enterprise_id: string | null;
  is_enterprise_install: number;
  team_name: string | null;
  app_id: string | null;
  bot_user_id: string | null;
  installer_user_id: string | null;
  scopes: string | null;
  data: string;
  installed_at: number;
  updated_at: number;
};

/** Options for the SQLite repository. */
export interface SqliteSlackInstallationOptions {
  /** Seals the installation objects (tokens); default plain text. */
  sealer?: TextSealer;
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

/**
 * Slack installations in the SQLite store (table slack_installations). The installation object, which holds the
 * tokens, is sealed with the sealer's key when there is one; rows written before a key was set are sealed the next
 * time they are read.
 */
export class SqliteSlackInstallationRepo implements SlackInstallationRepo {
  private readonly db: Database.Database;
  private readonly sealer: TextSealer;
  private readonly now: () => number;
  private readonly s;

  constructor(store: Store, options: SqliteSlackInstallationOptions = {}) {
    this.db = store.db;
    this.sealer = options.sealer ?? createTextSealer();
    this.now = options.now ?? Date.now;
    this.s = {
      upsert: this.db.prepare<[string, string | null, string | null, number, string | null, string | null, string | null, string | null, string | null, string, number, number]>(
        `INSERT INTO slack_installations (key, team_id, enterprise_id, is_enterprise_install, team_name, app_id, bot_user_id,
           installer_user_id, scopes, data, installed_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET team_id = excluded.team_id, enterprise_id = excluded.enterprise_id,
           is_enterprise_install = excluded.is_enterprise_install, team_name = excluded.team_name, app_id = excluded.app_id,
           bot_user_id = excluded.bot_user_id, installer_user_id = excluded.installer_user_id, scopes = excluded.scopes,
           data = excluded.data, updated_at = excluded.updated_at`,
      ),
      one: this.db.prepare<[string], SlackInstallationRow>('SELECT * FROM slack_installations WHERE key = ?'),
      reseal: this.db.prepare<[string, string, string]>('UPDATE slack_installations SET data = ? WHERE key = ? AND data = ?'),
      remove: this.db.prepare<[string]>('DELETE FROM slack_installations WHERE key = ?'),
      all: this.db.prepare<[], SlackInstallationRow>('SELECT * FROM slack_installations ORDER BY installed_at, key'),
      count: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM slack_installations'),
    };
  }

  async save(record: SlackInstallationRecord): Promise<void> {
    const key = installationRowKey(record);
    const now = this.now();
    this.s.upsert.run(
      key,
      record.teamId ?? null,
      record.enterpriseId ?? null,
      record.isEnterpriseInstall ? 1 : 0,
      record.teamName ?? null,
      record.appId ?? null,
      record.botUserId ?? null,
      record.installerUserId ?? null,
      record.scopes?.join(',') ?? null,
      this.sealer.seal(JSON.stringify(record.installation), key),
      now,
      now,
    );
  }

  async find(query: SlackInstallationKey): Promise<SlackInstallationRecord | undefined> {
    const key = installationRowKey(query);
    const row = this.s.one.get(key);
    if (!row) return undefined;
    const { text, installation } = openInstallation(this.sealer, row);
    if (this.sealer.sealing && !this.sealer.isSealed(row.data)) {
      // Written before the key was set: sealed now, unless someone saved the row meanwhile.
      this.s.reseal.run(this.sealer.seal(text, key), key, row.data);
    }
    return { ...installationSummary(row), installation };
  }

  async delete(query: SlackInstallationKey): Promise<boolean> {
    return this.s.remove.run(installationRowKey(query)).changes > 0;
  }

  async list(): Promise<SlackInstallationSummary[]> {
    return this.s.all.all().map((row) => ({ ...installationSummary(row), installedAt: new Date(row.installed_at).toISOString(), updatedAt: new Date(row.updated_at).toISOString() }));
  }

  async count(): Promise<number> {
    return this.s.count.get()!.n;
  }
}

/** Returns the searchable facts of a stored row (everything but the installation object). */
export function installationSummary(row: SlackInstallationRow): Omit<SlackInstallationRecord, 'installation'> {
  const out: Omit<SlackInstallationRecord, 'installation'> = { isEnterpriseInstall: row.is_enterprise_install === 1 };
  if (row.team_id !== null) out.teamId = row.team_id;
  if (row.enterprise_id !== null) out.enterpriseId = row.enterprise_id;
  if (row.team_name !== null) out.teamName = row.team_name;
  if (row.app_id !== null) out.appId = row.app_id;
  if (row.bot_user_id !== null) out.botUserId = row.bot_user_id;
  if (row.installer_user_id !== null) out.installerUserId = row.installer_user_id;
  if (row.scopes !== null) out.scopes = row.scopes.split(',').filter(Boolean);
  return out;
}

/** Returns the installation object of a stored row and its plain text; throws SlackInstallationError naming the fix when it cannot be read. */
export function openInstallation(sealer: TextSealer, row: Pick<SlackInstallationRow, 'key' | 'data'>): { text: string; installation: Record<string, unknown> } {
  let text: string;
  try {
    text = sealer.open(row.data, row.key);
  } catch (error) {
    const why = error instanceof SealError ? error.message : String(error);
    throw new SlackInstallationError(`cannot read the Slack installation ${row.key}: ${why}; check SLACK_TOKEN_ENCRYPTION_KEY`);
  }
  try {
    return { text, installation: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new SlackInstallationError(`the Slack installation ${row.key} is damaged (not JSON); install the app again in that workspace`);
  }
}
