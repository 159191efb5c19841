// A deterministic simulation of a raft cluster: 3 or 5 members (plus one spare that joins as a
// learner, is promoted and removed again) on a faulty network, with crashes that lose unsynced
// writes, restarts, partitions, snapshots for lagging members, and concurrent clients doing
// put, get (ReadIndex) and compare-and-swap. Safety is checked after every step; at the end the
// network heals, the members must converge, and the clients' history must be linearizable.
import { EntryType, type Entry, type Message } from '../../src/actors/raft/core.js';
import { encodeProposal } from '../../src/actors/mvcc/proposal.js';
import type { ConfChange } from '../../src/actors/raft/confchange.js';
import { checkLinearizable, formatHistory, type KvInput, type Operation } from '../support/linearizability.js';
import { Network } from './network.js';
import { SimMember, type Command, type SnapshotTransfer } from './member.js';
import { SafetyChecker } from './invariants.js';
import { between, chance, pick, seeded, type Rand } from './prng.js';

/**
 * Deliberate breakage, to show the checks catch it: `ackBeforeSync` acknowledges writes before
 * their fsync; `localReads` answers gets from the member's state without ReadIndex.
 */
export interface SimOptions { members: 3 | 5; steps: number; ackBeforeSync?: boolean; localReads?: boolean }
export type SimResult = { ok: true; stats: SimStats } | { ok: false; seed: number; error: string };
export interface SimStats { applied: number; operations: number; terms: number; snapshots: number; crashes: number }

type Payload = { kind: 'raft'; message: Message } | { kind: 'snapshot'; message: Message; snap: SnapshotTransfer };

const ELECTION_TICK = 10;
const CLIENTS = 4;
const KEYS = ['a', 'b', 'c'];
const CLIENT_DEADLINE = 80;
const encoder = new TextEncoder();

interface Pending { op: Operation; member: number; boot: number; deadline: number; req: number }

export function runSeed(seed: number, opts: SimOptions): SimResult {
  try {
    return { ok: true, stats: new Simulation(seed, opts).run() };
  } catch (err) {
    return { ok: false, seed, error: (err as Error).stack ?? String(err) };
  }
}

class Simulation {
  private readonly rand: Rand;
  private readonly net: Network<Payload>;
  private readonly members = new Map<number, SimMember>();
  private readonly safety = new SafetyChecker();
  private readonly voters: number[];
  private readonly spare: number;
  private now = 0;
  private readonly history: Operation[] = [];
  private readonly pending = new Map<number, Pending>(); // by client
  private nextReq = 1;
  private readonly stats: SimStats = { applied: 0, operations: 0, terms: 0, snapshots: 0, crashes: 0 };
  private spareJoined = false;

  constructor(seed: number, private readonly opts: SimOptions) {
    this.rand = seeded(seed);
    this.net = new Network(this.rand, { loss: 0.05, duplication: 0.03, maxDelay: 3 });
    this.voters = Array.from({ length: opts.members }, (_, i) => i + 1);
    this.spare = opts.members + 1;
    const hooks = {
      send: (from: number, m: Message) => {
        this.safety.leaving(this.members.get(from)!, m);
        this.net.send(this.now, from, m.to, { kind: 'raft', message: m }, { duplicable: m.type !== 'prop' });
      },
      sendSnapshot: (from: number, m: Message, snap: SnapshotTransfer) => {
        this.stats.snapshots++;
        this.net.send(this.now, from, m.to, { kind: 'snapshot', message: m, snap }, { duplicable: false, reported: true });
      },
      applied: (member: SimMember, e: Entry, result: unknown) => this.onApplied(member, e, result),
      wrote: (member: SimMember, entries: Entry[]) => this.safety.wrote(member, entries),
      readState: (member: SimMember, ctx: number) => this.onRead(member, ctx),
      produced: (member: SimMember, m: Message) => this.safety.produced(member, m, this.members.get(m.to)),
    };
    const options = { electionTick: ELECTION_TICK, memoryLogMargin: between(this.rand, 5, 40), compactEvery: between(this.rand, 10, 60), ackBeforeSync: opts.ackBeforeSync };
    const bootstrap: Entry[] = this.voters.map((id, i) => ({
      term: 1, index: i + 1, type: EntryType.ConfChange,
      data: encodeProposal({ origin: 0, boot: 0, id: 0, op: { type: 'member', change: { type: 'addVoter', id } } }),
    }));
    for (const id of [...this.voters, this.spare]) {
      // The spare starts with an empty log, as a member started to join does.
      this.members.set(id, new SimMember(id, id === this.spare ? [] : bootstrap, seeded(seed * 31 + id), hooks, options));
    }
  }

  run(): SimStats {
    const healAt = Math.floor(this.opts.steps * 0.7);
    for (; this.now < this.opts.steps; this.now++) {
      if (this.now < healAt) this.injectFaults();
      if (this.now === healAt) this.heal();
      this.changeMembership();
      this.step(this.now < healAt - CLIENT_DEADLINE);
    }
    this.settle();
    return this.stats;
  }

  private live(): SimMember[] {
    return [...this.members.values()].filter((m) => m.up);
  }

  private step(clientsActive: boolean): void {
    for (const { from, to, payload, cut } of this.net.due(this.now)) this.deliver(from, to, payload, cut);
    for (const m of this.live()) m.advanceClock(this.now);
    for (const m of this.live()) if (chance(this.rand, 0.9)) m.tick();
    this.expireClients();
    if (clientsActive) this.issueClientOps();
    for (const m of this.live()) m.drain(this.now);
    for (const m of this.live()) if (m.removed) m.crash(); // a removed member stops, as kvd exits
    this.safety.check(this.live());
  }

  private deliver(from: number, to: number, payload: Payload, cut: boolean): void {
    const target = this.members.get(to)!;
    const sender = this.members.get(from)!;
    // Members refuse traffic from members they know were removed, as the transport does.
    const accepted = !cut && target.up && !target.sm.removed.has(from);
    if (payload.kind === 'snapshot') {
      // The sender learns the outcome, as the transport reports it.
      if (accepted) target.installSnapshot(payload.message, payload.snap);
      if (sender.up) sender.core.snapshotReported(to, accepted ? payload.snap.meta.index : undefined);
      return;
    }
    if (accepted) target.step(payload.message);
  }

  // ---- faults ----

  private injectFaults(): void {
    const r = this.rand();
    const original = this.voters.map((id) => this.members.get(id)!);
    const down = original.filter((m) => !m.up);
    if (r < 0.006 && down.length < Math.floor((this.opts.members - 1) / 2) + 1) {
      // Half of the crashes hit the leader.
      const leader = original.find((m) => m.up && m.core.status().role === 'leader');
      const victim = leader && chance(this.rand, 0.5) ? leader : pick(this.rand, original.filter((m) => m.up));
      if (victim) {
        victim.crash();
        this.stats.crashes++;
        this.failClientsOn(victim.id);
      }
    } else if (r < 0.012 && down.length) {
      pick(this.rand, down).restart();
    } else if (r < 0.015) {
      const size = between(this.rand, 1, Math.floor(this.opts.members / 2));
      const shuffled = [...this.voters].sort(() => this.rand() - 0.5);
      // Half of the partitions cut the leader off, often while a follower's disk stalls, so
      // that entries of a deposed leader are still being written when a new one takes over.
      const leader = original.find((m) => m.up && m.core.status().role === 'leader');
      const isolated = leader && chance(this.rand, 0.5) ? [leader.id, ...shuffled.filter((id) => id !== leader.id)].slice(0, size) : shuffled.slice(0, size);
      this.net.partition(isolated);
      if (chance(this.rand, 0.5)) pick(this.rand, original).stallUntil = this.now + between(this.rand, ELECTION_TICK, 6 * ELECTION_TICK);
    } else if (r < 0.02) {
      this.net.heal();
    } else if (r < 0.0235 && chance(this.rand, 0.1)) {
      // A power loss: every member stops at once, each losing what it had not synced.
      for (const m of original) if (m.up) m.crash();
      this.stats.crashes++;
      for (const m of original) this.failClientsOn(m.id);
    } else if (r < 0.023) {
      // A stalled disk: its fsyncs hang for up to a few election timeouts while it keeps writing.
      pick(this.rand, original).stallUntil = this.now + between(this.rand, ELECTION_TICK, 6 * ELECTION_TICK);
    }
  }

  private heal(): void {
    this.net.heal();
    this.net.faults = { loss: 0, duplication: 0, maxDelay: 2 };
    for (const m of this.members.values()) if (!m.up && !m.removed) m.restart();
  }

  /** The spare joins as a learner, is promoted, and is removed again, at random moments. */
  private changeMembership(): void {
    if (!chance(this.rand, 0.01)) return;
    const leader = this.live().find((m) => m.core.status().role === 'leader');
    if (!leader) return;
    const conf = leader.sm.conf;
    const type: ConfChange['type'] | undefined = conf.voters.includes(this.spare) ? 'remove' : conf.learners.includes(this.spare) ? 'promote' : this.spareJoined ? undefined : 'addLearner';
    if (!type) return;
    // Refused while another change is pending; a lost proposal is simply proposed again later.
    leader.core.propose(encodeProposal({ origin: leader.id, boot: leader.boot, id: 0, op: { type: 'member', change: { type, id: this.spare } } }), EntryType.ConfChange);
  }

  // ---- clients ----

  private issueClientOps(): void {
    for (let client = 0; client < CLIENTS; client++) {
      if (this.pending.has(client) || !chance(this.rand, 0.3)) continue;
      const member = pick(this.rand, this.live().filter((m) => !m.removed));
      if (!member) continue;
      const key = pick(this.rand, KEYS);
      const r = this.rand();
      const value = `${client}.${this.nextReq}`;
      const input: KvInput = r < 0.4 ? { op: 'put', key, value } : r < 0.75 ? { op: 'get', key } : { op: 'cas', key, expect: chance(this.rand, 0.3) ? null : this.recentValue(key), value };
      const req = this.nextReq++;
      const op: Operation = { client, input, call: this.now, ret: Infinity };
      if (input.op === 'get' && this.opts.localReads) {
        this.history.push({ ...op, ret: this.now + 0.5, output: { value: member.sm.kv.get(key) ?? null } });
        continue;
      } else if (input.op === 'get') {
        const ctx = new Uint8Array(4);
        new DataView(ctx.buffer).setUint32(0, req);
        member.core.readIndex(ctx);
      } else {
        const cmd: Command = { client, req, origin: member.id, boot: member.boot, input };
        // A proposal refused at once never took effect: it is not part of the history.
        if (!member.core.propose(encoder.encode(JSON.stringify(cmd))).ok) continue;
      }
      this.history.push(op);
      this.pending.set(client, { op, member: member.id, boot: member.boot, deadline: this.now + CLIENT_DEADLINE, req });
    }
  }

  private recentValue(key: string): string | null {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const inp = this.history[i]!.input;
      if (inp.key === key && inp.op !== 'get') return inp.value;
    }
    return null;
  }

  private finish(client: number, output: Operation['output']): void {
    const p = this.pending.get(client)!;
    p.op.ret = this.now + 0.5; // answers of a step come after its calls
    p.op.output = output;
    this.pending.delete(client);
    this.stats.operations++;
  }

  private expireClients(): void {
    for (const [client, p] of this.pending) if (p.deadline <= this.now) this.pending.delete(client);
  }

  private failClientsOn(member: number): void {
    for (const [client, p] of this.pending) if (p.member === member) this.pending.delete(client);
  }

  private onApplied(member: SimMember, e: Entry, result: unknown): void {
    this.safety.applied(member, e);
    this.stats.applied = Math.max(this.stats.applied, e.index);
    if (e.type === EntryType.ConfChange) {
      if (member.sm.conf.learners.includes(this.spare)) this.spareJoined = true;
      return;
    }
    if (!e.data.length) return;
    const cmd = JSON.parse(new TextDecoder().decode(e.data)) as Command;
    const p = this.pending.get(cmd.client);
    if (p && p.req === cmd.req && member.id === cmd.origin && member.boot === cmd.boot) this.finish(cmd.client, result as Operation['output']);
  }

  private onRead(member: SimMember, ctx: number): void {
    for (const [client, p] of this.pending) {
      if (p.req !== ctx || p.member !== member.id || p.boot !== member.boot) continue;
      const input = p.op.input;
      this.finish(client, { value: member.sm.kv.get(input.key) ?? null });
    }
  }

  // ---- the end ----

  private settle(): void {
    const limit = this.now + 30 * ELECTION_TICK + 2 * CLIENT_DEADLINE;
    for (; this.now < limit; this.now++) {
      this.step(false);
      if (!this.pending.size && this.converged()) break;
    }
    const leader = this.live().find((m) => m.core.status().role === 'leader');
    if (!leader) throw new Error(`no leader after the network healed (step ${this.now})`);
    // Members of the final configuration (a spare removed before it caught up may still run, outside it).
    const members = [...leader.sm.conf.voters, ...leader.sm.conf.learners].map((id) => this.members.get(id)!);
    if (!this.converged()) throw new Error(`members did not converge: applied ${members.map((m) => `${m.id}:${m.sm.applied}`).join(' ')}`);
    const reference = JSON.stringify([...leader.sm.kv].sort());
    for (const m of members) {
      const state = JSON.stringify([...m.sm.kv].sort());
      if (state !== reference) throw new Error(`member ${m.id}'s state differs from the leader's: ${state} vs ${reference}`);
    }
    const lin = checkLinearizable(this.history);
    if (lin.result === 'illegal') throw new Error(`history not linearizable on key ${lin.key}:\n${formatHistory(lin.ops)}`);
    if (lin.result === 'unknown') throw new Error(`linearizability check ran out of budget on key ${lin.key}`);
    this.stats.terms = leader.core.status().term;
  }

  private converged(): boolean {
    const leader = this.live().find((m) => m.core.status().role === 'leader');
    if (!leader) return false;
    const conf = leader.sm.conf;
    const members = [...conf.voters, ...conf.learners].map((id) => this.members.get(id)!);
    return members.every((m) => m.up && m.sm.applied === leader.sm.applied && m.core.status().commit === leader.core.status().commit);
  }
}
