/** The Slack adapter's public surface: the adapter factory, the renderers, the manifest generator and OAuth distribution. */
export { createSlackAdapter, SlackConfigError, SLACK_EVENTS_PATH, SLACK_REPLY_RETRY, type SlackAdapter, type SlackAdapterOptions } from './app.js';
export { alertToBlocks, answerToBlocks, helpToBlocks, listToBlocks, errorToBlocks, SLACK_LIMITS, type SlackMessage } from './render.js';
export { ALERT_EVENT_TYPE, createSlackAlertSender, type SlackAlertSender, type SlackAlertSenderOptions } from './alert-sender.js';
export { buildSlackManifest, manifestFileText, slashCommandOf, SLACK_BOT_SCOPES, SLACK_UNINSTALL_EVENTS } from './manifest.js';
export { createSlackDistribution, SLACK_INSTALL_PATH, SLACK_REDIRECT_PATH, type SlackDistribution, type SlackOAuthOptions } from './distribution.js';
