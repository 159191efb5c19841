// The leader's gate for proposals during its WAL fsync: what waits, and in which order it goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProposalGate } from '../../../src/actors/raft/proposal-gate.js';

test('proposals wait while the fsync runs, go together after it, and later ones queue behind them', () => {
  let syncing = false;
  const gate = new ProposalGate<string, string>(() => syncing);
  assert.equal(gate.holding(), false, 'with no fsync running a proposal enters at once');
  assert.equal(gate.release(), undefined);

  syncing = true;
  assert.equal(gate.holding(), true);
  gate.holdItems(['a', 'b']);
  gate.holdForward('f1');
  gate.holdItems(['c']);
  assert.equal(gate.release(), undefined, 'nothing leaves while the fsync runs');

  syncing = false;
  assert.equal(gate.holding(), true, 'a proposal arriving before the release queues behind the held ones');
  gate.holdItems(['d']);
  assert.deepEqual(gate.release(), { items: ['a', 'b', 'c', 'd'], forwards: ['f1'] });
  assert.equal(gate.holding(), false);
  assert.equal(gate.release(), undefined, 'each proposal is released once');
});
