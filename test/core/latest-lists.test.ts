import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, findCommand, type CommandContext } from '../../commands/index.js';
import type { Answer } from '../../src/core/answer-model.js';
import { createMemoryConversationStore } from '../../src/core/conversation.js';
import { parseIncident } from '../../src/core/incident.js';
import { buildUnderstandService } from '../support/understand-records.js';

const service = buildUnderstandService();

async function ask(query: string): Promise<Answer> {
  const ctx: CommandContext = { incidents: service, commands: COMMANDS, conversations: createMemoryConversationStore(), channel: { platform: 'console', canManageFeeds: false, canManageChannel: false, conversation: query } };
  const reply = await findCommand('incident')!.handle({ options: { query } }, ctx);
  assert.equal(reply.type, 'answer');
  return (reply as { answer: Answer }).answer;
}

describe('lists by time are labelled by what the question asked', () => {
  it('a subject with nothing in the range falls back to the range\'s records, labelled latest and saying so', async () => {
    for (const q of ['crimson kite operations since 2024', 'latest crimson kite operations since january 2024', 'crimson kite campaigns after 2023?']) {
      const a = await ask(q);
      assert.equal(a.status, 'list', q);
      assert.deepEqual(a.items!.map((i) => i.id), ['test:C2'], q);
      assert.equal(a.intent, 'latest', q);
      assert.match(a.summary, /^Nothing linked to Crimson Kite .*the latest campaigns/, q);
    }
  });

  it("a subject's own list stays a list, and a recent one of its own is latest", async () => {
    const own = await ask('which operations relied on harrow');
    assert.equal(own.intent, 'list');
    const recent = await ask('most recent operations relying on harrow');
    assert.equal(recent.intent, 'latest');
    assert.equal(recent.items![0].id, 'test:C2');
  });
});

describe('lists stay current as records arrive and leave', () => {
  it('a record added after the first list is in the next one, by date and by vendor, and a removed one is gone', async () => {
    const fresh = buildUnderstandService();
    const askFresh = async (query: string) => {
      const ctx: CommandContext = { incidents: fresh, commands: COMMANDS, channel: { platform: 'console', canManageFeeds: false, canManageChannel: false } };
      const reply = await findCommand('incident')!.handle({ options: { query } }, ctx);
      return (reply as { answer: Answer }).answer;
    };
    assert.equal((await askFresh('newest acme holes')).items![0].id, 'test:CVE-2023-1111');
    const added = parseIncident({ id: 'test:CVE-2025-3333', kind: 'vulnerability', title: 'Acme Gateway path traversal', date: { value: '2025-02-03', precision: 'day' }, summary: 'A flaw in Acme Gateway.', tags: ['vendor:Acme', 'product:Acme Gateway'], sources: [{ url: 'https://example.org/a' }] });
    const initech = parseIncident({ id: 'test:CVE-2025-4444', kind: 'vulnerability', title: 'Initech Portal bypass', date: { value: '2025-03-01', precision: 'day' }, summary: 'A flaw in Initech Portal.', tags: ['vendor:Initech', 'product:Initech Portal'], sources: [{ url: 'https://example.org/b' }] });
    fresh.upsert([added, initech]);
    assert.equal((await askFresh('newest acme holes')).items![0].id, 'test:CVE-2025-3333');
    assert.deepEqual((await askFresh('initech vulns')).items!.map((i) => i.id), ['test:CVE-2025-4444']);
    assert.equal((await askFresh('anything since 2025?')).items![0].id, 'test:CVE-2025-4444');
    fresh.remove(['test:CVE-2025-3333']);
    assert.equal((await askFresh('newest acme holes')).items![0].id, 'test:CVE-2023-1111');
  });
});
