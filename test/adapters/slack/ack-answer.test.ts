import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ACK_ANSWER_BUDGET_MS } from '../../../src/adapters/slack/listeners/commands.js';
import { createMemoryConversationStore, type ConversationStore } from '../../../src/core/conversation.js';
import { settle, startTestSlackBot, type TestSlackBot } from '../../support/fake-slack-bot.js';
import { slashCommandPayload, unique } from '../../support/fake-slack-payloads.js';

/** A conversation store whose reads can be held: an answer waiting on the store (PostgreSQL, say) past the budget. */
function holdableStore(): { store: ConversationStore; hold(): { entered: Promise<void>; release(): void } } {
  const inner = createMemoryConversationStore();
  let held: { enter(): void; released: Promise<void> } | undefined;
  return {
    store: {
      async get(key) {
        const gate = held;
        if (gate) {
          gate.enter();
          await gate.released;
        }
        return inner.get(key);
      },
      set: (key, context) => inner.set(key, context),
    },
    hold() {
      let enter!: () => void;
      let release!: () => void;
      const entered = new Promise<void>((resolve) => (enter = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      held = { enter, released };
      return {
        entered,
        release: () => {
          held = undefined;
          release();
        },
      };
    },
  };
}

/** Lets pending I/O callbacks and promise jobs run (setImmediate is not among the mocked timers). */
async function turns(n = 50): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

for (const mode of ['socket', 'http'] as const) {
  describe(`Slack slash command answers in ${mode} mode: in the acknowledgement when ready in time`, () => {
    let bot: TestSlackBot;
    const holdable = holdableStore();

    before(async () => {
      bot = await startTestSlackBot(mode, { conversations: holdable.store });
    });
    after(async () => {
      await bot.close();
    });

    /**
     * Sends a command whose answer waits in the store, with setTimeout mocked: proves nothing is acknowledged before
     * the budget runs out, then that the acknowledgement is empty; resolves once it came with what lets the answer go.
     */
    async function commandHeldPastBudget(t: TestContext, url: string): Promise<() => void> {
      const gate = holdable.hold();
      t.mock.timers.enable({ apis: ['setTimeout'] });
      let acked = false;
      const sent = bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: url, channel_id: unique('C') })).then(() => {
        acked = true;
      });
      await gate.entered;
      t.mock.timers.tick(ACK_ANSWER_BUDGET_MS - 1);
      await turns();
      assert.equal(acked, false, 'acknowledged before the answer or the budget');
      t.mock.timers.tick(1);
      await sent;
      assert.deepEqual(bot.fake.responsesTo(url), [], 'the acknowledgement carried something');
      t.mock.timers.reset();
      return gate.release;
    }

    it('answers a fast command in the acknowledgement, ephemeral with its share button, and not again', async () => {
      const url = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: url, channel_id: unique('C') }));
      const [answer] = bot.fake.responsesTo(url);
      assert.ok(answer, 'the acknowledgement carried no answer');
      assert.equal(answer.via, 'ack');
      assert.deepEqual(answer.problems, []);
      assert.equal(answer.body.response_type, 'ephemeral');
      assert.match(answer.body.blocks[0].text.text, /Sky ECC/);
      assert.match(answer.body.text, /Sky ECC/, 'a text fallback');
      assert.equal(answer.body.blocks.at(-1).elements[0].action_id, 'share_in_channel');
      await settle();
      assert.equal(bot.fake.responsesTo(url).length, 1, 'also answered through the response_url');
    });

    it('acknowledges empty once the budget runs out, then answers once through the response_url', async (t) => {
      const url = bot.fake.responseUrl();
      const release = await commandHeldPastBudget(t, url);
      release();
      const answer = await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
      assert.equal(answer.via, 'response_url');
      assert.deepEqual(answer.problems, []);
      assert.equal(answer.body.response_type, 'ephemeral');
      assert.match(answer.body.blocks[0].text.text, /Sky ECC/);
      await settle();
      assert.equal(bot.fake.responsesTo(url).length, 1);
    });

    it('logs an expired response_url without crashing', async (t) => {
      const url = bot.fake.responseUrl();
      bot.fake.failResponseUrl(url, 404);
      const release = await commandHeldPastBudget(t, url);
      release();
      await bot.fake.waitForResponse((r) => url.endsWith(`/${r.id}`));
      for (let i = 0; i < 100 && !bot.logs.some((l) => l.level === 'error' && l.text.includes('HTTP 404')); i += 1) await settle(10);
      assert.ok(bot.logs.some((l) => l.level === 'error' && l.text.includes('HTTP 404')), 'the failed response_url is logged');
      const again = bot.fake.responseUrl();
      await bot.driver.command(slashCommandPayload({ text: 'skyecc', response_url: again }));
      assert.equal(bot.fake.responsesTo(again)[0]?.body.response_type, 'ephemeral', 'the next command is answered');
    });
  });
}
