import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from '../src/core/answer-model.js';
import { judge, type NaturalQuery } from '../src/eval/natural.js';

const topic: NaturalQuery = { query: 'phishing lures sent to harbour pilots', kind: 'topic', expected_ids: ['x:1'] };
const answer = (status: Answer['status']): Answer => ({ status, query: topic.query, summary: 'Harbour pilots phished', incident: { id: 'x:1', title: 'Harbour pilots phished' } }) as unknown as Answer;

describe('natural eval judge', () => {
  it('counts the expected record when the bot answers it', () => {
    assert.equal(judge(topic, answer('found')), undefined);
  });

  it('counts a not-found answer as a miss even when it carries the expected record as its closest match', () => {
    assert.match(judge(topic, answer('not-found')) ?? '', /^not found/);
  });
});
