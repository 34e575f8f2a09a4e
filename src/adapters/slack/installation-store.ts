import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import type { SlackInstallationKey, SlackInstallationRecord, SlackInstallationRepo } from '../../store/slack-installations.js';

/** Thrown by fetchInstallation when the workspace (or organisation) has no installation: never installed, or uninstalled. */
export class NotInstalledError extends Error {
  override name = 'NotInstalledError';
}

/** Returns the repository key of a Bolt installation query. */
function keyOf(query: InstallationQuery<boolean>): SlackInstallationKey {
  return {
    isEnterpriseInstall: query.isEnterpriseInstall === true,
    ...(query.teamId ? { teamId: query.teamId } : {}),
    ...(query.enterpriseId ? { enterpriseId: query.enterpriseId } : {}),
  };
}

/** Returns the stored record of a Bolt installation: its searchable facts, and the whole object (tokens included). */
export function recordOf(installation: Installation): SlackInstallationRecord {
  const record: SlackInstallationRecord = {
    isEnterpriseInstall: installation.isEnterpriseInstall === true,
    installation: JSON.parse(JSON.stringify(installation)) as Record<string, unknown>,
  };
  if (installation.team?.id) record.teamId = installation.team.id;
  if (installation.team?.name) record.teamName = installation.team.name;
  if (installation.enterprise?.id) record.enterpriseId = installation.enterprise.id;
  if (installation.appId) record.appId = installation.appId;
  if (installation.bot?.userId) record.botUserId = installation.bot.userId;
  if (installation.user?.id) record.installerUserId = installation.user.id;
  if (installation.bot?.scopes) record.scopes = [...installation.bot.scopes];
  return record;
}

/**
 * Returns Bolt's InstallationStore over our repository: the OAuth callback saves each workspace's installation, Bolt's
 * authorize fetches it for every incoming request (so each workspace is answered with its own bot token), and the
 * uninstall events delete it. Nothing here logs a token.
 */
export function createBoltInstallationStore(repo: SlackInstallationRepo): InstallationStore {
  return {
    async storeInstallation(installation) {
      await repo.save(recordOf(installation as Installation));
    },
    async fetchInstallation(query) {
      const found = await repo.find(keyOf(query));
      if (!found) {
        // Bolt turns this into an AuthorizationError: the request is not answered. The ids say which workspace.
        const which = query.isEnterpriseInstall ? `organisation ${query.enterpriseId}` : `workspace ${query.teamId}`;
        throw new NotInstalledError(`the app is not installed in ${which}`);
      }
      return found.installation as unknown as Installation;
    },
    async deleteInstallation(query) {
      await repo.delete(keyOf(query));
    },
  };
}
