import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { COMMANDS, type CommandContext } from '../../../commands/index.js';
import { handleConsoleLine, NOTHING_MORE_TEXT, runConsole, type ConsoleSession } from '../../../src/adapters/console/console.js';
import { MORE_HINT } from '../../../src/adapters/console/render.js';
import type { Comparison } from '../../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../../src/core/conversation.js';
import { parseIncident } from '../../../src/core/incident.js';
import { buildRefs } from '../../support/fake-lists.js';
import { createFakeSlackService, FAKE_SLACK_INCIDENTS } from '../../support/fake-slack-service.js';

const MOVEIT = parseIncident({ id: 'seed:moveit-2023', kind: 'incident', title: 'MOVEit Transfer mass exploitation', aliases: ['MOVEit'], summary: 'A zero-day in MOVEit Transfer was exploited.' });
const CLOP = parseIncident({ id: 'group:cl0p', kind: 'group', title: 'Cl0p', aliases: ['Clop'], summary: 'Cl0p is a ransomware and extortion group.' });

const COMPARISON: Comparison = {
  left: { ref: { id: 'group:apt28', title: 'APT28', kind: 'group', date: '2004', blurb: 'GRU.' }, facts: [{ label: 'Who', value: 'Russia (GRU)' }] },
  right: { ref: { id: 'group:apt29', title: 'APT29', kind: 'group', date: '2008', blurb: 'SVR.', url: 'https://example.org/apt29' }, facts: [{ label: 'Who', value: 'Russia (SVR)' }] },
  shared: [{ label: 'Tools', values: ['Mimikatz', 'Cobalt Strike'] }],
};

function service() {
  return createFakeSlackService({
    incidents: [...FAKE_SLACK_INCIDENTS, MOVEIT, CLOP],
    lists: { 'which groups use mimikatz': buildRefs(37, 'grp'), ransomware: buildRefs(12, 'r') },
    comparisons: { 'apt28 vs apt29': COMPARISON },
    resolve: (query, context) => (/\bbehind (it|that)\b/i.test(query) && context?.recordId === 'seed:moveit-2023' ? 'Cl0p' : undefined),
  });
}

function numbered(text: string): number[] {
  return [...text.matchAll(/^ ?(\d+)\. /gm)].map((m) => Number(m[1]));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('console lists, more and comparisons', () => {
  const fake = service();
  const ctx: CommandContext = { incidents: fake, commands: COMMANDS };

  it('numbers a list, and "more" shows the next pages of the same question until the last', async () => {
    const session: ConsoleSession = {};
    const first = await handleConsoleLine('which groups use mimikatz', ctx, session);
    assert.deepEqual(numbered(first), range(1, 10));
    assert.match(first, /^ 1\. Item 1 \(2001\) \[grp:1\]$/m);
    assert.match(first, new RegExp(`Showing 1–10 of 37\\. ${MORE_HINT.replace(/[."]/g, '\\$&')}$`));
    const second = await handleConsoleLine('more', ctx, session);
    assert.deepEqual(numbered(second), range(11, 20));
    assert.equal(fake.views.at(-1)!.query, 'which groups use mimikatz', 'the same question');
    assert.ok(fake.views.at(-1)!.cursor, 'with the cursor of the page before');
    // A question in between does not lose the list.
    await handleConsoleLine('skyecc', ctx, session);
    assert.deepEqual(numbered(await handleConsoleLine('more', ctx, session)), range(21, 30));
    const last = await handleConsoleLine('MORE', ctx, session);
    assert.deepEqual(numbered(last), range(31, 37));
    assert.doesNotMatch(last, /Type "more"/, 'no hint on the last page');
    assert.equal(await handleConsoleLine('more', ctx, session), NOTHING_MORE_TEXT);
  });

  it('pages /incidents search as well, and says when there is no list to page', async () => {
    const session: ConsoleSession = {};
    assert.equal(await handleConsoleLine('more', ctx, session), NOTHING_MORE_TEXT);
    const first = await handleConsoleLine('/incidents search ransomware', ctx, session);
    assert.match(first, /^Search: ransomware/);
    assert.deepEqual(numbered(await handleConsoleLine('more', ctx, session)), range(11, 12));
  });

  it('shows a comparison as two labelled blocks and what both share', async () => {
    const text = await handleConsoleLine('APT28 vs APT29', ctx, {});
    assert.match(text, /^APT28 vs APT29\n=+\n/);
    assert.match(text, /\nAPT28 \(2004\) \[group:apt28\] \(group\)\n  Who  Russia \(GRU\)\n/);
    assert.match(text, /\nAPT29 \(2008\) \[group:apt29\] \(group\)\n  Who  Russia \(SVR\)\n  https:\/\/example\.org\/apt29\n/);
    assert.match(text, /\nBoth:\n  Tools: Mimikatz, Cobalt Strike$/);
  });
});

describe('console conversations', () => {
  async function session(lines: string[], conversations = createMemoryConversationStore()): Promise<string> {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const done = runConsole({ service: service(), commands: COMMANDS, input, output, conversations });
    input.write(`${[...lines, 'exit'].join('\n')}\n`);
    await done;
    return written;
  }

  it('a follow-up resolves against the session\'s last answer; another session does not share it', async () => {
    const store = createMemoryConversationStore();
    const first = await session(['what happened with MOVEit?', 'who was behind it?'], store);
    assert.match(first, /Cl0p {2}\[group:cl0p\]/, "resolved against MOVEit");
    const second = await session(['who was behind it?'], store);
    assert.doesNotMatch(second, /Cl0p/, 'a new session starts without context');
  });
});
