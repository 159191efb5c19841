// The pure raft core: single voter behaviour, restart from a replayed log, and 3/5-voter
// clusters in a seeded in-memory network checking election safety, log matching and
// state machine safety after every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftCore, type Entry, type Message } from '../../../src/actors/raft/core.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

test('a single voter leads at once and commits only what it has persisted', () => {
  const core = new RaftCore({ id: 1, voters: [1], electionTick: 10, heartbeatTick: 1, random: () => 0.5 });
  let rd = core.ready()!;
  assert.equal(rd.softState?.role, 'leader');
  assert.equal(rd.entries.length, 1); // the leader's empty entry of its term
  assert.equal(rd.committedEntries.length, 0);
  core.advance();
  assert.ok(core.propose(bytes('a')).ok);
  rd = core.ready()!;
  assert.deepEqual(rd.entries.map((e) => e.index), [2]);
  assert.equal(rd.committedEntries.length, 0, 'nothing commits before it is durable');
  core.advance();
  core.persisted(2, 1);
  rd = core.ready()!;
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [1, 2]);
  assert.equal(rd.hardState?.commit, 2);
  core.advance();
  core.readIndex(bytes('ctx'));
  rd = core.ready()!;
  assert.deepEqual(rd.readStates.map((r) => [r.index, text(r.context)]), [[2, 'ctx']]);
});

test('restart from a replayed log keeps the term, the vote and resumes after applied', () => {
  const entries: Entry[] = [1, 2, 3].map((i) => ({ term: 2, index: i, type: 0, data: bytes(`e${i}`) }));
  const core = new RaftCore({ id: 1, voters: [1], electionTick: 10, heartbeatTick: 1, random: () => 0.5, initial: { hardState: { term: 2, vote: 1, commit: 3 }, entries }, applied: 2 });
  const rd = core.ready()!;
  assert.equal(rd.hardState?.term, 3, 'a new election at a higher term');
  assert.deepEqual(rd.entries.map((e) => e.index), [4], 'replayed entries are not written again');
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [3], 'committed entries resume after applied');
});

interface Node { core: RaftCore; log: Entry[]; applied: Entry[]; up: boolean }

function simulate(voters: number, seed: number, steps: number) {
  const rand = seeded(seed);
  const ids = Array.from({ length: voters }, (_, i) => i + 1);
  const nodes = new Map<number, Node>(ids.map((id) => [id, { core: new RaftCore({ id, voters: ids, electionTick: 10, heartbeatTick: 1, random: rand, checkQuorum: true }), log: [], applied: [], up: true }]));
  let inflight: Message[] = [];
  const leadersByTerm = new Map<number, number>();
  let proposed = 0;
  const healAt = Math.floor((steps * 2) / 3);
  let appliedAtHeal = 0;
  for (let step = 0; step < steps; step++) {
    // Faults (until healAt): drop, reorder, isolate nodes for a while. Then a healed network.
    if (step === healAt) {
      for (const n of nodes.values()) n.up = true;
      appliedAtHeal = Math.max(...[...nodes.values()].map((n) => n.applied.length));
    }
    if (step < healAt && rand() < 0.01) {
      const victim = ids[Math.floor(rand() * ids.length)]!;
      nodes.get(victim)!.up = !nodes.get(victim)!.up;
    }
    const deliver = inflight.filter(() => step >= healAt || rand() > 0.05).sort(() => rand() - 0.5);
    inflight = [];
    for (const m of deliver) {
      const to = nodes.get(m.to)!;
      if (to.up && nodes.get(m.from)!.up) to.core.step(m);
    }
    for (const [id, n] of nodes) {
      if (rand() < 0.3) n.core.tick();
      if (n.core.status().role === 'leader' && rand() < 0.3) n.core.propose(bytes(`v${proposed++}`));
      let rd;
      while ((rd = n.core.ready())) {
        for (const e of rd.entries) {
          n.log.length = Math.min(n.log.length, e.index - 1);
          n.log.push(e);
        }
        inflight.push(...rd.messages);
        n.applied.push(...rd.committedEntries);
        n.core.advance();
        const last = n.log.at(-1);
        if (last) n.core.persisted(last.index, last.term);
      }
      const s = n.core.status();
      if (s.role === 'leader') {
        const prev = leadersByTerm.get(s.term);
        assert.ok(prev === undefined || prev === id, `seed ${seed}: two leaders in term ${s.term}`);
        leadersByTerm.set(s.term, id);
      }
    }
    // State machine safety: every node's applied sequence is a prefix of the longest.
    const longest = [...nodes.values()].map((n) => n.applied).sort((a, b) => b.length - a.length)[0]!;
    for (const n of nodes.values()) {
      for (let i = 0; i < n.applied.length; i++) {
        assert.equal(n.applied[i]!.term, longest[i]!.term, `seed ${seed}: applied entries differ at ${i + 1}`);
        assert.equal(text(n.applied[i]!.data), text(longest[i]!.data), `seed ${seed}: applied entries differ at ${i + 1}`);
      }
    }
  }
  return { nodes, leadersByTerm, appliedAtHeal };
}

test('3 and 5 voters: one leader per term, identical applied logs, progress despite faults', () => {
  for (const voters of [3, 5]) {
    for (let seed = 1; seed <= 60; seed++) {
      const { nodes, leadersByTerm, appliedAtHeal } = simulate(voters, seed * 7919 + voters, 900);
      assert.ok(leadersByTerm.size > 0, `seed ${seed}: no leader ever elected`);
      const applied = Math.max(...[...nodes.values()].map((n) => n.applied.length));
      assert.ok(applied > appliedAtHeal, `seed ${seed}: nothing committed after the network healed`);
    }
  }
});

test('a follower forwards proposals and read-index requests to the leader', () => {
  const ids = [1, 2, 3];
  const cores = new Map(ids.map((id) => [id, new RaftCore({ id, voters: ids, electionTick: 10, heartbeatTick: 1, random: () => (id === 1 ? 0 : 0.9) })]));
  const logs = new Map<number, Entry[]>(ids.map((id) => [id, []]));
  const readStates: number[] = [];
  const pump = () => {
    for (let round = 0; round < 50; round++) {
      const msgs: Message[] = [];
      for (const [id, c] of cores) {
        let rd;
        while ((rd = c.ready())) {
          logs.get(id)!.push(...rd.entries);
          msgs.push(...rd.messages);
          if (id === 2) readStates.push(...rd.readStates.map((r) => r.index));
          c.advance();
          const last = logs.get(id)!.at(-1);
          if (last) c.persisted(last.index, last.term);
        }
      }
      if (!msgs.length) return;
      for (const m of msgs) cores.get(m.to)!.step(m);
    }
  };
  for (let i = 0; i < 10; i++) cores.get(1)!.tick();
  pump();
  assert.equal(cores.get(2)!.status().leader, 1);
  assert.ok(cores.get(2)!.propose(bytes('from-2')).ok);
  pump();
  assert.ok(logs.get(1)!.some((e) => text(e.data) === 'from-2'), 'the leader appended the forwarded proposal');
  cores.get(2)!.readIndex(bytes('r'));
  pump();
  assert.deepEqual(readStates, [cores.get(1)!.status().commit]);
});

test('applied entries are trimmed from memory while the log keeps working', () => {
  const core = new RaftCore({ id: 1, voters: [1], electionTick: 10, heartbeatTick: 1, random: () => 0.5, memoryLogMargin: 10 });
  const applied: number[] = [];
  for (let i = 0; i < 200; i++) {
    core.propose(bytes(`v${i}`));
    let rd;
    while ((rd = core.ready())) {
      applied.push(...rd.committedEntries.map((e) => e.index));
      const last = rd.entries.at(-1);
      core.advance();
      if (last) core.persisted(last.index, last.term);
    }
  }
  assert.deepEqual(applied, Array.from({ length: 201 }, (_, i) => i + 1), 'every entry applied once, in order');
  assert.equal(core.status().lastIndex, 201);
  assert.ok((core as unknown as { log: unknown[] }).log.length < 40, 'old entries left memory');
});
