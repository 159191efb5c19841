// Which messages may wait for the apply of the entries they announce as committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitNews } from '../../../src/actors/raft/commit-news.js';
import type { Message } from '../../../src/actors/raft/types.js';

const app = (to: number, entries = 0): Message => ({ type: 'app', from: 1, to, term: 2, index: 10, logTerm: 2, commit: 11, entries: Array.from({ length: entries }, (_, i) => ({ term: 2, index: 11 + i, type: 0, data: new Uint8Array() })) });
const ack = (index: number, term = 2, reject = false): Message => ({ type: 'appResp', from: 2, to: 1, term, index, ...(reject ? { reject } : {}) });

test('a commit index waits, entries and other messages do not', () => {
  const news = new CommitNews();
  assert.equal(news.mayWait(app(2), 11), true);
  assert.equal(news.mayWait(app(2, 1), 11), false);
  for (const type of ['heartbeat', 'heartbeatResp', 'vote', 'voteResp', 'prop', 'readIndex'] as const) {
    assert.equal(news.mayWait({ type, from: 1, to: 2, term: 2 }, 11), false, type);
  }
});

test('a follower whose proposal is committed hears at once, until it is applied', () => {
  const news = new CommitNews();
  news.forwardedProposal(2, 11);
  assert.equal(news.mayWait(app(2), 11), false, 'its proposal is among the committed');
  assert.equal(news.mayWait(app(3), 11), true, 'the other follower proposed nothing');
  assert.equal(news.mayWait(app(2), 12), true, 'committed entries after its proposal');
  news.applied(10);
  assert.equal(news.mayWait(app(2), 11), false, 'not applied yet');
  news.applied(11);
  assert.equal(news.mayWait(app(2), 11), true, 'answered');
});

test('an acknowledgement waits only when it acknowledges nothing new in its term', () => {
  const news = new CommitNews();
  assert.equal(news.mayWait(ack(11), 11), false, 'first acknowledgement');
  assert.equal(news.mayWait(ack(11), 11), true, 'the same index again');
  assert.equal(news.mayWait(ack(10), 11), true, 'a lower one');
  assert.equal(news.mayWait(ack(12), 11), false, 'a new index');
  assert.equal(news.mayWait(ack(12, 3), 11), false, 'a new term');
  assert.equal(news.mayWait(ack(5, 3, true), 11), false, 'a rejection');
});
