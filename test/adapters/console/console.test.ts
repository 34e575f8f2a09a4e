import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { COMMANDS, type CommandContext } from '../../../commands/index.js';
import { handleConsoleLine, runConsole } from '../../../src/adapters/console/console.js';
import { answerToText, helpToText, listToText } from '../../../src/adapters/console/render.js';
import type { Answer } from '../../../src/core/answer-model.js';
import { createIncidentService } from '../../../src/core/create-service.js';
import type { IncidentService } from '../../../src/core/incident-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../../../src/core/load-data.js';
import { buildIncident } from '../../fixtures/core/build-incident.js';

const service = createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR));
const ctx: CommandContext = { incidents: service, commands: COMMANDS };

/** Resolves with `promise`, or rejects after `ms` so a hung console fails the test instead of stalling the run. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('handleConsoleLine', () => {
  it('handleConsoleLine answers "/incident skyecc" with the Sky ECC summary and a source URL', async () => {
    const text = await handleConsoleLine('/incident skyecc', ctx);
    assert.match(text, /Sky ECC/);
    assert.match(text, /https:\/\/\S+/);
    assert.match(text, /70,000/);
    assert.match(text, /Sources:/);
  });

  it('handleConsoleLine quotes the answer when given a plain question', async () => {
    const text = await handleConsoleLine('how many users did Sky ECC have?', ctx);
    assert.match(text, /^> .*70,000/m);
  });

  it('handleConsoleLine lists recent incidents numbered when given "/incidents recent"', async () => {
    const text = await handleConsoleLine('/incidents recent', ctx);
    assert.match(text, /^Recent incidents/);
    assert.match(text, /^ 1\. /m);
    assert.match(text, /Sky ECC takedown \(9 March 2021\) \[seed:skyecc-2021\]/);
  });

  it('handleConsoleLine shows every command when given "help"', async () => {
    const text = await handleConsoleLine('help', ctx);
    for (const c of COMMANDS) assert.ok(text.includes(`/${c.definition.usage}`), c.definition.usage);
  });

  it('handleConsoleLine shows an error line when a count is out of range', async () => {
    assert.match(await handleConsoleLine('incidents recent 99', ctx), /^Error: count must be/);
  });

  it('handleConsoleLine reports an error instead of throwing when the service fails', async () => {
    const broken = { ...service, answer: () => { throw new Error('index exploded'); } } as IncidentService;
    const text = await handleConsoleLine('/incident skyecc', { incidents: broken, commands: COMMANDS });
    assert.match(text, /^Error: .*index exploded/);
  });

  it('handleConsoleLine prints a readable message when given junk', async () => {
    for (const line of ['?!.,', '.*+?^${}()|[]\\', '😀', 'x'.repeat(10_000)]) {
      const text = await handleConsoleLine(line, ctx);
      assert.ok(text.length > 0 && text.length < 2000, `${line.slice(0, 10)}: ${text.length} chars`);
    }
  });
});

describe('answerToText', () => {
  const base: Answer = { query: 'q', status: 'not-found', summary: 'Nothing matches "q".', facts: [], sources: [], related: [], candidates: [], suggestions: [] };

  it('answerToText shows "did you mean" when a not-found answer has suggestions', () => {
    const text = answerToText({ ...base, suggestions: ['Sky ECC takedown', 'EncroChat takedown'] });
    assert.match(text, /Nothing matches/);
    assert.match(text, /Did you mean: Sky ECC takedown · EncroChat takedown\?/);
  });

  it('answerToText says several match and lists the others when ambiguous', () => {
    const records = [
      buildIncident({ id: 'test:lantern-group', kind: 'group', title: 'Lantern Spider', summary: 'Lantern Spider is a group. It targets ports.' }),
      buildIncident({ id: 'test:lantern-campaign', title: 'Lantern Spider', summary: 'Lantern Spider hit harbour operators. It stole manifests.' }),
    ];
    const answer = createIncidentService(records).answer('lantern');
    assert.equal(answer.status, 'ambiguous');
    const text = answerToText(answer);
    assert.match(text, /Several incidents match "lantern"/);
    assert.match(text, /Other matches:/);
  });

  it('answerToText renders facts, aliases, sources and related without markup when found', () => {
    const text = answerToText(service.answer('sky ecc'));
    assert.match(text, /^Sky ECC takedown \(9 March 2021\)  \[seed:skyecc-2021\]$/m);
    assert.match(text, /^When +9 March 2021$/m);
    assert.match(text, /^Who +Europol/m);
    assert.match(text, /Also known as: .*Operation Argus/);
    assert.match(text, /^Related:$/m);
    assert.doesNotMatch(text, /\]\(|<\/?[a-z]+>|\(Citation:/);
    for (const line of text.split('\n')) if (!/https?:\/\//.test(line)) assert.ok(line.length <= 130, `line too long: ${line}`);
  });
});

describe('listToText and helpToText', () => {
  it('listToText shows the note when the list is empty', () => {
    const text = listToText({ title: 'Search: x', items: [], total: 0, note: 'No incidents match.' });
    assert.match(text, /^Search: x\n=+\nNo incidents match\.$/);
  });

  it('helpToText renders one block per entry when given help', () => {
    const text = helpToText({ title: 'T', entries: [{ usage: 'ping', description: 'Checks', help: 'Line one\nLine two' }] });
    assert.match(text, /\/ping\n  Checks\n  Line one\n  Line two/);
  });
});

describe('runConsole', () => {
  it('runConsole answers two lines in order and ends on "exit"', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const done = runConsole({ service, commands: COMMANDS, input, output });
    // The input stays open: only "exit" can end the session.
    input.write('/incident skyecc\nrecent 2\nexit\n');
    await within(done, 5000, 'runConsole');
    assert.match(written, /incident-bot console: \d+ records/);
    const sky = written.indexOf('Sky ECC takedown (9 March 2021)  [seed:skyecc-2021]');
    const recent = written.indexOf('Recent incidents');
    assert.ok(sky >= 0, 'the first line was answered');
    assert.ok(recent > sky, 'the second line was answered after the first');
    input.destroy();
  });

  it('runConsole answers nothing after "exit" when lines are pasted together', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const done = runConsole({ service, commands: COMMANDS, input, output });
    input.write('/incident skyecc\nexit\nhelp\n');
    await within(done, 5000, 'runConsole');
    assert.match(written, /Sky ECC takedown/);
    assert.doesNotMatch(written, /Or just type a question/, 'the line after exit was answered');
    input.destroy();
  });

  it('runConsole resolves when the input ends without "exit"', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const done = runConsole({ service, commands: COMMANDS, input, output });
    input.end('what happened with Sky ECC?\n');
    await within(done, 5000, 'runConsole');
    assert.match(written, /Sky ECC takedown/);
  });
});
