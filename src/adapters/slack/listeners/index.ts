import type { App } from '@slack/bolt';
import * as actions from './actions.js';
import * as commands from './commands.js';
import * as events from './events.js';
import type { MentionDeps } from './events.js';

/** Registers every listener kind on the app: the slash command, the app_mention event, the share button. */
export function registerListeners(app: App, deps: MentionDeps): void {
  commands.register(app, deps);
  events.register(app, deps);
  actions.register(app, deps);
}
