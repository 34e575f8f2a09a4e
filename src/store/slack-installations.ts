import { createInstallationRepo, type InstallationRepoOptions } from './repos/installations.js';
import { SealError, type TextSealer } from './sealed-text.js';
import { storeDb, type Store } from './store.js';

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

/** Options for the SQLite repository: a sealer for the tokens, and a clock. */
export type SqliteSlackInstallationOptions = InstallationRepoOptions;

/**
 * Slack installations in the SQLite store (table slack_installations), through the store's own connection: the
 * repository both engines share (see createInstallationRepo), with the same sealing.
 */
export class SqliteSlackInstallationRepo implements SlackInstallationRepo {
  private readonly repo: SlackInstallationRepo;

  constructor(store: Store, options: SqliteSlackInstallationOptions = {}) {
    this.repo = createInstallationRepo(storeDb(store), options);
  }

  save(record: SlackInstallationRecord): Promise<void> {
    return this.repo.save(record);
  }

  find(key: SlackInstallationKey): Promise<SlackInstallationRecord | undefined> {
    return this.repo.find(key);
  }

  delete(key: SlackInstallationKey): Promise<boolean> {
    return this.repo.delete(key);
  }

  list(): Promise<SlackInstallationSummary[]> {
    return this.repo.list();
  }

  count(): Promise<number> {
    return this.repo.count();
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
