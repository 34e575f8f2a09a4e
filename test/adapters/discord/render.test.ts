import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ButtonStyle, ComponentType } from 'discord.js';
import { COMMANDS } from '../../../commands/index.js';
import { commandsToDiscordJson, CommandDefinitionError, definitionToDiscordJson } from '../../../src/adapters/discord/command-json.js';
import { toDiscordChoices, optionsToInput } from '../../../src/adapters/discord/interactions.js';
import {
  DISCORD_LIMITS,
  KIND_COLOURS,
  answerToEmbed,
  answerToMessage,
  candidatesToComponents,
  clipText,
  embedLength,
  escapeMarkdown,
  fitMarkdown,
  helpToEmbed,
  listToEmbed,
  messageLimitViolations,
  replyToMessage,
  safeUrl,
} from '../../../src/adapters/discord/render.js';
import { buildAnswer, buildRef, skyEccRecord, SKY_ECC_URL } from '../../support/fake-discord-service.js';
import { bareUrls, hugeAnswer, hostileAnswer, liveMaskedLinks, unescapedMentions } from './fixtures.js';

describe('escapeMarkdown', () => {
  it('makes masked links, mentions and emphasis inert', () => {
    const out = escapeMarkdown('@everyone <@&123> [x](https://evil) **bold** _it_ ~~s~~ ||spoil|| `code`');
    assert.equal(liveMaskedLinks(out).length, 0);
    assert.deepEqual(unescapedMentions(out), []);
    assert.ok(out.includes('\\*\\*bold\\*\\*'), out);
    assert.ok(out.includes('\\|\\|spoil\\|\\|'), out);
    assert.ok(out.includes('\\`code\\`'), out);
  });

  it('escapes headings, lists and quotes only at the start of a line', () => {
    assert.equal(escapeMarkdown('# Title\n- item\n1. first\n> quote'), '\\# Title\n\\- item\n1\\. first\n\\> quote');
    assert.equal(escapeMarkdown('well-known 2021. #1'), 'well-known 2021. #1');
  });

  it('keeps bare URLs intact so they stay clickable', () => {
    const url = 'https://example.org/a_b*c/path_(x)';
    assert.ok(escapeMarkdown(`see ${url} now`).includes('https://example.org/a_b*c/path_(x'), 'the URL is kept verbatim');
  });
});

describe('clipText', () => {
  it('returns short text unchanged', () => {
    assert.equal(clipText('Sky ECC', 100), 'Sky ECC');
  });

  it('cuts at a word boundary with an ellipsis', () => {
    const out = clipText('the quick brown fox jumps over the lazy dog', 20);
    assert.ok(out.length <= 20, out);
    assert.ok(out.endsWith('…'), out);
    assert.equal(out, 'the quick brown fox…');
  });

  it('drops a URL rather than cutting inside it', () => {
    const out = clipText('read https://example.org/a/very/long/path/that/goes/on/and/on', 40);
    assert.equal(out, 'read…');
  });
});

describe('fitMarkdown', () => {
  it('fits the escaped form within the limit even when escaping grows it', () => {
    const text = '*'.repeat(300);
    const out = fitMarkdown(text, 100);
    assert.ok(out.length <= 100, `length ${out.length}`);
    assert.ok(!out.endsWith('\\…'), out);
  });
});

describe('safeUrl', () => {
  it('accepts http(s) and percent-encodes parentheses', () => {
    assert.equal(safeUrl('https://en.wikipedia.org/wiki/Sky_ECC_(service)'), 'https://en.wikipedia.org/wiki/Sky_ECC_%28service%29');
  });

  it('rejects other schemes, garbage and over-long URLs', () => {
    assert.equal(safeUrl('javascript:alert(1)'), undefined);
    assert.equal(safeUrl('not a url'), undefined);
    assert.equal(safeUrl(`https://example.org/${'a'.repeat(3000)}`), undefined);
  });
});

describe('answerToEmbed', () => {
  it('links the title to the best source and shows summary, facts, sources and date', () => {
    const embed = answerToEmbed(skyEccRecord().answer);
    assert.equal(embed.title, 'Sky ECC takedown');
    assert.equal(embed.url, SKY_ECC_URL);
    assert.equal(embed.color, KIND_COLOURS.incident);
    assert.match(embed.description ?? '', /70,000 users/);
    assert.ok(embed.fields?.some((f) => f.name === 'When' && f.value === '9 March 2021'), 'When fact');
    const sources = embed.fields?.find((f) => f.name === 'Sources');
    assert.ok(sources?.value.includes(`](${SKY_ECC_URL})`), String(sources?.value));
    assert.match(embed.footer?.text ?? '', /9 March 2021/);
  });

  it('colours by kind', () => {
    assert.equal(answerToEmbed(buildAnswer({ ref: { kind: 'group' } })).color, KIND_COLOURS.group);
    assert.equal(answerToEmbed(buildAnswer({ ref: { kind: 'vulnerability' } })).color, KIND_COLOURS.vulnerability);
  });

  it('keeps a 20,000-character summary and 60 sources within every limit', () => {
    const answer = hugeAnswer();
    const message = answerToMessage(answer);
    assert.deepEqual(messageLimitViolations(message), []);
    const embed = message.embeds[0];
    assert.ok(embedLength(embed) <= DISCORD_LIMITS.embedTotal, `total ${embedLength(embed)}`);
    assert.ok((embed.description ?? '').endsWith('…'), 'a cut summary ends with an ellipsis');
    const sources = embed.fields?.find((f) => f.name === 'Sources')?.value ?? '';
    assert.match(sources, /\+\d+ more$/);
    // Every source line is whole: each masked link is closed.
    for (const line of sources.split('\n').slice(0, -1)) assert.match(line, /^• \[[^\]]*\]\(https:\/\/[^)]+\)/);
  });

  it('survives the worst data: every field over its limit, hostile URLs, control characters', () => {
    const long = 'word '.repeat(3000);
    const answer = buildAnswer({
      ref: { title: `${'T'.repeat(400)} ${long}`, url: 'javascript:alert(1)' },
      summary: `${'*'.repeat(5000)}\u0000${long}`,
      facts: Array.from({ length: 40 }, (_, i) => ({ label: 'Impact' as const, value: `${i} ${long}` })),
      sources: Array.from({ length: 200 }, (_, i) => ({ url: `https://example.org/${'x'.repeat(1500)}/${i}`, title: long })),
      related: Array.from({ length: 100 }, (_, i) => buildRef({ id: `t:${i}`, title: long })),
      quote: { text: long, source: { title: long, url: 'https://example.org/q' } },
    });
    const message = answerToMessage(answer);
    assert.deepEqual(messageLimitViolations(message), []);
    assert.equal(message.embeds[0].url, undefined, 'a javascript: URL is never linked');
  });

  it('makes a hostile title inert: no mention, no live masked link', () => {
    const embed = answerToEmbed(hostileAnswer());
    const text = [embed.title, embed.description, ...(embed.fields ?? []).flatMap((f) => [f.name, f.value]), embed.footer?.text].join('\n');
    assert.ok(embed.title?.includes('everyone'), String(embed.title));
    assert.deepEqual(unescapedMentions(text), []);
    const links = liveMaskedLinks(text);
    assert.deepEqual(links.filter((l) => l.url.includes('evil')), [], 'no masked link points at the injected URL');
    assert.ok(links.length > 0, 'our own source links are still live');
    assert.deepEqual(links.flatMap((l) => bareUrls(l.label)), [], 'no link label shows a URL');
  });

  it('lists candidates for an ambiguous answer', () => {
    const candidates = [buildRef({ id: 'a:1', title: 'Operation One' }), buildRef({ id: 'a:2', title: 'Operation Two' })];
    const embed = answerToEmbed(buildAnswer({ status: 'ambiguous', query: 'operation', candidates }));
    assert.match(embed.description ?? '', /Operation One[\s\S]*Operation Two/);
  });

  it('shows suggestions for not-found, and marks the message ephemeral', () => {
    const answer = { ...buildAnswer(), status: 'not-found' as const, incident: undefined, suggestions: ['Sky ECC takedown'] };
    const message = answerToMessage(answer);
    assert.equal(message.ephemeral, true);
    assert.match(message.embeds[0].description ?? '', /Sky ECC takedown/);
    assert.equal(message.components[0]?.components[0]?.type, ComponentType.Button);
  });
});

describe('candidatesToComponents', () => {
  it('uses buttons for up to 5 candidates', () => {
    const rows = candidatesToComponents([buildRef({ id: 'a:1' }), buildRef({ id: 'a:2' })]);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].components.map((c) => ('custom_id' in c ? c.custom_id : '')), ['pick:a:1', 'pick:a:2']);
    assert.equal((rows[0].components[0] as { style: number }).style, ButtonStyle.Primary);
  });

  it('uses one select menu for more, within option limits', () => {
    const refs = Array.from({ length: 30 }, (_, i) => buildRef({ id: `a:${i}`, title: 'x'.repeat(300), blurb: 'y'.repeat(300) }));
    const rows = candidatesToComponents(refs);
    assert.equal(rows[0].components[0].type, ComponentType.StringSelect);
    assert.deepEqual(messageLimitViolations({ embeds: [], components: rows }), []);
  });

  it('leaves out candidates whose id would not fit in a custom id', () => {
    assert.deepEqual(candidatesToComponents([buildRef({ id: `a:${'z'.repeat(200)}` })]), []);
  });
});

describe('listToEmbed', () => {
  it('numbers whole entries and says how many more there are', () => {
    const items = Array.from({ length: 200 }, (_, i) => buildRef({ id: `l:${i}`, title: `Incident ${i} ${'long title '.repeat(8)}`, blurb: 'b'.repeat(400), url: `https://example.org/${i}` }));
    const embed = listToEmbed({ title: 'Recent incidents', items, total: 500 });
    assert.deepEqual(messageLimitViolations({ embeds: [embed], components: [] }), []);
    assert.match(embed.description ?? '', /^\*\*1\.\*\* \[Incident 0/);
    assert.match(embed.description ?? '', /\+\d+ more$/);
    assert.equal(embed.footer?.text, 'Showing 1–200 of 500');
  });

  it('says when nothing matched', () => {
    assert.match(listToEmbed({ title: 'Search: zzz', items: [], total: 0 }).description ?? '', /Nothing matched/);
  });
});

describe('helpToEmbed', () => {
  it('has one field per command, usage as the name', () => {
    const embed = helpToEmbed({ title: 'Help', entries: COMMANDS.map((c) => ({ usage: c.definition.usage, description: c.definition.description, help: c.definition.help })) });
    assert.equal(embed.fields?.length, COMMANDS.length);
    assert.ok(embed.fields?.some((f) => f.name.startsWith('/incident')), 'help has an /incident entry');
    assert.deepEqual(messageLimitViolations({ embeds: [embed], components: [] }), []);
  });
});

describe('replyToMessage', () => {
  it('renders errors as ephemeral text with mentions neutralised', () => {
    const message = replyToMessage({ type: 'error', message: 'bad input @everyone' });
    assert.equal(message.ephemeral, true);
    assert.equal(message.content, 'bad input \\@everyone');
  });
});

describe('toDiscordChoices', () => {
  it('keeps at most 25 unique choices with names and values of at most 100 characters', () => {
    const raw = Array.from({ length: 40 }, (_, i) => ({ name: `${'n'.repeat(150)} ${i}`, value: `${i} ${'word '.repeat(30)}` }));
    raw.push({ name: 'dup', value: raw[0].value });
    const choices = toDiscordChoices(raw);
    assert.equal(choices.length, 25);
    for (const c of choices) {
      assert.ok(c.name.length >= 1 && c.name.length <= 100, c.name);
      assert.ok(c.value.length >= 1 && c.value.length <= 100, c.value);
    }
    assert.equal(new Set(choices.map((c) => c.value)).size, choices.length);
  });
});

describe('optionsToInput', () => {
  it('maps a subcommand and its options', () => {
    const input = optionsToInput([{ name: 'recent', type: 1, options: [{ name: 'count', type: 4, value: 5 }] }]);
    assert.deepEqual(input, { subcommand: 'recent', options: { count: 5 } });
  });
});

describe('commandsToDiscordJson', () => {
  it('generates /incident with autocomplete, /incidents with subcommands, and /help', () => {
    const json = commandsToDiscordJson(COMMANDS);
    const incident = json.find((c) => c.name === 'incident');
    assert.deepEqual(incident?.options?.[0], { type: 3, name: 'query', description: incident?.options?.[0]?.description, required: true, autocomplete: true });
    const incidents = json.find((c) => c.name === 'incidents');
    assert.deepEqual(incidents?.options?.map((o) => [o.type, o.name]), [[1, 'recent'], [1, 'search']]);
    const recent = incidents?.options?.[0] as { options: { type: number; min_value?: number; max_value?: number }[] };
    assert.equal(recent.options[0].type, 4);
    assert.equal(recent.options[0].min_value, 1);
    assert.ok(json.some((c) => c.name === 'help'), 'help registered');
    for (const c of json) assert.ok(c.description.length >= 1 && c.description.length <= 100, c.description);
  });

  it('puts required options first and rejects names Discord would refuse', () => {
    const json = definitionToDiscordJson({
      name: 'x',
      description: 'd',
      help: '',
      usage: 'x',
      options: [
        { name: 'opt', description: 'o', type: 'string' },
        { name: 'req', description: 'r', type: 'string', required: true },
      ],
    });
    assert.deepEqual(json.options?.map((o) => o.name), ['req', 'opt']);
    assert.throws(() => definitionToDiscordJson({ name: 'Bad Name', description: 'd', help: '', usage: '' }), CommandDefinitionError);
  });
});
