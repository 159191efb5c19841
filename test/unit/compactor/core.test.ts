// Auto-compaction decisions as etcd's compactors make them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoCompactor, REVISION_CHECK_MS } from '../../../src/actors/compactor/core.js';

test('periodic: after a retention, the revision sampled a retention ago; then every min(retention, 1 h)', () => {
  const c = new AutoCompactor({ mode: 'periodic', retentionMs: 10_000 }, 0);
  assert.equal(c.intervalMs, 1000);
  const decisions: (number | undefined)[] = [];
  // One revision per second: at time t the store is at revision 100 + t.
  for (let t = 1; t <= 10; t++) decisions.push(c.step(t * 1000, 100 + t));
  assert.deepEqual(decisions.slice(0, 9), Array(9).fill(undefined), 'nothing before a retention has passed');
  assert.equal(decisions[9], 101, 'at 10 s: the oldest kept sample (a retention ago)');
  c.compacted(101, 10_000);
  for (let t = 11; t < 20; t++) assert.equal(c.step(t * 1000, 100 + t), undefined);
  assert.equal(c.step(20_000, 120), 110, 'ten seconds later, the revision of ten seconds ago');
});

test('periodic: a long retention samples every 6 minutes and compacts hourly', () => {
  const c = new AutoCompactor({ mode: 'periodic', retentionMs: 72 * 3_600_000 }, 0);
  assert.equal(c.intervalMs, 360_000);
});

test('periodic: a failed compaction is retried at the next interval', () => {
  const c = new AutoCompactor({ mode: 'periodic', retentionMs: 1000 }, 0);
  assert.equal(c.step(1000, 5), 5);
  assert.equal(c.step(1100, 6), 5, 'not compacted yet: asked again');
});

test('revision: current minus retention, never the same twice, never below 1', () => {
  const c = new AutoCompactor({ mode: 'revision', retention: 100 }, 0);
  assert.equal(c.intervalMs, REVISION_CHECK_MS);
  assert.equal(c.step(0, 50), undefined);
  assert.equal(c.step(0, 350), 250);
  c.compacted(250, 0);
  assert.equal(c.step(0, 350), undefined);
  assert.equal(c.step(0, 420), 320);
});
