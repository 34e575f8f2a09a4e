import type { AlertPost } from '../../src/feeds/types.js';

/** A hostile title: mass mentions in both platforms' syntax and masked links in both. */
export const HOSTILE = '@everyone <!channel> [x](https://evil) <https://evil|click>';

/** Returns an alert post for tests, with overrides. */
export function buildAlertPost(overrides: Partial<AlertPost> = {}): AlertPost {
  return {
    postId: 'p1',
    incidentId: 'feed:p1',
    title: 'LockBit affiliate arrested in Poland',
    url: 'https://news.example.com/lockbit-arrest',
    source: 'Example Security News',
    published: '2026-11-25T09:30:00Z',
    summary: 'Police arrested a LockBit affiliate accused of attacks on hospitals.',
    ...overrides,
  };
}
