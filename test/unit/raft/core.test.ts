// The pure raft core: single voter behaviour, restart from a replayed log, forwarding, memory
// trimming. Multi-member behaviour under faults is covered by the simulation in test/sim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftCore, type Entry, type Message } from '../../../src/actors/raft/core.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Member 1 of `voters`, elected with member 2's vote; `drain` persists its Readys and returns what they sent. */
function electedLeader(voters: number[]) {
  const leader = new RaftCore({ id: 1, voters, electionTick: 10, heartbeatTick: 1, random: () => 0 });
  const drain = () => {
    const sent: Message[] = [];
    let rd;
    while ((rd = leader.ready())) {
      sent.push(...rd.messages);
      const last = rd.entries.at(-1);
      leader.advance();
      if (last) leader.persisted(last.index, last.term);
    }
    return sent;
  };
  for (let i = 0; i < 10; i++) leader.tick();
  const term = drain().find((m) => m.type === 'vote')!.term;
  leader.step({ type: 'voteResp', from: 2, to: 1, term });
  return { leader, term, drain };
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

/** Cores of `ids` (member 1 times out first) whose Readys `pump` persists and delivers until quiet. */
function members(ids: number[], checkQuorum = false) {
  const cores = new Map(ids.map((id) => [id, new RaftCore({ id, voters: ids, electionTick: 10, heartbeatTick: 1, checkQuorum, random: () => (id === 1 ? 0 : 0.9) })]));
  const logs = new Map<number, Entry[]>(ids.map((id) => [id, []]));
  const readStates = new Map<number, number[]>(ids.map((id) => [id, []]));
  const pump = () => {
    for (let round = 0; round < 50; round++) {
      const msgs: Message[] = [];
      for (const [id, c] of cores) {
        let rd;
        while ((rd = c.ready())) {
          logs.get(id)!.push(...rd.entries);
          msgs.push(...rd.messages);
          readStates.get(id)!.push(...rd.readStates.map((r) => r.index));
          c.advance();
          const last = logs.get(id)!.at(-1);
          if (last) c.persisted(last.index, last.term);
        }
      }
      if (!msgs.length) return;
      for (const m of msgs) cores.get(m.to)!.step(m);
    }
  };
  return { cores, logs, readStates, pump };
}

test('a follower forwards proposals and read-index requests to the leader', () => {
  const { cores, logs, readStates, pump } = members([1, 2, 3]);
  for (let i = 0; i < 10; i++) cores.get(1)!.tick();
  pump();
  assert.equal(cores.get(2)!.status().leader, 1);
  assert.ok(cores.get(2)!.propose(bytes('from-2')).ok);
  pump();
  assert.ok(logs.get(1)!.some((e) => text(e.data) === 'from-2'), 'the leader appended the forwarded proposal');
  cores.get(2)!.readIndex(bytes('r'));
  pump();
  assert.deepEqual(readStates.get(2), [cores.get(1)!.status().commit]);
});

test('keep-alive messages of busy members hold off elections and the leader\'s CheckQuorum', () => {
  const { cores, pump } = members([1, 2, 3], true);
  const [leader, follower, other] = [cores.get(1)!, cores.get(2)!, cores.get(3)!];
  for (let i = 0; i < 10; i++) leader.tick();
  pump();
  const { term, commit } = leader.status();
  assert.deepEqual(leader.keepAlive().map((m) => [m.type, m.to, m.term, m.commit]), [['heartbeat', 2, term, commit], ['heartbeat', 3, term, commit]]);
  assert.deepEqual(follower.keepAlive().map((m) => [m.type, m.to, m.term]), [['heartbeatResp', 1, term]]);

  // Nothing but keep-alives passes for three election timeouts of the follower (19 ticks each here).
  for (let i = 0; i < 57; i++) {
    follower.tick();
    leader.tick();
    if (i % 5 === 0) {
      for (const m of leader.keepAlive()) if (m.to === 2) follower.step(m);
      for (const m of [...follower.keepAlive(), ...other.keepAlive()]) leader.step(m);
    }
  }
  assert.equal(follower.status().role, 'follower');
  assert.equal(follower.status().leader, 1);
  assert.equal(leader.status().role, 'leader');
  assert.equal(leader.status().term, term);

  // Without them, the follower campaigns and the leader steps down.
  for (let i = 0; i < 20; i++) {
    follower.tick();
    leader.tick();
  }
  assert.notEqual(follower.status().role, 'follower');
  assert.equal(leader.status().role, 'follower');
});

test('proposals made between two Readys leave in one append per follower, or one forward to the leader', () => {
  const ids = [1, 2, 3];
  const { leader, term, drain } = electedLeader(ids);
  drain();
  for (const id of [2, 3]) leader.step({ type: 'appResp', from: id, to: 1, term, index: leader.status().lastIndex });
  drain();
  for (let i = 0; i < 3; i++) leader.propose(bytes(`own${i}`));
  leader.step({ type: 'prop', from: 2, to: 1, term, entries: [0, 1].map((i) => ({ term: 0, index: 0, type: 0, data: bytes(`fwd${i}`) })) });
  const appends = drain().filter((m) => m.type === 'app' && m.entries?.length);
  assert.deepEqual(appends.map((m) => m.to).sort(), [2, 3], 'one append per follower');
  for (const m of appends) assert.deepEqual(m.entries!.map((e) => text(e.data)), ['own0', 'own1', 'own2', 'fwd0', 'fwd1']);

  const follower = new RaftCore({ id: 2, voters: ids, electionTick: 10, heartbeatTick: 1, random: () => 0.9 });
  follower.step({ type: 'heartbeat', from: 1, to: 2, term, commit: 0 });
  follower.ready();
  follower.advance();
  for (let i = 0; i < 3; i++) assert.ok(follower.propose(bytes(`f${i}`)).ok);
  const forwards = follower.ready()!.messages.filter((m) => m.type === 'prop');
  assert.equal(forwards.length, 1);
  assert.equal(forwards[0]!.to, 1);
  assert.deepEqual(forwards[0]!.entries!.map((e) => text(e.data)), ['f0', 'f1', 'f2']);
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

test('a follower never acknowledges entries before they are durable, even ones already committed', () => {
  const f = new RaftCore({ id: 2, voters: [1, 2, 3], electionTick: 10, heartbeatTick: 1, random: () => 0.5 });
  const entries: Entry[] = [1, 2, 3].map((i) => ({ term: 1, index: i, type: 0, data: bytes(`e${i}`) }));
  f.step({ type: 'app', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries, commit: 3 });
  let rd = f.ready()!;
  assert.deepEqual(rd.entries.map((e) => e.index), [1, 2, 3]);
  assert.ok(!rd.messages.some((m) => m.type === 'appResp'), 'nothing is acknowledged before the fsync');
  f.advance();
  // A late duplicate below the commit index must not claim the unsynced entries either.
  f.step({ type: 'app', from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [], commit: 3 });
  rd = f.ready()!;
  const acks = rd.messages.filter((m) => m.type === 'appResp').map((m) => m.index);
  assert.ok(acks.every((i) => i === 0), `acknowledged ${acks} before the fsync`);
  f.advance();
  f.persisted(3, 1);
  rd = f.ready()!;
  assert.deepEqual(rd.messages.filter((m) => m.type === 'appResp').map((m) => m.index), [3]);
});

test('a leader ignores stale rejections', () => {
  const { leader, term, drain } = electedLeader([1, 2]);
  for (let i = 0; i < 5; i++) leader.propose(bytes(`v${i}`));
  drain();
  const last = leader.status().lastIndex;
  leader.step({ type: 'appResp', from: 2, to: 1, term, index: last });
  drain();
  assert.equal(leader.status().commit, last);
  // A rejection sent long ago, for an index below what it has acknowledged since, changes nothing.
  leader.step({ type: 'appResp', from: 2, to: 1, term, index: 2, reject: true, rejectHint: 1 });
  assert.ok(!drain().some((m) => m.type === 'app'), 'no resend for a stale rejection');
  // A current rejection makes it probe backwards.
  leader.step({ type: 'appResp', from: 2, to: 1, term, index: last + 1, reject: true, rejectHint: last });
  leader.propose(bytes('more'));
  assert.ok(drain().some((m) => m.type === 'app' && m.index === last), 'it resends from its last match');
});

test('after a change of leader a follower does not acknowledge the entries of the deposed one', () => {
  const f = new RaftCore({ id: 2, voters: [1, 2, 3], electionTick: 10, heartbeatTick: 1, random: () => 0.5 });
  const old: Entry[] = [1, 2, 3].map((i) => ({ term: 2, index: i, type: 0, data: bytes(`old${i}`) }));
  f.step({ type: 'app', from: 1, to: 2, term: 2, index: 0, logTerm: 0, entries: old, commit: 0 });
  f.ready();
  f.advance();
  // Leader 3 takes over in term 3 (its log is shorter) before the old entries are fsynced.
  f.step({ type: 'heartbeat', from: 3, to: 2, term: 3, commit: 0 });
  f.ready();
  f.advance();
  f.persisted(3, 2);
  const rd = f.ready();
  const acks = (rd?.messages ?? []).filter((m) => m.type === 'appResp');
  assert.deepEqual(acks, [], 'nothing is acknowledged to leader 3 before an append of its own matched');
});

test('a repeated vote request gets no second grant (it could leave before the vote is durable)', () => {
  const v = new RaftCore({ id: 2, voters: [1, 2, 3], electionTick: 10, heartbeatTick: 1, random: () => 0.5 });
  const request: Message = { type: 'vote', from: 1, to: 2, term: 1, index: 0, logTerm: 0 };
  v.step(request);
  const first = v.ready()!;
  assert.equal(first.hardState?.vote, 1);
  assert.deepEqual(first.messages.map((m) => [m.type, m.reject]), [['voteResp', false]]);
  v.advance();
  v.step(request);
  assert.equal(v.ready(), null);
});

test('a snapshot whose last entry the follower holds keeps the entries after it', () => {
  const f = new RaftCore({ id: 2, voters: [1, 2, 3], electionTick: 10, heartbeatTick: 1, random: () => 0.5 });
  const entries: Entry[] = [1, 2, 3, 4, 5].map((i) => ({ term: 1, index: i, type: 0, data: bytes(`e${i}`) }));
  f.step({ type: 'app', from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries, commit: 2 });
  f.ready();
  f.advance();
  f.persisted(5, 1);
  f.ready();
  f.advance();
  f.step({ type: 'snap', from: 1, to: 2, term: 1, snapshot: { index: 3, term: 1, conf: { voters: [1, 2, 3], learners: [] } } });
  const rd = f.ready()!;
  assert.equal(rd.snapshot?.index, 3);
  assert.equal(f.status().lastIndex, 5, 'entries 4 and 5, already acknowledged, stay');
  assert.equal(f.status().commit, 3);
});
