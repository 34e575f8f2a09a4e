import type { RequestListener, ServerResponse } from 'node:http';
import { webApi, type AllMiddlewareArgs, type App, type Authorize, type Logger, type SlackEventMiddlewareArgs } from '@slack/bolt';
import { AuthorizationError, defaultCallbackSuccess, InstallProvider, type CallbackOptions, type Installation } from '@slack/oauth';
import { tenantOf, type AlertsService, type AlertTarget } from '../../core/feed-model.js';
import { AlertSendError } from '../../feeds/types.js';
import type { SlackInstallationRepo } from '../../store/slack-installations.js';
import { SlackInstallationError } from '../../store/slack-installations.js';
import { createBoltInstallationStore, NotInstalledError } from './installation-store.js';
import { SLACK_BOT_SCOPES } from './manifest.js';
import type { SlackLogger } from './reply.js';

/** The page that starts an installation (Bolt's default path): a link to Slack's consent screen, with the state cookie set. */
export const SLACK_INSTALL_PATH = '/slack/install';
/** Where Slack sends the installing user back with a code (Bolt's default path); the app's Redirect URL must end with it. */
export const SLACK_REDIRECT_PATH = '/slack/oauth_redirect';

/** What OAuth distribution needs: the app's credentials (Basic Information), the state secret and where installations live. */
export interface SlackOAuthOptions {
  /** SLACK_CLIENT_ID. */
  clientId: string;
  /** SLACK_CLIENT_SECRET. */
  clientSecret: string;
  /** SLACK_STATE_SECRET: signs the OAuth state (CSRF protection of the redirect). */
  stateSecret: string;
  /** SLACK_REDIRECT_URI: the public URL of /slack/oauth_redirect, when the app lists several redirect URLs. */
  redirectUri?: string;
  /** The installations (each workspace's bot token). */
  installations: SlackInstallationRepo;
}

/** OAuth distribution, wired: Bolt's authorize, the install pages, each workspace's token for alerts, and uninstalling. */
export interface SlackDistribution {
  /** Bolt's InstallProvider over our installation store. */
  readonly installer: InstallProvider;
  /** For `new App({ authorize })`: each request is answered with its workspace's bot token. */
  readonly authorize: Authorize<boolean>;
  /** The GET pages of the install flow, by path. */
  readonly pages: Record<string, RequestListener>;
  /** Resolves the workspace and bot token an alert is posted with; throws AlertSendError when there is none. */
  tokenFor(target: AlertTarget | undefined): Promise<{ teamId: string; token: string }>;
  /** Removes a workspace that left: its installation (tokens), then its subscriptions and feed ownerships. */
  forgetWorkspace(teamId: string, why: string): Promise<void>;
  /** Registers the app_uninstalled and tokens_revoked listeners. */
  registerUninstallListeners(app: App): void;
}

/** What createSlackDistribution needs from the adapter. */
export interface SlackDistributionDeps {
  /** Web API base (Slack's, GovSlack's or a fake's): the consent screen lives beside it. */
  apiUrl?: string;
  /** Web API client options for the OAuth calls (oauth.v2.access, auth.test). */
  clientOptions: webApi.WebClientOptions;
  logger: SlackLogger;
  boltLogger: Logger;
  /** Removes a tenant's subscriptions and feed ownerships; absent when feeds are not enabled. */
  alerts?: AlertsService;
  /** Called when a workspace's installation is removed (the alert sender drops its client). */
  onForget?: (teamId: string) => void;
}

/** Returns Slack's consent screen URL for a Web API base: https://slack.com/api/ -> https://slack.com/oauth/v2/authorize. */
export function authorizationUrlFor(apiUrl = 'https://slack.com/api/'): string {
  return new URL('../oauth/v2/authorize', apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`).href;
}

/**
 * Returns OAuth distribution through Bolt's own InstallProvider: `/slack/install` sets a signed state in a cookie and
 * links to Slack's consent screen for the manifest's bot scopes; `/slack/oauth_redirect` checks the state against the
 * cookie, exchanges the code (oauth.v2.access) and saves the installation. Org-wide (Enterprise Grid) installs are
 * refused: each workspace installs the app itself, so that each is one tenant with its own token.
 */
export function createSlackDistribution(options: SlackOAuthOptions, deps: SlackDistributionDeps): SlackDistribution {
  const { logger } = deps;
  const repo = options.installations;
  const installer = new InstallProvider({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    stateSecret: options.stateSecret,
    installationStore: createBoltInstallationStore(repo),
    installUrlOptions: { scopes: [...SLACK_BOT_SCOPES], ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}) },
    authorizationUrl: authorizationUrlFor(deps.apiUrl ?? deps.clientOptions.slackApiUrl),
    logger: deps.boltLogger,
    clientOptions: { ...deps.clientOptions, retryConfig: { retries: 2 } },
  });

  const callbackOptions: CallbackOptions = {
    async afterInstallation(installation, _options, _req, res) {
      if (!installation.isEnterpriseInstall && installation.team?.id) return true;
      // An org-wide token would answer for every workspace of the organisation as one tenant: refused, and revoked.
      const token = installation.bot?.token;
      if (token) await new webApi.WebClient(token, { ...deps.clientOptions, logger: deps.boltLogger }).auth.revoke().catch(() => undefined);
      logger.warn(`Slack: refused an org-wide installation in ${installation.enterprise?.id ?? 'an organisation'}; each workspace installs the app itself`);
      page(res, 400, 'Not installed', 'incident-bot is installed workspace by workspace: org-wide installation is not supported. Install it from each workspace instead.');
      return false;
    },
    async successAsync(installation, installOptions, req, res) {
      const who = installation.user?.id ? ` by ${installation.user.id}` : '';
      logger.info(`Slack: installed in workspace ${installation.team?.name ?? ''} (${installation.team?.id})${who}`);
      defaultCallbackSuccess(installation as Installation, installOptions, req, res);
    },
  };

  const pages: Record<string, RequestListener> = {
    [SLACK_INSTALL_PATH]: (req, res) => void run(res, () => installer.handleInstallPath(req, res)),
    [SLACK_REDIRECT_PATH]: (req, res) => void run(res, () => installer.handleCallback(req, res, callbackOptions)),
  };

  async function run(res: ServerResponse, handler: () => Promise<void>): Promise<void> {
    try {
      await handler();
    } catch (error) {
      logger.error(`Slack: the install page failed: ${(error as Error)?.message ?? String(error)}`);
      if (!res.headersSent) page(res, 500, 'Something went wrong', 'The installation could not start. Please try again later.');
      else res.end();
    }
  }

  async function tokenFor(target: AlertTarget | undefined): Promise<{ teamId: string; token: string }> {
    let teamId = target?.workspaceId ?? (target?.tenant.startsWith('slack:') ? target.tenant.slice('slack:'.length) : undefined);
    if (!teamId) {
      // An operator subscription (SLACK_ALERT_CHANNEL_IDS) names no workspace: unambiguous only with one installed.
      const all = await repo.list();
      if (all.length === 1 && all[0]!.teamId) teamId = all[0]!.teamId;
      else {
        throw new AlertSendError(
          `a channel from SLACK_ALERT_CHANNEL_IDS names no workspace, and ${all.length} workspaces are installed: subscribe it from its workspace with /incident alerts subscribe instead`,
          true,
          60_000,
        );
      }
    }
    try {
      // Bolt's authorize also refreshes a rotating token that is about to expire.
      const auth = await installer.authorize({ teamId, enterpriseId: undefined, isEnterpriseInstall: false });
      if (!auth.botToken) throw new AlertSendError(`the installation of Slack workspace ${teamId} has no bot token; install the app there again`, false);
      return { teamId, token: auth.botToken };
    } catch (error) {
      if (error instanceof AlertSendError) throw error;
      const original = error instanceof AuthorizationError ? error.original : error;
      if (original instanceof NotInstalledError) {
        throw new AlertSendError(`the app is no longer installed in Slack workspace ${teamId}`, false);
      }
      // Unreadable (encrypted with another key) or a store failure: the operator's to fix; kept meanwhile.
      const why = original instanceof SlackInstallationError ? original.message : `cannot read its installation: ${(original as Error)?.message ?? String(original)}`;
      throw new AlertSendError(`Slack workspace ${teamId}: ${why}`, true, 60_000);
    }
  }

  async function forgetWorkspace(teamId: string, why: string): Promise<void> {
    const had = await repo.delete({ teamId, isEnterpriseInstall: false });
    deps.onForget?.(teamId);
    const tenant = tenantOf('slack', teamId)!;
    const removed = await deps.alerts?.removeTenant({ tenant, platform: 'slack', userId: why });
    const what = removed ? `, ${removed.subscriptions} subscriptions (with their pending alerts) and ${removed.feeds} feeds of its own` : '';
    logger.info(`Slack: workspace ${teamId} left (${why}): ${had ? 'its installation (tokens)' : 'no installation was stored'}${what} removed; its audit log is kept`);
  }

  return {
    installer,
    authorize: (source) => installer.authorize(source),
    pages,
    tokenFor,
    forgetWorkspace,
    registerUninstallListeners(app) {
      // Bolt does not authorize these two events (the token may already be gone), so they always reach us.
      app.event('app_uninstalled', async ({ body }: SlackEventMiddlewareArgs<'app_uninstalled'> & AllMiddlewareArgs) => {
        if (body.team_id) await forgetWorkspace(body.team_id, 'app_uninstalled');
      });
      app.event('tokens_revoked', async ({ event, body }: SlackEventMiddlewareArgs<'tokens_revoked'> & AllMiddlewareArgs) => {
        // The bot's token revoked ends the installation; user tokens are not kept (no user scopes are requested).
        if (body.team_id && event.tokens.bot?.length) await forgetWorkspace(body.team_id, 'tokens_revoked');
      });
    },
  };
}

/** Writes a small HTML page (no user input in it). */
function page(res: ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family: sans-serif; text-align: center; padding: 2em"><h2>${title}</h2><p>${text}</p></body></html>`);
}

