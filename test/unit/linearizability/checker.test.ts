// The linearizability checker: hand-made legal and illegal histories, unknown outcomes, and
// randomized histories produced by a real register (always legal) and then corrupted (illegal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizable, formatHistory, type Operation } from '../../support/linearizability.js';
import { seeded } from '../../sim/prng.js';

const put = (client: number, call: number, ret: number, key: string, value: string): Operation => ({ client, call, ret, input: { op: 'put', key, value }, ...(ret === Infinity ? {} : { output: {} }) });
const get = (client: number, call: number, ret: number, key: string, value: string | null): Operation => ({ client, call, ret, input: { op: 'get', key }, output: { value } });
const cas = (client: number, call: number, ret: number, key: string, expect: string | null, value: string, ok?: boolean): Operation => ({ client, call, ret, input: { op: 'cas', key, expect, value }, ...(ok === undefined ? {} : { output: { ok } }) });

test('sequential and concurrent legal histories', () => {
  assert.equal(checkLinearizable([put(1, 0, 1, 'k', 'a'), get(2, 2, 3, 'k', 'a')]).result, 'ok');
  assert.equal(checkLinearizable([get(1, 0, 1, 'k', null)]).result, 'ok');
  // Two concurrent writes: readers after both may see either, but the same one.
  const writes = [put(1, 0, 10, 'k', 'a'), put(2, 0, 10, 'k', 'b')];
  assert.equal(checkLinearizable([...writes, get(3, 11, 12, 'k', 'a'), get(4, 13, 14, 'k', 'a')]).result, 'ok');
  assert.equal(checkLinearizable([...writes, get(3, 11, 12, 'k', 'b')]).result, 'ok');
  // A read concurrent with a write may see the old or the new value.
  assert.equal(checkLinearizable([put(1, 0, 1, 'k', 'a'), put(1, 2, 10, 'k', 'b'), get(2, 3, 4, 'k', 'a'), get(3, 5, 6, 'k', 'b')]).result, 'ok');
});

test('a stale read after a completed write is illegal', () => {
  const r = checkLinearizable([put(1, 0, 1, 'k', 'a'), put(1, 2, 3, 'k', 'b'), get(2, 4, 5, 'k', 'a')]);
  assert.equal(r.result, 'illegal');
  assert.equal((r as { key: string }).key, 'k');
});

test('reads that go back in time are illegal even when each is concurrent with the write', () => {
  const r = checkLinearizable([put(1, 0, 1, 'k', 'a'), put(1, 2, 10, 'k', 'b'), get(2, 3, 4, 'k', 'b'), get(3, 5, 6, 'k', 'a')]);
  assert.equal(r.result, 'illegal');
});

test('a value never written cannot be read', () => {
  assert.equal(checkLinearizable([put(1, 0, 1, 'k', 'a'), get(2, 2, 3, 'k', 'z')]).result, 'illegal');
});

test('compare-and-swap: a lost update is illegal', () => {
  // Both clients swapped from the same value, one after the other: the second cannot succeed.
  const h = [put(1, 0, 1, 'k', '0'), cas(1, 2, 3, 'k', '0', '1', true), cas(2, 4, 5, 'k', '0', '2', true)];
  assert.equal(checkLinearizable(h).result, 'illegal');
  const legal = [put(1, 0, 1, 'k', '0'), cas(1, 2, 3, 'k', '0', '1', true), cas(2, 4, 5, 'k', '0', '2', false), get(3, 6, 7, 'k', '1')];
  assert.equal(checkLinearizable(legal).result, 'ok');
  assert.equal(checkLinearizable([cas(1, 0, 1, 'k', null, 'x', true), get(1, 2, 3, 'k', 'x')]).result, 'ok');
});

test('an operation with an unknown outcome may take effect later, or never', () => {
  const lost = put(1, 0, Infinity, 'k', 'maybe');
  assert.equal(checkLinearizable([lost, get(2, 5, 6, 'k', null)]).result, 'ok', 'never took effect');
  assert.equal(checkLinearizable([lost, get(2, 5, 6, 'k', null), get(2, 7, 8, 'k', 'maybe')]).result, 'ok', 'took effect late');
  assert.equal(checkLinearizable([lost, get(2, 5, 6, 'k', 'maybe'), get(2, 7, 8, 'k', null)]).result, 'illegal', 'cannot be undone');
  assert.equal(checkLinearizable([put(1, 0, 1, 'k', 'a'), cas(2, 2, Infinity, 'k', 'a', 'b'), get(3, 4, 5, 'k', 'b')]).result, 'ok');
  assert.equal(checkLinearizable([put(1, 0, 1, 'k', 'a'), cas(2, 2, Infinity, 'k', 'z', 'b'), get(3, 4, 5, 'k', 'b')]).result, 'illegal');
});

test('keys are independent', () => {
  assert.equal(checkLinearizable([put(1, 0, 1, 'a', '1'), put(1, 2, 3, 'b', '2'), get(2, 4, 5, 'a', '1'), get(2, 6, 7, 'b', '2')]).result, 'ok');
  const r = checkLinearizable([put(1, 0, 1, 'a', '1'), get(2, 4, 5, 'b', '1')]);
  assert.equal(r.result, 'illegal');
  assert.match(formatHistory((r as { ops: Operation[] }).ops), /get\(b\) → "1"/);
});

/** Concurrent clients on a real register: each op takes effect at a random instant inside its interval. */
function realHistory(seed: number, clients: number, opsPerClient: number, keys: number): Operation[] {
  const rand = seeded(seed);
  const store = new Map<string, string>();
  const pending: { op: Operation; at: number }[] = [];
  const clock = new Array(clients).fill(0);
  let n = 0;
  for (let c = 0; c < clients; c++) {
    for (let i = 0; i < opsPerClient; i++) {
      const call = clock[c] + rand() * 5;
      const ret = call + 1 + rand() * 20;
      clock[c] = ret;
      const key = `k${Math.floor(rand() * keys)}`;
      const kind = rand();
      const input: Operation['input'] = kind < 0.4 ? { op: 'put', key, value: `v${n++}` } : kind < 0.8 ? { op: 'get', key } : { op: 'cas', key, expect: rand() < 0.5 ? null : `v${Math.floor(rand() * n)}`, value: `v${n++}` };
      pending.push({ op: { client: c, input, call, ret }, at: call + rand() * (ret - call) });
    }
  }
  for (const { op } of pending.sort((a, b) => a.at - b.at)) {
    const i = op.input;
    const cur = store.get(i.key) ?? null;
    if (i.op === 'put') { store.set(i.key, i.value); op.output = {}; }
    else if (i.op === 'get') op.output = { value: cur };
    else { const ok = cur === i.expect; if (ok) store.set(i.key, i.value); op.output = { ok }; }
  }
  return pending.map((p) => p.op);
}

test('randomized: histories of a real register are linearizable; a corrupted read is not', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const h = realHistory(seed, 5, 60, 3);
    assert.equal(checkLinearizable(h).result, 'ok', `seed ${seed} should be legal`);
    const reads = h.filter((o) => o.input.op === 'get');
    const victim = reads[Math.floor(reads.length / 2)]!;
    victim.output = { value: 'never-written' };
    assert.equal(checkLinearizable(h).result, 'illegal', `seed ${seed} should be illegal`);
  }
});

test('randomized: a large history checks quickly enough to run on every seed', () => {
  const h = realHistory(7, 5, 2000, 10);
  const started = performance.now();
  assert.equal(checkLinearizable(h).result, 'ok');
  // Not a timing assertion: the duration is reported for information.
  process.stdout.write(`# 10,000 operations checked in ${(performance.now() - started).toFixed(0)} ms\n`);
});
