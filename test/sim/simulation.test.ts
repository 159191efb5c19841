// The simulation in CI: 2,000 seeds (1,000 each of 3 and 5 members), every safety check after
// every step and a linearizability check of each seed's client history; plus proof that the
// checks catch a broken shell and stale reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed, type SimOptions } from './simulation.js';

const STEPS = 1000;

function runSeeds(from: number, count: number, opts: SimOptions): string[] {
  const failures: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r = runSeed(seed, opts);
    if (!r.ok) failures.push(`seed ${seed}: ${r.error.split('\n')[0]}\n  replay: npm run sim -- --seed ${seed} --steps ${opts.steps} --members ${opts.members}`);
  }
  return failures;
}

for (const members of [3, 5] as const) {
  test(`${members} members: 1,000 seeds keep raft's safety properties and linearizable client histories`, () => {
    const failures = runSeeds(1, 1000, { members, steps: STEPS });
    assert.deepEqual(failures, []);
  });
}

test('a seed replays exactly', () => {
  const a = runSeed(4242, { members: 5, steps: STEPS });
  const b = runSeed(4242, { members: 5, steps: STEPS });
  assert.ok(a.ok && b.ok);
  assert.deepEqual(a, b);
});

test('the checks catch a shell that acknowledges writes before they are durable', () => {
  const failures = runSeeds(1, 400, { members: 3, steps: 600, ackBeforeSync: true });
  assert.ok(failures.some((f) => /leader completeness|state machine safety|log matching|sound acks|durable votes|not linearizable/.test(f)), failures.join('\n'));
});

test('the checks catch reads served without ReadIndex', () => {
  const failures = runSeeds(1, 50, { members: 3, steps: 600, localReads: true });
  assert.ok(failures.some((f) => /not linearizable/.test(f)), failures.join('\n'));
});
