// One simulated kvd member: a RaftCore inside a model of the raft actor's shell. The WAL has a
// written-but-unsynced tail that a crash loses and a group fsync that completes later (the real
// shell's completes at once, one of the orders simulated); the messages of a Ready that changed
// the term, vote or log wait for its fsync, except the leader's appends (as in the real shell).
// The state machine (a key-value map with its applied index, term and membership) is durable
// at each apply, as the store is once flushed.
import { RaftCore, EntryType, type Entry, type HardState, type Message, type Ready, type SnapshotMeta } from '../../src/actors/raft/core.js';
import { applyConfChange, confChangeOf, type ConfState } from '../../src/actors/raft/confchange.js';
import type { Rand } from './prng.js';
import { replayRecord, type Replayed } from '../../src/actors/wal/wal.js';
import { RecordType } from '../../src/actors/wal/records.js';
import { between } from './prng.js';

export interface StateMachine { kv: Map<string, string>; applied: number; appliedTerm: number; conf: ConfState; removed: Set<number> }

/** A client command as stored in a normal entry. */
export interface Command { client: number; req: number; origin: number; boot: number; input: { op: 'put'; key: string; value: string } | { op: 'cas'; key: string; expect: string | null; value: string } }

export interface SnapshotTransfer { meta: SnapshotMeta; kv: Map<string, string>; removed: Set<number> }

export interface MemberHooks {
  send(from: number, m: Message): void;
  sendSnapshot(from: number, m: Message, snap: SnapshotTransfer): void;
  /** An entry applied by this member (for the safety checks and the clients). */
  applied(member: SimMember, e: Entry, result: unknown): void;
  /** Entries written to this member's log (for the log matching check). */
  wrote(member: SimMember, entries: Entry[]): void;
  readState(member: SimMember, ctx: number, index: number): void;
  /** A message as the core produced it (it may leave later). */
  produced(member: SimMember, m: Message): void;
}

const decoder = new TextDecoder();

interface Write { seq: number; entries: Entry[]; hardState?: HardState; restored?: SnapshotMeta; last: { index: number; term: number } }

export class SimMember {
  up = true;
  removed = false;
  boot = 0;
  core!: RaftCore;
  sm: StateMachine;
  /** The synced WAL. */
  private durable: Replayed = { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
  private writes: Write[] = [];
  private seq = 0;
  private sync?: { upTo: number; doneAt: number };
  private afterSync: { seq: number; messages: Message[] }[] = [];
  private lastHard: HardState = { term: 0, vote: 0, commit: 0 };
  private lastWritten = { index: 0, term: 0 };
  /** Every entry written (synced or not), for the leader completeness check. */
  readonly log = new Map<number, Entry>();
  snapshotIndex = 0;
  /** fsyncs do not complete before this step (a stalled disk). */
  stallUntil = 0;
  /** Reads confirmed by the core, waiting until applied reaches their index. */
  private parkedReads: { ctx: number; index: number }[] = [];

  /** `bootstrap`: the first entries of a new cluster's log (one ConfChange per initial member), as kvd writes them. */
  constructor(
    readonly id: number,
    bootstrap: Entry[],
    private readonly rand: Rand,
    private readonly hooks: MemberHooks,
    private readonly opts: { electionTick: number; memoryLogMargin: number; compactEvery: number; ackBeforeSync?: boolean },
  ) {
    this.sm = { kv: new Map(), applied: 0, appliedTerm: 0, conf: { voters: [], learners: [] }, removed: new Set() };
    if (bootstrap.length) this.durable = { hardState: { term: 1, vote: 0, commit: bootstrap.length }, entries: [...bootstrap] };
    for (const e of bootstrap) this.log.set(e.index, e);
    this.start();
  }

  private start(): void {
    this.core = new RaftCore({
      id: this.id,
      voters: this.sm.conf.voters,
      learners: this.sm.conf.learners,
      electionTick: this.opts.electionTick,
      heartbeatTick: 1,
      random: this.rand,
      checkQuorum: true,
      preVote: true,
      memoryLogMargin: this.opts.memoryLogMargin,
      initial: { hardState: this.durable.hardState, entries: this.durable.entries, snapshot: this.durable.snapshot },
      applied: this.sm.applied,
    });
    this.lastHard = this.durable.hardState;
    const tail = this.durable.entries.at(-1);
    this.lastWritten = tail ? { index: tail.index, term: tail.term } : { index: this.durable.snapshot?.index ?? 0, term: this.durable.snapshot?.term ?? 0 };
  }

  /**
   * Loses what was not synced, except that a prefix of the unsynced writes may have reached
   * the disk anyway (the kernel flushes when it likes); the state machine and the synced WAL stay.
   */
  crash(): void {
    this.up = false;
    const reachedDisk = between(this.rand, 0, this.writes.length);
    for (const w of this.writes.slice(0, reachedDisk)) this.applyToDurable(w);
    this.writes = [];
    this.sync = undefined;
    this.afterSync = [];
    this.parkedReads = [];
    this.log.clear();
    for (const e of this.durable.entries) this.log.set(e.index, e);
    this.snapshotIndex = this.durable.snapshot?.index ?? 0;
  }

  restart(): void {
    this.up = true;
    this.boot++;
    this.start();
  }

  tick(): void {
    this.core.tick();
  }

  step(m: Message): void {
    this.core.step(m);
  }

  installSnapshot(m: Message, snap: SnapshotTransfer): void {
    // An older snapshot than what is applied is only acknowledged, never installed.
    if (snap.meta.index > this.core.status().commit) {
      this.sm = { kv: new Map(snap.kv), applied: snap.meta.index, appliedTerm: snap.meta.term, conf: snap.meta.conf, removed: new Set(snap.removed) };
    }
    this.core.step({ ...m, snapshot: snap.meta });
  }

  /** Completes a due fsync: the covered writes become durable and held messages leave. */
  advanceClock(now: number): void {
    if (!this.sync || this.sync.doneAt > now || this.stallUntil > now) return;
    const upTo = this.sync.upTo;
    this.sync = undefined;
    let last: { index: number; term: number } | undefined;
    while (this.writes.length && this.writes[0]!.seq <= upTo) {
      const w = this.writes.shift()!;
      this.applyToDurable(w);
      last = w.last;
    }
    if (last && last.index && !this.opts.ackBeforeSync) this.core.persisted(last.index, last.term);
    while (this.afterSync.length && this.afterSync[0]!.seq <= upTo) for (const m of this.afterSync.shift()!.messages) this.hooks.send(this.id, m);
    if (this.writes.length) this.sync = { upTo: this.seq, doneAt: now + between(this.rand, 1, 2) };
  }

  /** What the synced WAL holds: the hard state and the entry at `index` (undefined if compacted or absent). */
  durableState(index: number): { hardState: HardState; entry?: Entry; compactedTo: number } {
    return { hardState: this.durable.hardState, entry: this.durable.entries.find((e) => e.index === index), compactedTo: this.durable.snapshot?.index ?? 0 };
  }

  /** The records the real WAL writes for `w`, replayed as its start-up does. */
  private applyToDurable(w: Write): void {
    if (w.restored) replayRecord(this.durable, { type: RecordType.SnapshotMark, index: w.restored.index, term: w.restored.term });
    for (const entry of w.entries) replayRecord(this.durable, { type: RecordType.Entry, entry });
    if (w.hardState) replayRecord(this.durable, { type: RecordType.HardState, hardState: w.hardState });
  }

  /** Handles every Ready the core has. */
  drain(now: number): void {
    let rd: Ready | null;
    while (this.up && (rd = this.core.ready())) this.handle(rd, now);
  }

  private handle(rd: Ready, now: number): void {
    const mustSync = rd.entries.length > 0 || !!rd.snapshot || (!!rd.hardState && (rd.hardState.term !== this.lastHard.term || rd.hardState.vote !== this.lastHard.vote));
    if (rd.entries.length || rd.hardState || rd.snapshot) {
      if (rd.snapshot) {
        if (rd.snapshot.index > this.lastWritten.index) this.lastWritten = { index: rd.snapshot.index, term: rd.snapshot.term };
        this.snapshotIndex = rd.snapshot.index;
        for (const i of [...this.log.keys()]) if (i <= rd.snapshot.index) this.log.delete(i);
      }
      const tail = rd.entries.at(-1);
      if (tail) this.lastWritten = { index: tail.index, term: tail.term };
      if (rd.hardState) this.lastHard = rd.hardState;
      this.writes.push({ seq: ++this.seq, entries: rd.entries, hardState: rd.hardState, restored: rd.snapshot, last: { ...this.lastWritten } });
      if (!this.sync) this.sync = { upTo: this.seq, doneAt: now + between(this.rand, 1, 2) };
      if (rd.entries.length) {
        const first = rd.entries[0]!.index;
        for (const i of [...this.log.keys()]) if (i >= first) this.log.delete(i);
        for (const e of rd.entries) this.log.set(e.index, e);
        this.hooks.wrote(this, rd.entries);
      }
    }
    const later: Message[] = [];
    for (const m of rd.messages) {
      this.hooks.produced(this, m);
      if (m.type === 'snap') this.hooks.sendSnapshot(this.id, m, { meta: { index: this.sm.applied, term: this.sm.appliedTerm, conf: this.sm.conf }, kv: new Map(this.sm.kv), removed: new Set(this.sm.removed) });
      else if (!mustSync || m.type === 'app' || this.opts.ackBeforeSync) this.hooks.send(this.id, m);
      else later.push(m);
    }
    if (later.length) this.afterSync.push({ seq: this.seq, messages: later });
    for (const e of rd.committedEntries) this.apply(e);
    for (const rs of rd.readStates) this.parkedReads.push({ ctx: new DataView(rs.context.buffer, rs.context.byteOffset).getUint32(0), index: rs.index });
    this.core.advance();
    if (this.opts.ackBeforeSync && rd.entries.length) this.core.persisted(this.lastWritten.index, this.lastWritten.term);
    this.answerReads();
    this.compact();
  }

  private apply(e: Entry): void {
    if (e.index <= this.sm.applied) return;
    let result: unknown;
    if (e.type === EntryType.ConfChange) {
      const change = confChangeOf(e.data);
      this.sm.conf = applyConfChange(this.sm.conf, change);
      if (change.type === 'remove') this.sm.removed.add(change.id);
      if (change.type === 'remove' && change.id === this.id) this.removed = true;
    } else if (e.data.length) {
      const cmd = JSON.parse(decoder.decode(e.data)) as Command;
      const i = cmd.input;
      const current = this.sm.kv.get(i.key) ?? null;
      if (i.op === 'put') {
        this.sm.kv.set(i.key, i.value);
        result = {};
      } else {
        const ok = current === i.expect;
        if (ok) this.sm.kv.set(i.key, i.value);
        result = { ok };
      }
    }
    this.sm.applied = e.index;
    this.sm.appliedTerm = e.term;
    this.hooks.applied(this, e, result);
  }

  private answerReads(): void {
    const ready = this.parkedReads.filter((r) => r.index <= this.sm.applied);
    if (!ready.length) return;
    this.parkedReads = this.parkedReads.filter((r) => r.index > this.sm.applied);
    for (const r of ready) this.hooks.readState(this, r.ctx, r.index);
  }

  // Log compaction: the state machine is durable, so the synced WAL keeps only what follows it.
  private compact(): void {
    const d = this.durable;
    if (this.sm.applied - (d.snapshot?.index ?? 0) < this.opts.compactEvery) return;
    const upTo = Math.min(this.sm.applied, d.entries.at(-1)?.index ?? 0);
    const at = d.entries.find((e) => e.index === upTo);
    if (at) replayRecord(d, { type: RecordType.SnapshotMark, index: at.index, term: at.term });
  }
}
