import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIST_COUNT } from '../../commands/incidents.js';
import { routeText } from '../../commands/index.js';
import {
  MAX_PAGED_COMMAND_CHARS,
  pageRange,
  pagedCommandInput,
  pagedCommandOf,
  pagedCommandText,
  parsePagedCommand,
  type PagedCommand,
} from '../../src/adapters/paging.js';
import { buildRefs } from '../support/fake-lists.js';

describe('paged commands', () => {
  it('writes and reads back each paged command exactly', () => {
    const commands: PagedCommand[] = [
      { name: 'incident', query: 'which groups use mimikatz' },
      { name: 'incident', query: 'incidents recent 5' },
      { name: 'incidents', subcommand: 'search', query: 'microsoft since:2025 kind:vulnerability' },
      { name: 'incidents', subcommand: 'recent', count: 7 },
    ];
    for (const command of commands) assert.deepEqual(parsePagedCommand(pagedCommandText(command)), command);
  });

  it('reads nothing but the list commands, and nothing too long to carry', () => {
    for (const text of ['alerts remove all', 'feeds add https://x', 'help', 'incidents recent many', 'incidents', 'incident', '', `incident ${'w'.repeat(MAX_PAGED_COMMAND_CHARS)}`]) {
      assert.equal(parsePagedCommand(text), undefined, text);
    }
  });

  it('knows which commands page, as routed from text', () => {
    const of = (text: string) => {
      const routed = routeText(text);
      return pagedCommandOf(routed.command.definition.name, routed.input);
    };
    assert.deepEqual(of('which groups use mimikatz'), { name: 'incident', query: 'which groups use mimikatz' });
    assert.deepEqual(of('search microsoft'), { name: 'incidents', subcommand: 'search', query: 'microsoft' });
    assert.deepEqual(of('recent'), { name: 'incidents', subcommand: 'recent', count: DEFAULT_LIST_COUNT });
    assert.deepEqual(of('incidents recent 5'), { name: 'incidents', subcommand: 'recent', count: 5 });
    assert.equal(of('help'), undefined);
    assert.equal(of('alerts list'), undefined);
    assert.equal(of(`incident ${'w'.repeat(MAX_PAGED_COMMAND_CHARS)}`), undefined);
  });

  it('asks a paged command again with its cursor', () => {
    assert.deepEqual(pagedCommandInput({ name: 'incidents', subcommand: 'search', query: 'x' }, 'c1'), { name: 'incidents', input: { subcommand: 'search', options: { query: 'x' }, cursor: 'c1' } });
    assert.deepEqual(pagedCommandInput({ name: 'incident', query: 'x' }), { name: 'incident', input: { options: { query: 'x' } } });
  });

  it('says the range of a page', () => {
    assert.equal(pageRange({ title: '', intro: '', items: buildRefs(10), total: 37, cursor: 'c' }, 11), 'Showing 11–20 of 37');
    assert.equal(pageRange({ title: '', intro: '', items: buildRefs(3), total: 3 }, 1), '3 in all');
    assert.equal(pageRange({ title: '', intro: '', items: [], total: 0 }, 1), '0 in all');
  });
});
