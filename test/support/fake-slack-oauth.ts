/** One workspace of the fake Slack: its ids and the bot's identity there. */
export interface FakeSlackTeam {
  id: string;
  name: string;
  /** The bot's user id in this workspace (auth.test's user_id). */
  botUserId: string;
  /** The bot id in this workspace (auth.test's bot_id). */
  botId: string;
}

/** One visit of Slack's consent screen: what the bot asked for. */
export interface FakeSlackInstallRequest {
  clientId: string;
  scopes: string[];
  state?: string;
  redirectUri?: string;
  teamId: string;
  code: string;
  /** Approved org-wide for this Enterprise Grid organisation (the token then speaks for all its workspaces). */
  orgWide?: string;
}

/** What a token is: a workspace's bot token, or one that was revoked (the app was uninstalled). */
export type FakeTokenStatus = { team: FakeSlackTeam; revoked: false } | { team: FakeSlackTeam; revoked: true };

/** The app's credentials the fake's oauth.v2.access accepts (Basic Information > App Credentials). */
export interface FakeSlackApp {
  clientId: string;
  clientSecret: string;
  appId: string;
}

/** The credentials test apps use unless a test gives others. */
export const FAKE_SLACK_APP: FakeSlackApp = { clientId: '1111111111.2222222222', clientSecret: 'fake-client-secret-0123456789abcdef', appId: 'A0001' };

/**
 * The fake's workspaces and OAuth: each bot token belongs to one workspace (tokens nobody issued belong to the default
 * one, as in the tests that predate distribution), the consent screen hands out one-time codes, and oauth.v2.access
 * exchanges a code for a fresh bot token of the workspace that approved it.
 */
export class FakeSlackWorkspaces {
  /** Workspaces by team id; the default one first. */
  readonly teams = new Map<string, FakeSlackTeam>();
  /** Every consent given, oldest first. */
  readonly installs: FakeSlackInstallRequest[] = [];
  readonly app: FakeSlackApp;
  readonly defaultTeam: FakeSlackTeam;
  readonly #tokens = new Map<string, { teamId: string; revoked: boolean }>();
  readonly #codes = new Map<string, FakeSlackInstallRequest>();
  #issued = 0;

  constructor(defaultTeam: FakeSlackTeam, app: FakeSlackApp = FAKE_SLACK_APP) {
    this.defaultTeam = defaultTeam;
    this.app = app;
    this.teams.set(defaultTeam.id, defaultTeam);
  }

  /** Adds (or returns) a workspace; its bot gets ids of its own. */
  team(id: string, name = `Workspace ${id}`): FakeSlackTeam {
    let team = this.teams.get(id);
    if (!team) this.teams.set(id, (team = { id, name, botUserId: `U${id}BOT`, botId: `B${id}BOT` }));
    return team;
  }

  /** The workspace a token belongs to and whether it was revoked; undefined without a token. */
  tokenStatus(token: string | undefined): FakeTokenStatus | undefined {
    if (!token) return undefined;
    const known = this.#tokens.get(token);
    if (!known) return { team: this.defaultTeam, revoked: false };
    return { team: this.teams.get(known.teamId)!, revoked: known.revoked as false };
  }

  /** The bot tokens issued for a workspace (oldest first), revoked ones included. */
  tokensOf(teamId: string): string[] {
    return [...this.#tokens].filter(([, t]) => t.teamId === teamId).map(([token]) => token);
  }

  /** Revokes one token (auth.revoke). */
  revokeToken(token: string): void {
    const known = this.#tokens.get(token);
    if (known) known.revoked = true;
  }

  /** Revokes every token of a workspace (what uninstalling the app does). */
  revokeTeam(teamId: string): void {
    for (const t of this.#tokens.values()) if (t.teamId === teamId) t.revoked = true;
  }

  /**
   * Plays the installing user on Slack's consent screen: reads the authorize URL the bot linked to (client_id, scope,
   * state, redirect_uri), approves it for `teamId`, and returns the code and state Slack would put in the redirect.
   */
  approve(authorizeUrl: string, teamId: string, teamName?: string, options: { orgWide?: string } = {}): FakeSlackInstallRequest {
    const url = new URL(authorizeUrl);
    if (url.pathname !== '/oauth/v2/authorize') throw new Error(`fake Slack: not the consent screen: ${url.pathname}`);
    const clientId = url.searchParams.get('client_id') ?? '';
    if (clientId !== this.app.clientId) throw new Error(`fake Slack: unknown client_id ${clientId}`);
    this.team(teamId, teamName);
    const request: FakeSlackInstallRequest = {
      clientId,
      scopes: (url.searchParams.get('scope') ?? '').split(',').filter(Boolean),
      state: url.searchParams.get('state') ?? undefined,
      redirectUri: url.searchParams.get('redirect_uri') ?? undefined,
      teamId,
      code: `code-${teamId}-${++this.#issued}`,
      ...(options.orgWide ? { orgWide: options.orgWide } : {}),
    };
    this.installs.push(request);
    this.#codes.set(request.code, request);
    return request;
  }

  /** Answers oauth.v2.access as Slack does: a code used once, the app's own credentials, the redirect URI it was given. */
  exchange(params: Record<string, any>, basicAuth: string | undefined): Record<string, unknown> {
    let clientId = params.client_id as string | undefined;
    let clientSecret = params.client_secret as string | undefined;
    if (basicAuth) [clientId, clientSecret] = Buffer.from(basicAuth, 'base64').toString('utf8').split(':');
    if (clientId !== this.app.clientId) return { ok: false, error: 'invalid_client_id' };
    if (clientSecret !== this.app.clientSecret) return { ok: false, error: 'bad_client_secret' };
    const request = this.#codes.get(String(params.code ?? ''));
    if (!request) return { ok: false, error: 'invalid_code' };
    this.#codes.delete(request.code);
    if (request.redirectUri && params.redirect_uri !== request.redirectUri) return { ok: false, error: 'bad_redirect_uri' };
    const team = this.teams.get(request.teamId)!;
    const token = `xoxb-${team.id}-${++this.#issued}-fake`;
    this.#tokens.set(token, { teamId: team.id, revoked: false });
    return {
      ok: true,
      app_id: this.app.appId,
      authed_user: { id: `U${team.id}ADMIN` },
      scope: request.scopes.join(','),
      token_type: 'bot',
      access_token: token,
      bot_user_id: team.botUserId,
      ...(request.orgWide
        ? { team: null, enterprise: { id: request.orgWide, name: `Org ${request.orgWide}` }, is_enterprise_install: true }
        : { team: { id: team.id, name: team.name }, enterprise: null, is_enterprise_install: false }),
    };
  }
}

/** What installing through the bot's pages produced. */
export interface InstalledWorkspace {
  teamId: string;
  /** The consent the fake recorded (scopes asked for, state). */
  request: FakeSlackInstallRequest;
  /** The bot token the fake issued for the workspace. */
  token: string;
  /** The redirect page's status and text. */
  status: number;
  page: string;
}

/** Returns a cookie's value from a response's Set-Cookie headers. */
export function cookieValue(response: Response, name: string): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const [key, ...value] = pair!.split('=');
    if (key?.trim() === name) return value.join('=').trim();
  }
  return undefined;
}

/**
 * Installs the app in a workspace the way a browser does: GET /slack/install (the state cookie and the "Add to Slack"
 * link), approval on the fake's consent screen, then GET /slack/oauth_redirect?code=...&state=... with the cookie,
 * which makes the bot call the fake's oauth.v2.access.
 */
export async function installThroughPages(
  botOrigin: string,
  workspaces: FakeSlackWorkspaces,
  teamId: string,
  teamName?: string,
  options: { orgWide?: string } = {},
): Promise<InstalledWorkspace> {
  const landing = await fetch(`${botOrigin}/slack/install`, { redirect: 'manual' });
  if (landing.status !== 200) throw new Error(`GET /slack/install answered ${landing.status}`);
  const state = cookieValue(landing, 'slack-app-oauth-state');
  if (!state) throw new Error('GET /slack/install set no state cookie');
  const html = await landing.text();
  const href = html.match(/href="([^"]*\/oauth\/v2\/authorize[^"]*)"/)?.[1];
  if (!href) throw new Error(`no consent screen link in the install page: ${html.slice(0, 300)}`);
  const request = workspaces.approve(href.replace(/&amp;/g, '&'), teamId, teamName, options);
  const before = new Set(workspaces.tokensOf(teamId));
  const redirect = await fetch(`${botOrigin}/slack/oauth_redirect?code=${encodeURIComponent(request.code)}&state=${encodeURIComponent(request.state ?? '')}`, {
    headers: { cookie: `slack-app-oauth-state=${state}` },
    redirect: 'manual',
  });
  const page = await redirect.text();
  const token = workspaces.tokensOf(teamId).find((t) => !before.has(t)) ?? '';
  return { teamId, request, token, status: redirect.status, page };
}
