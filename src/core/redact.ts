/**
 * Credentials in URLs. Feed URLs are stored as given (the fetcher needs them), but wherever one is shown (chat
 * replies, notices, feed lists and status, logs) its user info and secret-looking query values are replaced.
 */

/** What a redacted part is replaced with. */
export const REDACTED = '***';

/**
 * Query keys whose values are secrets, compared without case and punctuation ("api_key", "API-Key" and "apikey" are
 * one key). Keys that end with one of these (e.g. "feed_token", "client_secret", "X-Amz-Signature") count too.
 */
const SECRET_KEYS = ['apikey', 'key', 'token', 'accesstoken', 'sig', 'signature', 'secret', 'password', 'passwd', 'pwd', 'auth', 'credential', 'credentials', 'session', 'sessionid'];

function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEYS.some((s) => k === s || k.endsWith(s));
}

/**
 * Returns the URL with `user:pass@` and secret query values replaced by `***` ("https://***@host/feed?token=***").
 * Text that does not parse as a URL is returned with anything that looks like user info replaced.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@\s]*@/g, `//${REDACTED}@`);
  }
  let changed = false;
  if (u.username || u.password) {
    u.username = REDACTED;
    u.password = '';
    changed = true;
  }
  for (const key of new Set(u.searchParams.keys())) {
    if (!isSecretKey(key)) continue;
    // set() keeps the first position and drops repeats: every value of the key is hidden.
    u.searchParams.set(key, REDACTED);
    changed = true;
  }
  if (!changed) return url;
  // URLSearchParams encodes "*" as "%2A"; the marker reads better unencoded.
  return u.href.replaceAll('%2A%2A%2A', REDACTED);
}

/** Matches URLs inside free text (error messages, log lines); stops at whitespace, quotes and angle brackets. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Returns the text with every URL in it redacted (see redactUrl); cheap when the text holds no URL. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (m) => {
    // A URL at the end of a sentence keeps its full stop or closing bracket outside.
    const trail = /[.,;:!?)\]]+$/.exec(m)?.[0] ?? '';
    const core = trail ? m.slice(0, -trail.length) : m;
    return redactUrl(core) + trail;
  });
}
