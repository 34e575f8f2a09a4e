import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../../commands/index.js';
import { RecentKeys } from '../../../src/adapters/slack/event-dedupe.js';
import { mentionToQuery, slackTextToPlain } from '../../../src/adapters/slack/mention.js';
import { errorToBlocks, SLACK_LIMITS } from '../../../src/adapters/slack/render.js';
import { isShareable, runCommandText, SHARE_VALUE_MAX, withShareButton, withSharedBy } from '../../../src/adapters/slack/reply.js';
import { describeSlackError, slackErrorCode } from '../../../src/adapters/slack/slack-errors.js';
import { recordingLogger } from '../../support/fake-slack-bot.js';
import { buildAnswer, createFakeSlackService } from '../../support/fake-slack-service.js';

describe('mentionToQuery', () => {
  it('strips the bot mention and keeps the question', () => {
    assert.equal(mentionToQuery('<@UBOT> what happened with Sky ECC?', 'UBOT'), 'what happened with Sky ECC?');
    assert.equal(mentionToQuery('hey <@UBOT|incident-bot>   skyecc', 'UBOT'), 'hey skyecc');
  });
  it('drops other mentions and special mentions, keeps channel names and link labels', () => {
    assert.equal(mentionToQuery('<@UBOT> <!here> ask <@U42> about <#C1|ops> and <https://ex.com|this report>', 'UBOT'), 'ask about #ops and this report');
  });
  it('undoes Slack escaping', () => {
    assert.equal(mentionToQuery('<@UBOT> AT&amp;T &lt;breach&gt;', 'UBOT'), 'AT&T <breach>');
  });
  it('strips a leading mention when the bot user id is unknown', () => {
    assert.equal(mentionToQuery('<@UOTHER> recent 5'), 'recent 5');
  });
  it('returns an empty string for a bare mention', () => {
    assert.equal(mentionToQuery('<@UBOT>', 'UBOT'), '');
  });
});

describe('RecentKeys', () => {
  it('reports a key seen before', () => {
    const keys = new RecentKeys(10);
    assert.equal(keys.seen('Ev1'), false);
    assert.equal(keys.seen('Ev1'), true);
  });
  it('reports a hit on any of several keys and records them all', () => {
    const keys = new RecentKeys(10);
    keys.seen('Ev1', 'C1:1.0');
    assert.equal(keys.seen('Ev2', 'C1:1.0'), true);
    assert.equal(keys.seen('Ev2'), true);
  });
  it('forgets the least recently seen key beyond its capacity', () => {
    const keys = new RecentKeys(2);
    keys.seen('a');
    keys.seen('b');
    keys.seen('a'); // refreshed: b is now the oldest
    keys.seen('c');
    assert.equal(keys.size, 2);
    assert.equal(keys.seen('a'), true);
    assert.equal(keys.seen('b'), false);
  });
  it('ignores empty keys and refuses a bad capacity', () => {
    const keys = new RecentKeys(2);
    assert.equal(keys.seen(undefined, ''), false);
    assert.equal(keys.size, 0);
    assert.throws(() => new RecentKeys(0), RangeError);
  });
});

describe('describeSlackError', () => {
  const platform = (error: string) => Object.assign(new Error(`An API error occurred: ${error}`), { code: 'slack_webapi_platform_error', data: { ok: false, error } });
  it('names the method, channel, code and fix', () => {
    const line = describeSlackError(platform('channel_not_found'), { method: 'chat.postMessage', channel: 'C1' });
    assert.equal(slackErrorCode(platform('x')), 'x');
    assert.match(line, /^Slack refused chat\.postMessage in channel C1: channel_not_found \(the channel does not exist/);
    assert.match(describeSlackError(platform('not_in_channel'), { method: 'chat.postMessage' }), /invite it with \/invite @incident-bot/);
  });
  it('keeps an unknown code as is', () => {
    assert.equal(describeSlackError(platform('brand_new_error'), { method: 'm' }), 'Slack refused m: brand_new_error');
  });
  it('describes an expired response_url', () => {
    const error = Object.assign(new Error('Failed'), { code: 'slack_bolt_respond_error', statusCode: 404 });
    assert.match(describeSlackError(error, { method: 'response_url' }), /HTTP 404 \(a response_url expires/);
  });
});

describe('runCommandText', () => {
  const deps = () => ({ service: createFakeSlackService({ throwOn: 'boom' }), commands: COMMANDS, logger: recordingLogger().logger });
  it('routes empty text to help', async () => {
    assert.equal((await runCommandText('  ', deps())).type, 'help');
  });
  it('routes a query to the incident answer', async () => {
    const reply = await runCommandText('skyecc', deps());
    assert.equal(reply.type === 'answer' && reply.answer.incident?.id, 'seed:skyecc-2021');
  });
  it('turns a throwing command into an error reply and logs it', async () => {
    const { lines, logger } = recordingLogger();
    const reply = await runCommandText('boom', { ...deps(), logger });
    assert.equal(reply.type, 'error');
    assert.ok(lines.some((l) => l.level === 'error' && l.text.includes('fake service failure')));
  });
});

describe('share helpers', () => {
  it('offers sharing for found answers and non-empty lists only', () => {
    assert.equal(isShareable({ type: 'answer', answer: buildAnswer() }), true);
    assert.equal(isShareable({ type: 'answer', answer: buildAnswer({ status: 'not-found' }) }), false);
    assert.equal(isShareable({ type: 'list', list: { title: 't', items: [], total: 0 } }), false);
    assert.equal(isShareable({ type: 'error', message: 'x' }), false);
  });
  it('adds no button when the command text is longer than a button may carry', () => {
    const message = errorToBlocks('x');
    assert.equal(withShareButton(message, 'a'.repeat(SHARE_VALUE_MAX + 1)).blocks.length, 1);
    assert.equal(withShareButton(message, 'skyecc').blocks.at(-1)?.type, 'actions');
  });
  it('keeps the block count within the limit when adding the button', () => {
    const full = { blocks: Array.from({ length: SLACK_LIMITS.blocks }, () => ({ type: 'divider' as const })), text: 't' };
    assert.equal(withShareButton(full, 'skyecc').blocks.length, SLACK_LIMITS.blocks);
  });
  it('mentions only a well-formed user id', () => {
    assert.match(JSON.stringify(withSharedBy(errorToBlocks('x'), 'U0001').blocks), /Shared by <@U0001>/);
    assert.equal(withSharedBy(errorToBlocks('x'), '<!channel>').blocks.length, 1);
  });
});

describe('slackTextToPlain', () => {
  it('undoes the escaping Slack applies to slash command text', () => {
    assert.equal(slackTextToPlain('AT&amp;T &lt;breach&gt; <https://ex.com|report> <mailto:a@b.c|mail>'), 'AT&T <breach> report mail');
  });
});
