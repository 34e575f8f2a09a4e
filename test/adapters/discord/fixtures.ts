import type { Answer } from '../../../src/core/answer-model.js';
import { buildAnswer, buildRef } from '../../support/fake-discord-service.js';

/** A hostile title: a mass mention, a role mention and a masked link. */
export const HOSTILE_TITLE = '@everyone <@&123> [x](https://evil)';

/** Returns an answer with a 20,000-character summary and 60 sources (far past every Discord limit). */
export function hugeAnswer(): Answer {
  const sentence = 'Investigators followed the money through many exchanges and shell companies across several countries. ';
  const summary = sentence.repeat(Math.ceil(20_000 / sentence.length)).slice(0, 20_000);
  return buildAnswer({
    ref: { id: 'test:huge', title: 'An incident with a very long summary', url: 'https://example.org/huge' },
    summary,
    sources: Array.from({ length: 60 }, (_, i) => ({
      url: `https://example.org/reports/${i}/${'segment-'.repeat(5)}`,
      title: `Report number ${i} about the incident with a long descriptive title`,
      publisher: 'Example Publisher',
      published: '2024-05-01',
    })),
  });
}

/** Returns an answer whose title, summary, facts and sources all carry the hostile title. */
export function hostileAnswer(): Answer {
  return buildAnswer({
    ref: { id: 'test:hostile', title: HOSTILE_TITLE, blurb: HOSTILE_TITLE },
    summary: `${HOSTILE_TITLE} and @here`,
    facts: [{ label: 'Who', value: HOSTILE_TITLE }],
    sources: [{ url: 'https://example.org/real', title: HOSTILE_TITLE, publisher: '@here' }],
    related: [buildRef({ id: 'test:r', title: HOSTILE_TITLE })],
  });
}

/** Returns the masked links Discord would render live (`[text](url)` whose brackets are not escaped). */
export function liveMaskedLinks(text: string): { label: string; url: string }[] {
  return [...text.matchAll(/(?<!\\)\[((?:\\.|[^\]\\])*)(?<!\\)\]\((\S+?)\)/g)].map((m) => ({ label: m[1], url: m[2] }));
}

/** Returns URLs Discord would autolink in text outside masked links (`scheme://` not escaped). */
export function bareUrls(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s<)\]]+/g)].map((m) => m[0]);
}

/** Returns mention syntax Discord would render as a mention (not backslash-escaped). */
export function unescapedMentions(text: string): string[] {
  return [...text.matchAll(/(?<!\\)@(?:everyone|here)|(?<!\\)<(?:@[!&]?|#)\d+>/g)].map((m) => m[0]);
}
