// The error a timed-out proposal gets, by etcd's rule (etcdserver's parseProposeCtxErr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proposalTimeout, type LeadershipView } from '../../../src/server/proposal-timeout.js';
import { Errors } from '../../../src/protocol/errors.js';

const ELECTION = 1000;
const view = (v: Partial<LeadershipView>): LeadershipView => ({ leader: 2, leaderElectedAt: 10_000, linkedSince: 10_000, electionTimeoutMs: ELECTION, ...v });

test('a proposal made shortly before this member became leader blames the previous leader', () => {
  assert.equal(proposalTimeout(60_000 - 500, view({ leaderElectedAt: 60_000, linkedSince: 60_100 })), Errors.timeoutDueToLeaderFail);
  assert.equal(proposalTimeout(60_000 - 2 * ELECTION + 1, view({ leaderElectedAt: 60_000, linkedSince: 50_000 })), Errors.timeoutDueToLeaderFail);
});

test('a proposal made long before the election, or after it, is not blamed on it', () => {
  assert.equal(proposalTimeout(60_000 - 2 * ELECTION, view({ leaderElectedAt: 60_000, linkedSince: 50_000 })), Errors.timeout);
  assert.equal(proposalTimeout(60_000, view({ leaderElectedAt: 60_000, linkedSince: 50_000 })), Errors.timeout);
  assert.equal(proposalTimeout(70_000, view({ leaderElectedAt: 60_000, linkedSince: 50_000 })), Errors.timeout);
});

test('a link to the leader (or a quorum) lost since the proposal was made is the cause', () => {
  assert.equal(proposalTimeout(70_000, view({ linkedSince: 0 })), Errors.timeoutDueToConnectionLost);
  assert.equal(proposalTimeout(70_000, view({ linkedSince: 70_001 })), Errors.timeoutDueToConnectionLost);
  assert.equal(proposalTimeout(70_000, view({ linkedSince: 69_000 })), Errors.timeout);
});

test('with no leader known it just timed out', () => {
  assert.equal(proposalTimeout(70_000, view({ leader: 0, linkedSince: 0 })), Errors.timeout);
});
