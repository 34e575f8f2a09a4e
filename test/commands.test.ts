import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, routeText, type Command, type CommandContext, type HelpReply, type Reply } from '../commands/index.js';
import { createIncidentService } from '../src/core/create-service.js';
import { BUNDLED_DATA_DIR, loadIncidentDir } from '../src/core/load-data.js';

const ctx: CommandContext = { incidents: createIncidentService(loadIncidentDir(BUNDLED_DATA_DIR)), commands: COMMANDS };

/** Returns the reply to a line of text, routed and handled as the console and Slack do. */
async function replyTo(text: string, context: CommandContext = ctx): Promise<Reply> {
  const { command, input } = routeText(text);
  return command.handle(input, context);
}

describe('routeText', () => {
  const cases: [string, string, string | undefined, Record<string, string | number | undefined>][] = [
    ['/incident skyecc', 'incident', undefined, { query: 'skyecc' }],
    ['incident   Operation Argus', 'incident', undefined, { query: 'Operation Argus' }],
    ['incidents recent 5', 'incidents', 'recent', { count: '5' }],
    ['/incidents recent', 'incidents', 'recent', {}],
    ['recent', 'incidents', 'recent', {}],
    ['recent 3', 'incidents', 'recent', { count: '3' }],
    ['search ransomware since:2023', 'incidents', 'search', { query: 'ransomware since:2023' }],
    ['incidents search tag:takedown', 'incidents', 'search', { query: 'tag:takedown' }],
    ['INCIDENTS Search Sky ECC', 'incidents', 'search', { query: 'Sky ECC' }],
    ['/incident recent 3', 'incidents', 'recent', { count: '3' }],
    ['/incident search labhost', 'incidents', 'search', { query: 'labhost' }],
    ['help', 'help', undefined, {}],
    ['/help', 'help', undefined, {}],
    ['/incident help', 'help', undefined, {}],
    ['what happened with Sky ECC?', 'incident', undefined, { query: 'what happened with Sky ECC?' }],
    ['how many users did Sky ECC have?', 'incident', undefined, { query: 'how many users did Sky ECC have?' }],
  ];
  for (const [text, name, subcommand, options] of cases) {
    it(`routeText sends "${text}" to ${name}${subcommand ? ` ${subcommand}` : ''}`, () => {
      const { command, input } = routeText(text);
      assert.equal(command.definition.name, name);
      assert.equal(input.subcommand, subcommand);
      assert.deepEqual(input.options, options);
    });
  }

  it('routeText never throws when given junk', () => {
    for (const text of ['', '   ', '/', '//', '?!.,', '.*+?^${}()|[]\\', 'x'.repeat(10_000), '😀', '\u0000']) {
      const { command } = routeText(text);
      assert.ok(COMMANDS.includes(command), JSON.stringify(text.slice(0, 10)));
    }
  });
});

describe('incident command', () => {
  it('incident answers with Sky ECC when given "/incident skyecc"', async () => {
    const reply = await replyTo('/incident skyecc');
    assert.equal(reply.type, 'answer');
    assert.equal(reply.type === 'answer' && reply.answer.incident?.id, 'seed:skyecc-2021');
  });

  it('incident answers a plain question when routed from free text', async () => {
    const reply = await replyTo('how many users did Sky ECC have?');
    assert.ok(reply.type === 'answer');
    assert.match(reply.answer.quote?.text ?? '', /70,000/);
  });

  it('incident returns an error reply with an example when the query is empty', async () => {
    for (const text of ['/incident', '/incident    ', '']) {
      const reply = await replyTo(text);
      assert.equal(reply.type, 'error', JSON.stringify(text));
      assert.match(reply.type === 'error' ? reply.message : '', /incident skyecc/);
    }
  });
});

describe('incidents command', () => {
  it('incidents recent lists at most count incidents newest first when given a count', async () => {
    const reply = await replyTo('incidents recent 2');
    assert.ok(reply.type === 'list');
    assert.equal(reply.list.items.length, 2);
    assert.equal(reply.list.items[0].kind, 'incident');
  });

  it('incidents recent uses the default count when none is given', async () => {
    const reply = await replyTo('recent');
    assert.ok(reply.type === 'list');
    assert.ok(reply.list.items.length >= 5 && reply.list.items.length <= 10, `${reply.list.items.length}`);
  });

  it('incidents recent accepts a numeric count option when a platform passes a number', async () => {
    const incidents = findCommand('incidents')!;
    const reply = await incidents.handle({ subcommand: 'recent', options: { count: 25 } }, ctx);
    assert.equal(reply.type, 'list');
  });

  for (const bad of ['0', '99', 'abc', '-1', '2.5', '26']) {
    it(`incidents recent returns an error naming the range when count is "${bad}"`, async () => {
      const reply = await replyTo(`incidents recent ${bad}`);
      assert.equal(reply.type, 'error');
      assert.match(reply.type === 'error' ? reply.message : '', /1 to 25/);
      assert.match(reply.type === 'error' ? reply.message : '', new RegExp(bad.replace('.', '\\.')));
    });
  }

  it('incidents search lists matches when given words and a since: filter', async () => {
    const reply = await replyTo('search europol since:2021');
    assert.ok(reply.type === 'list');
    const ids = reply.list.items.map((i) => i.id);
    assert.ok(ids.includes('seed:skyecc-2021'), `got ${ids}`);
    assert.ok(!ids.includes('seed:encrochat-2020'), 'since:2021 leaves out 2020');
  });

  it('incidents search lists the takedowns when the query is a word that also hints a kind ("takedown")', async () => {
    // Three bundled incidents carry "takedown" in their title or tags; the word must still be searched.
    const reply = await replyTo('search takedown');
    assert.ok(reply.type === 'list');
    const ids = reply.list.items.map((i) => i.id);
    assert.ok(ids.includes('seed:skyecc-2021') && ids.includes('seed:encrochat-2020'), `got ${JSON.stringify(ids)}`);
  });

  it('incidents search returns a note when since: is malformed', async () => {
    const reply = await replyTo('search ransomware since:yesterday');
    assert.ok(reply.type === 'list');
    assert.deepEqual(reply.list.items, []);
    assert.match(reply.list.note ?? '', /since:/);
  });

  it('incidents search returns an error reply when the query is empty', async () => {
    const reply = await replyTo('incidents search');
    assert.equal(reply.type, 'error');
  });

  it('incidents returns an error reply when the subcommand is unknown', async () => {
    const reply = await findCommand('incidents')!.handle({ subcommand: 'delete', options: {} }, ctx);
    assert.equal(reply.type, 'error');
  });
});

describe('help command', () => {
  it('help lists every command in COMMANDS with its usage and help', async () => {
    const reply = await replyTo('help');
    assert.ok(reply.type === 'help');
    const entries: HelpReply['entries'] = reply.help.entries;
    assert.equal(entries.length, COMMANDS.length);
    for (const c of COMMANDS) {
      const entry = entries.find((e) => e.usage === c.definition.usage);
      assert.ok(entry, `help lists ${c.definition.name}`);
      assert.equal(entry.description, c.definition.description);
      assert.equal(entry.help, c.definition.help);
    }
  });

  it('help is generated from the definitions when the command list changes', async () => {
    const extra: Command = {
      definition: { name: 'ping', description: 'Checks the bot', usage: 'ping', help: 'Replies pong.', options: [] },
      handle: () => ({ type: 'error', message: 'pong' }),
    };
    const reply = await replyTo('help', { ...ctx, commands: [...COMMANDS, extra] });
    assert.ok(reply.type === 'help');
    assert.ok(reply.help.entries.some((e) => e.usage === 'ping' && e.help === 'Replies pong.'));
  });
});

describe('command definitions', () => {
  it('COMMANDS holds incident, incidents, alerts, feeds and help with unique names', () => {
    const names = COMMANDS.map((c) => c.definition.name);
    assert.deepEqual([...names].sort(), ['alerts', 'feeds', 'help', 'incident', 'incidents']);
    assert.equal(findCommand('INCIDENT'), findCommand('incident'));
    assert.equal(findCommand('nope'), undefined);
  });

  it('command definitions fit platform limits (names 1-32 lower-case chars, descriptions at most 100 chars)', () => {
    const check = (name: string, description: string) => {
      assert.match(name, /^[a-z0-9_-]{1,32}$/, name);
      assert.ok(description.length >= 1 && description.length <= 100, `${name}: ${description.length} chars`);
    };
    for (const c of COMMANDS) {
      check(c.definition.name, c.definition.description);
      assert.ok(c.definition.help.trim().length > 0);
      for (const o of c.definition.options ?? []) check(o.name, o.description);
      for (const s of c.definition.subcommands ?? []) {
        check(s.name, s.description);
        for (const o of s.options) check(o.name, o.description);
      }
    }
  });
});
