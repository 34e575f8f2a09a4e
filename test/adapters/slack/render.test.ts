import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answerToBlocks,
  errorToBlocks,
  escapeMrkdwn,
  fitEscaped,
  helpToBlocks,
  linkMrkdwn,
  listToBlocks,
  messageSize,
  RENDER_BUDGET,
  SLACK_LIMITS,
  slackUrl,
  type SlackMessage,
} from '../../../src/adapters/slack/render.js';
import type { AnswerSource, IncidentRef } from '../../../src/core/answer-model.js';
import { checkMessage, messageTexts } from '../../support/fake-slack-blocks.js';
import { buildAnswer } from '../../support/fake-slack-service.js';

const HOSTILE = '<!channel> @here <https://evil.example|click> <@U123> <!subteam^S1> &amp;';

function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
}

function assertValid(message: SlackMessage): void {
  assert.deepEqual(checkMessage(message), []);
  assert.ok(messageSize(message) <= RENDER_BUDGET, `message is ${messageSize(message)} characters, budget ${RENDER_BUDGET}`);
  assert.ok(message.text.trim().length > 0, 'text fallback is empty');
}

/** Every `<...>` control sequence in the message must be one of our own links. */
function assertNoControlSequencesExceptLinks(message: SlackMessage): void {
  for (const text of messageTexts(message)) {
    for (const seq of text.match(/<[^>]*>/g) ?? []) {
      assert.match(seq, /^<https?:\/\/[^|<>\s]+\|[^|<>]*>$/, `unexpected control sequence ${seq} in ${text}`);
    }
    assert.doesNotMatch(text, /<[!@#]/);
  }
}

function source(i: number, extra: Partial<AnswerSource> = {}): AnswerSource {
  return { url: `https://news.example.com/story/${i}?a=1&b=2`, title: `Story number ${i} about the incident`, publisher: 'Example News', ...extra };
}

function ref(i: number, extra: Partial<IncidentRef> = {}): IncidentRef {
  return { id: `seed:r${i}`, title: `Incident ${i}`, kind: 'incident', date: '2021', blurb: `Blurb ${i}.`, url: `https://ex.com/${i}`, ...extra };
}

describe('escapeMrkdwn', () => {
  it('escapes &, < and > and nothing else', () => {
    assert.equal(escapeMrkdwn('a & b <c> *d* _e_'), 'a &amp; b &lt;c&gt; *d* _e_');
  });
});

describe('fitEscaped', () => {
  it('returns short text escaped and unchanged otherwise', () => {
    assert.equal(fitEscaped('Sky ECC & EncroChat', 100), 'Sky ECC &amp; EncroChat');
  });
  it('cuts at a word boundary with an ellipsis within the limit', () => {
    const out = fitEscaped(words(100), 50);
    assert.ok(out.length <= 50);
    assert.match(out, /word\d+…$/);
  });
  it('never leaves half an entity when cutting', () => {
    const out = fitEscaped('&'.repeat(100), 23);
    assert.ok(out.length <= 23);
    assert.match(out, /^(&amp;)*…$/);
  });
  it('never splits a surrogate pair', () => {
    const out = fitEscaped('🔥'.repeat(100), 10);
    assert.doesNotMatch(out, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('slackUrl and linkMrkdwn', () => {
  it('accepts only http(s) URLs', () => {
    assert.equal(slackUrl('javascript:alert(1)'), undefined);
    assert.equal(slackUrl('file:///etc/passwd'), undefined);
    assert.equal(slackUrl('https://ex.com/a b'), undefined);
    assert.equal(slackUrl('https://ex.com/a?x=1&y=2'), 'https://ex.com/a?x=1&amp;y=2');
  });
  it('percent-encodes characters that would end the link early', () => {
    assert.equal(slackUrl('https://ex.com/a|b>c'), 'https://ex.com/a%7Cb%3Ec');
  });
  it('escapes the title and removes |', () => {
    assert.equal(linkMrkdwn('https://ex.com/', 'a|b <!here>'), '<https://ex.com/|a b &lt;!here&gt;>');
  });
  it('falls back to the escaped title without a usable URL', () => {
    assert.equal(linkMrkdwn('ftp://ex.com/', 'T & U'), 'T &amp; U');
  });
});

describe('answerToBlocks', () => {
  it('renders header, summary, facts as fields and sources as links, with a text fallback', () => {
    const message = answerToBlocks(buildAnswer());
    assertValid(message);
    assert.equal(message.blocks[0].type, 'header');
    assert.equal((message.blocks[0] as any).text.text, 'Sky ECC takedown');
    const json = JSON.stringify(message.blocks);
    assert.match(json, /European police decrypted/);
    const fields = message.blocks.find((b) => b.type === 'section' && 'fields' in b) as any;
    assert.equal(fields.fields[0].text, '*When*\n9 March 2021');
    assert.match(json, /<https:\/\/www\.europol\.europa\.eu\/sky\|Europol press release>/);
    assert.match(message.text, /^Sky ECC takedown \(9 March 2021\): European police/);
  });

  it('escapes a hostile title, summary, facts and sources so nothing can ping or link', () => {
    const message = answerToBlocks(
      buildAnswer({
        incident: { ...buildAnswer().incident!, title: HOSTILE, aliases: [HOSTILE] },
        summary: `Summary ${HOSTILE}`,
        quote: { text: HOSTILE, source: { title: HOSTILE, url: 'https://ok.example/' } },
        facts: [{ label: 'Who', value: HOSTILE }],
        sources: [{ title: HOSTILE, url: 'https://ok.example/x' }, { title: 'js', url: 'javascript:alert(1)' }, { title: HOSTILE, publisher: HOSTILE }],
        related: [ref(1, { title: HOSTILE })],
      }),
    );
    assertValid(message);
    assertNoControlSequencesExceptLinks(message);
    assert.match(message.text, /&lt;!channel&gt;/);
    assert.equal((message.blocks[0] as any).text.text.startsWith('&lt;!channel&gt; @here &lt;https://evil.example|click&gt;'), true);
    assert.doesNotMatch(JSON.stringify(message), /javascript:/);
  });

  it('stays within every limit for a 20,000-character summary and 60 sources', () => {
    const message = answerToBlocks(buildAnswer({ summary: words(3000).slice(0, 20_000), sources: Array.from({ length: 60 }, (_, i) => source(i)) }));
    assertValid(message);
    const summary = message.blocks.find((b) => b.type === 'section' && 'text' in b && b.text) as any;
    assert.ok(summary.text.text.length <= SLACK_LIMITS.sectionText);
    assert.match(summary.text.text, /word\d+…$/, 'summary is cut at a word boundary');
    assert.match(JSON.stringify(message), /\+\d+ more/);
  });

  it('stays within every limit when every field is huge', () => {
    const huge = words(4000);
    const message = answerToBlocks(
      buildAnswer({
        query: huge,
        status: 'ambiguous',
        incident: { ...buildAnswer().incident!, title: huge, aliases: [huge, huge, huge], date: huge },
        summary: huge,
        quote: { text: huge, source: source(0, { title: huge, url: `https://ex.com/${'a'.repeat(5000)}` }) },
        facts: Array.from({ length: 25 }, () => ({ label: 'What' as const, value: huge })),
        sources: Array.from({ length: 200 }, (_, i) => source(i, { title: huge, url: `https://ex.com/${'p'.repeat(1500)}${i}` })),
        related: Array.from({ length: 100 }, (_, i) => ref(i, { title: huge })),
        candidates: Array.from({ length: 100 }, (_, i) => ref(i, { title: huge, blurb: huge })),
        suggestions: Array.from({ length: 100 }, () => huge),
      }),
    );
    assertValid(message);
    assert.ok((message.blocks[0] as any).text.text.length <= SLACK_LIMITS.headerText);
  });

  it('stays within limits when the text is all characters that grow when escaped', () => {
    const amp = '&<>'.repeat(5000);
    const message = answerToBlocks(buildAnswer({ summary: amp, facts: [{ label: 'What', value: amp }], sources: [source(1, { title: amp })] }));
    assertValid(message);
  });

  it('renders a not-found answer with suggestions', () => {
    const message = answerToBlocks(
      buildAnswer({ status: 'not-found', incident: undefined, query: 'zzz <!here>', summary: 'No incident matches.', suggestions: ['Sky ECC takedown'] }),
    );
    assertValid(message);
    assertNoControlSequencesExceptLinks(message);
    assert.match(JSON.stringify(message.blocks), /Did you mean \*Sky ECC takedown\*/);
  });

  it('lists the other candidates of an ambiguous answer', () => {
    const message = answerToBlocks(buildAnswer({ status: 'ambiguous', candidates: [ref(1, { id: 'seed:skyecc-2021' }), ref(2), ref(3)] }));
    assertValid(message);
    const json = JSON.stringify(message.blocks);
    assert.match(json, /Other matches/);
    assert.match(json, /Incident 2/);
    assert.doesNotMatch(json, /Incident 1\b/, 'the shown incident is not listed again');
  });
});

describe('listToBlocks', () => {
  it('renders one section per item with its link, date and blurb', () => {
    const message = listToBlocks({ title: 'Recent incidents', items: [ref(1), ref(2, { url: undefined, kind: 'group' })], total: 7 });
    assertValid(message);
    const json = JSON.stringify(message.blocks);
    assert.match(json, /<https:\/\/ex\.com\/1\|Incident 1>/);
    assert.match(json, /Incident 2\* · 2021 · group/);
    assert.match(json, /Showing 1–2 of 7/);
    assert.match(message.text, /^Recent incidents: 2 of 7: Incident 1; Incident 2/);
  });
  it('shows the note when the list is empty', () => {
    const message = listToBlocks({ title: 'Search: zzz', items: [], total: 0, note: 'Nothing matched.' });
    assertValid(message);
    assert.match(JSON.stringify(message.blocks), /Nothing matched\./);
  });
  it('stays within limits for 500 huge hostile items', () => {
    const huge = `${HOSTILE} ${words(2000)}`;
    const items = Array.from({ length: 500 }, (_, i) => ref(i, { title: huge, blurb: huge, date: huge }));
    const message = listToBlocks({ title: huge, items, total: 10_000, note: huge });
    assertValid(message);
    assertNoControlSequencesExceptLinks(message);
    assert.ok(message.blocks.length < SLACK_LIMITS.blocks);
  });
});

describe('helpToBlocks', () => {
  it('shows each entry with its Slack usage', () => {
    const message = helpToBlocks(
      { title: 'incident-bot', entries: [{ usage: 'incidents recent [count] | incidents search <query>', description: 'Lists', help: 'Examples' }] },
      { usageFor: (u) => `/incident ${u.replace(/^incidents /, '')}`, footer: 'Mention me' },
    );
    assertValid(message);
    const json = JSON.stringify(message.blocks);
    assert.match(json, /`\/incident recent \[count\]`  `\/incident search &lt;query&gt;`/);
    assert.match(json, /Mention me/);
  });
});

describe('errorToBlocks', () => {
  it('escapes the message and keeps a fallback', () => {
    const message = errorToBlocks('count must be 1-25 (got "<!here>")');
    assertValid(message);
    assertNoControlSequencesExceptLinks(message);
  });
});
