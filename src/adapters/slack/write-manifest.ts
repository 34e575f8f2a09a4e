/**
 * Writes slack/manifest.json from the command definitions (Socket Mode), or prints an HTTP-mode manifest:
 *   npx tsx src/adapters/slack/write-manifest.ts                      # writes slack/manifest.json
 *   npx tsx src/adapters/slack/write-manifest.ts --check              # exits 1 when the committed file is stale
 *   npx tsx src/adapters/slack/write-manifest.ts --request-url https://bot.example.com/slack/events   # prints
 *   ... --redirect-url https://bot.example.com/slack/oauth_redirect   # prints, for distribution (either mode)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../../commands/index.js';
import { manifestFileText } from './manifest.js';

/** Path of the committed manifest. */
export const MANIFEST_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../slack/manifest.json');

/** Runs the script with the given arguments; returns the process exit code. */
export function writeManifestMain(args: string[]): number {
  const urlAt = args.indexOf('--request-url');
  const redirectAt = args.indexOf('--redirect-url');
  if (urlAt >= 0 || redirectAt >= 0) {
    const requestUrl = urlAt >= 0 ? args[urlAt + 1] : undefined;
    const redirectUrl = redirectAt >= 0 ? args[redirectAt + 1] : undefined;
    if (urlAt >= 0 && (!requestUrl || !/^https:\/\//.test(requestUrl))) {
      console.error('--request-url needs the public https URL of Bolt\'s endpoint, e.g. https://bot.example.com/slack/events');
      return 2;
    }
    if (redirectAt >= 0 && (!redirectUrl || !/^https:\/\/[^/]+\/slack\/oauth_redirect$/.test(redirectUrl))) {
      console.error('--redirect-url needs the public https URL of the install redirect, e.g. https://bot.example.com/slack/oauth_redirect');
      return 2;
    }
    process.stdout.write(manifestFileText(COMMANDS, { ...(requestUrl ? { requestUrl } : {}), ...(redirectUrl ? { redirectUrl } : {}) }));
    return 0;
  }
  const text = manifestFileText(COMMANDS);
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(MANIFEST_PATH, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${MANIFEST_PATH} is stale: run npx tsx src/adapters/slack/write-manifest.ts`);
      return 1;
    }
    return 0;
  }
  writeFileSync(MANIFEST_PATH, text);
  console.log(`wrote ${MANIFEST_PATH}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = writeManifestMain(process.argv.slice(2));
}
