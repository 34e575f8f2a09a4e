import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { buildTuneService } from '../support/tune-records.js';

const service = buildTuneService();
const ctx: CommandContext = { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation: 'ranking' } };

async function ask(query: string): Promise<Answer> {
  const reply = await findCommand('incident')!.handle({ options: { query } }, ctx);
  assert.equal(reply.type, 'answer', JSON.stringify(reply).slice(0, 200));
  return (reply as { answer: Answer }).answer;
}

describe('ranking what people type', () => {
  it('a description of something done answers with the incident that tells it, not the group whose profile shares its words', async () => {
    const a = await ask('fake recruiters sending job offer documents to aerospace engineers in norway');
    assert.equal(a.incident?.id, 'tune:C1', JSON.stringify(a).slice(0, 300));
  });

  it('a name of several words typed with a slip or as it sounds in each word finds that name', async () => {
    assert.equal((await ask('nite falcon')).incident?.id, 'tune:C2');
    assert.equal((await ask('nigth falcon')).incident?.id, 'tune:C2');
    assert.equal((await ask('gray falcon')).incident?.id, 'tune:G3');
  });

  it('two typed words that a name writes as one find it', async () => {
    assert.equal((await ask('silver birch operation')).incident?.id, 'tune:C3');
  });

  it('a campaign named by most of its words outranks the group and the flaw whose texts carry them', async () => {
    assert.equal((await ask('vantor plc defacements')).incident?.id, 'tune:C4');
  });

  it('a plural that is part of one record\'s name names that record; asked with "which" or alone it lists', async () => {
    const named = await ask('brightline transfer zero-days');
    assert.equal(named.status, 'found');
    assert.equal(named.incident?.id, 'tune:C5');
    assert.equal((await ask('which brightline transfer zero-days')).status, 'list');
    assert.equal((await ask('brightline vulns')).status, 'list');
  });

  it('a description that shares one rare word with a record, and little else, is not answered by it', async () => {
    const a = await ask('keylogger hidden in fake invoices from a forestry supplier in chile');
    assert.ok(a.status === 'not-found' || a.status === 'ambiguous', `${a.status} ${a.incident?.id}`);
    assert.equal((await ask('forestry ministries spear phishing')).incident?.id, 'tune:C3');
  });

  it('every -ing form of a relation verb is grammar, like the others: "abusing X" searches for X', async () => {
    const a = await ask('crews abusing loomkey');
    assert.equal(a.status, 'list');
    assert.deepEqual((a.items ?? []).map((i) => i.id), ['tune:G1']);
  });

  it('a question naming a record of two words in passing is about that record, not the group that mentions it', async () => {
    assert.equal((await ask('how long were the actors inside the oil firms before the night falcon thefts')).incident?.id, 'tune:C2');
  });
});
