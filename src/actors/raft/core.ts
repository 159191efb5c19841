// The Raft core (Ongaro's thesis): a pure state machine with no clock, I/O or randomness of its
// own. Inputs: tick(), step(message), propose(), readIndex(), persisted(). Output: ready(),
// which says what to persist, what to send and what to apply; advance() acknowledges it.
// Entries count toward commit only once durable: the leader's own via persisted(), a
// follower's through an appResp it sends only after its persisted(). The leader sends
// appends to followers in the same Ready that asks for its own write, so both run in parallel.
import { EntryType, type Entry, type HardState, type Message, type ReadState, type Ready, type Role } from './types.js';

export { EntryType };
export type { Entry, HardState, Message, Ready, ReadState, Role };

export interface RaftConfig {
  id: number;
  voters: number[];
  electionTick: number;
  heartbeatTick: number;
  random: () => number;
  checkQuorum?: boolean;
  maxEntriesPerMsg?: number;
  maxInflightMsgs?: number;
  /** Applied entries kept in memory behind the trim point (default 5000). */
  memoryLogMargin?: number;
  initial?: { hardState: HardState; entries: Entry[] };
  applied?: number;
}

interface Progress { match: number; next: number; active: boolean }
interface PendingRead { index: number; context: Uint8Array; acks: Set<number>; from: number }

export class RaftCore {
  private term = 0;
  private vote = 0;
  private lead = 0;
  private role: Role = 'follower';
  private log: Entry[] = [];
  private offset = 1;            // index of log[0]
  private trimmed = { index: 0, term: 0 }; // the last entry dropped from memory
  private commit = 0;
  private applied = 0;
  private durable = 0;           // highest index known fsynced locally
  private handedOut = 0;         // highest index given to the shell to persist
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private timeout = 0;
  private votes = new Map<number, boolean>();
  private progress = new Map<number, Progress>();
  private reads: PendingRead[] = [];
  private readsAwaitingCommit: { context: Uint8Array; from: number }[] = [];
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHard: HardState = { term: 0, vote: 0, commit: 0 };
  private prevSoft = { leader: 0, role: 'follower' as Role };
  private pending?: { lastEntry: number; lastApplied: number; hard: HardState; soft: { leader: number; role: Role } };

  constructor(private readonly cfg: RaftConfig) {
    if (cfg.initial) {
      const { hardState, entries } = cfg.initial;
      this.term = hardState.term;
      this.vote = hardState.vote;
      this.commit = hardState.commit;
      this.log = [...entries];
      this.offset = entries[0]?.index ?? 1;
      this.durable = this.handedOut = this.lastIndex();
      this.prevHard = { ...hardState };
    }
    this.applied = cfg.applied ?? 0;
    this.resetTimeout();
    if (this.quorum() === 1 && cfg.voters.includes(cfg.id)) this.campaign();
    this.trimLog(); // a replayed log need not stay in memory below what is applied
  }

  // ---- log helpers ----
  private lastIndex(): number { return this.offset + this.log.length - 1; }
  private termAt(i: number): number {
    if (i === this.trimmed.index) return this.trimmed.term;
    return i < this.offset ? 0 : this.log[i - this.offset]?.term ?? 0;
  }
  private lastTerm(): number { return this.termAt(this.lastIndex()); }
  private slice(lo: number, hi: number): Entry[] { return this.log.slice(lo - this.offset, hi - this.offset + 1); }
  private quorum(): number { return Math.floor(this.cfg.voters.length / 2) + 1; }
  private peers(): number[] { return this.cfg.voters.filter((v) => v !== this.cfg.id); }

  private appendLocal(entries: Entry[]): void {
    if (!entries.length) return;
    const first = entries[0]!.index;
    if (first <= this.lastIndex()) {
      this.log.length = first - this.offset;       // drop a conflicting suffix
      this.durable = Math.min(this.durable, first - 1);
      this.handedOut = Math.min(this.handedOut, first - 1);
    }
    this.log.push(...entries);
  }

  private send(m: Omit<Message, 'from' | 'term'> & { term?: number }): void {
    this.msgs.push({ from: this.cfg.id, term: this.term, ...m } as Message);
  }

  private resetTimeout(): void {
    this.electionElapsed = 0;
    this.timeout = this.cfg.electionTick + Math.floor(this.cfg.random() * this.cfg.electionTick);
  }

  // ---- roles ----
  private becomeFollower(term: number, lead: number): void {
    if (term !== this.term) this.vote = 0;
    this.term = term;
    this.lead = lead;
    this.role = 'follower';
    this.reads = [];
    this.resetTimeout();
  }

  private campaign(): void {
    this.term++;
    this.vote = this.cfg.id;
    this.lead = 0;
    this.role = 'candidate';
    this.votes = new Map([[this.cfg.id, true]]);
    this.resetTimeout();
    if (this.quorum() === 1) return this.becomeLeader();
    for (const p of this.peers()) this.send({ type: 'vote', to: p, index: this.lastIndex(), logTerm: this.lastTerm() });
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.lead = this.cfg.id;
    this.heartbeatElapsed = 0;
    this.progress = new Map(this.cfg.voters.map((v) => [v, { match: v === this.cfg.id ? this.durable : 0, next: this.lastIndex() + 1, active: true }]));
    this.appendLocal([{ term: this.term, index: this.lastIndex() + 1, type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.broadcastAppend();
  }

  // ---- inputs ----
  tick(): void {
    if (this.role === 'leader') {
      if (++this.heartbeatElapsed >= this.cfg.heartbeatTick) {
        this.heartbeatElapsed = 0;
        for (const p of this.peers()) this.sendHeartbeat(p);
      }
      if (++this.electionElapsed >= this.cfg.electionTick) {
        this.electionElapsed = 0;
        if (this.cfg.checkQuorum && !this.quorumActive()) this.becomeFollower(this.term, 0);
      }
      return;
    }
    if (++this.electionElapsed >= this.timeout && this.cfg.voters.includes(this.cfg.id)) this.campaign();
  }

  private quorumActive(): boolean {
    let active = 1;
    for (const [id, pr] of this.progress) {
      if (id === this.cfg.id) continue;
      if (pr.active) active++;
      pr.active = false;
    }
    return active >= this.quorum();
  }

  propose(data: Uint8Array): { ok: true } | { ok: false; reason: 'noLeader' } {
    if (this.role === 'leader') {
      this.appendLocal([{ term: this.term, index: this.lastIndex() + 1, type: EntryType.Normal, data }]);
      this.broadcastAppend();
      return { ok: true };
    }
    if (!this.lead) return { ok: false, reason: 'noLeader' };
    this.send({ type: 'prop', to: this.lead, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] });
    return { ok: true };
  }

  readIndex(context: Uint8Array): void {
    this.handleReadIndex(context, this.cfg.id);
  }

  private handleReadIndex(context: Uint8Array, from: number): void {
    if (this.role !== 'leader') {
      if (this.lead) this.send({ type: 'readIndex', to: this.lead, context });
      return;
    }
    // A new leader knows its commit index only once an entry of its own term is committed.
    if (this.termAt(this.commit) !== this.term) {
      this.readsAwaitingCommit.push({ context, from });
      return;
    }
    if (this.quorum() === 1) return this.answerRead({ index: this.commit, context, acks: new Set(), from });
    this.reads.push({ index: this.commit, context, acks: new Set([this.cfg.id]), from });
    for (const p of this.peers()) this.sendHeartbeat(p, context);
  }

  private answerRead(r: PendingRead): void {
    if (r.from === this.cfg.id) this.readStates.push({ index: r.index, context: r.context });
    else this.send({ type: 'readIndexResp', to: r.from, index: r.index, context: r.context });
  }

  persisted(index: number, term: number): void {
    if (this.termAt(index) !== term || index <= this.durable) return;
    this.durable = Math.min(index, this.handedOut);
    if (this.role === 'leader') {
      this.progress.get(this.cfg.id)!.match = this.durable;
      this.maybeCommit();
    } else if (this.lead) {
      this.send({ type: 'appResp', to: this.lead, index: this.durable });
    }
  }

  step(m: Message): void {
    if (m.term > this.term) {
      const fromLeader = m.type === 'app' || m.type === 'heartbeat';
      this.becomeFollower(m.term, fromLeader ? m.from : 0);
    } else if (m.term < this.term) {
      if (m.type === 'vote') this.send({ type: 'voteResp', to: m.from, reject: true });
      else if (m.type === 'app' || m.type === 'heartbeat') this.send({ type: 'appResp', to: m.from, index: 0 });
      return;
    }
    switch (m.type) {
      case 'vote': {
        const upToDate = m.logTerm! > this.lastTerm() || (m.logTerm === this.lastTerm() && m.index! >= this.lastIndex());
        const grant = (this.vote === 0 || this.vote === m.from) && upToDate && this.lead === 0;
        if (grant) {
          this.vote = m.from;
          this.resetTimeout();
        }
        this.send({ type: 'voteResp', to: m.from, reject: !grant });
        return;
      }
      case 'voteResp': {
        if (this.role !== 'candidate') return;
        this.votes.set(m.from, !m.reject);
        const granted = [...this.votes.values()].filter(Boolean).length;
        if (granted >= this.quorum()) this.becomeLeader();
        else if (this.votes.size - granted >= this.quorum()) this.becomeFollower(this.term, 0);
        return;
      }
      case 'app': return this.handleAppend(m);
      case 'heartbeat': {
        this.lead = m.from;
        this.role = 'follower';
        this.electionElapsed = 0;
        this.commit = Math.max(this.commit, Math.min(m.commit ?? 0, this.lastIndex()));
        this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
        return;
      }
      case 'appResp': return this.handleAppendResp(m);
      case 'heartbeatResp': {
        const pr = this.progress.get(m.from);
        if (this.role !== 'leader' || !pr) return;
        pr.active = true;
        if (pr.match < this.lastIndex()) this.sendAppend(m.from);
        if (m.context) this.ackRead(m.context, m.from);
        return;
      }
      case 'prop': {
        for (const e of m.entries ?? []) this.propose(e.data);
        return;
      }
      case 'readIndex': return this.handleReadIndex(m.context!, m.from);
      case 'readIndexResp': {
        this.readStates.push({ index: m.index!, context: m.context! });
        return;
      }
    }
  }

  private handleAppend(m: Message): void {
    this.lead = m.from;
    this.role = 'follower';
    this.electionElapsed = 0;
    const prev = m.index!;
    if (prev > this.lastIndex() || this.termAt(prev) !== m.logTerm) {
      this.send({ type: 'appResp', to: m.from, reject: true, index: prev, rejectHint: Math.min(this.lastIndex(), prev - 1) });
      return;
    }
    const entries = m.entries ?? [];
    let firstNew = entries.findIndex((e) => this.termAt(e.index) !== e.term || e.index > this.lastIndex());
    if (firstNew >= 0) this.appendLocal(entries.slice(firstNew));
    const lastNew = prev + entries.length;
    this.commit = Math.max(this.commit, Math.min(m.commit ?? 0, lastNew));
    if (this.durable >= lastNew) this.send({ type: 'appResp', to: m.from, index: lastNew });
  }

  private handleAppendResp(m: Message): void {
    const pr = this.progress.get(m.from);
    if (this.role !== 'leader' || !pr) return;
    pr.active = true;
    if (m.reject) {
      pr.next = Math.max(1, Math.min(pr.next - 1, (m.rejectHint ?? 0) + 1));
      this.sendAppend(m.from);
      return;
    }
    if (m.index! > pr.match) {
      pr.match = m.index!;
      pr.next = Math.max(pr.next, pr.match + 1);
      if (this.maybeCommit()) this.broadcastAppend();
      else if (pr.next <= this.lastIndex()) this.sendAppend(m.from);
    }
  }

  private maybeCommit(): boolean {
    const matches = [...this.progress.values()].map((p) => p.match).sort((a, b) => b - a);
    const q = matches[this.quorum() - 1]!;
    if (q <= this.commit || this.termAt(q) !== this.term) return false;
    this.commit = q;
    const waiting = this.readsAwaitingCommit.splice(0);
    for (const r of waiting) this.handleReadIndex(r.context, r.from);
    return true;
  }

  private ackRead(context: Uint8Array, from: number): void {
    const key = Buffer.from(context).toString('hex');
    const at = this.reads.findIndex((r) => Buffer.from(r.context).toString('hex') === key);
    if (at < 0) return;
    this.reads[at]!.acks.add(from);
    if (this.reads[at]!.acks.size < this.quorum()) return;
    // Confirming one read confirms every earlier one too.
    for (const r of this.reads.splice(0, at + 1)) this.answerRead(r);
  }

  private sendHeartbeat(to: number, context?: Uint8Array): void {
    const pr = this.progress.get(to);
    this.send({ type: 'heartbeat', to, commit: Math.min(this.commit, pr?.match ?? 0), context });
  }

  private broadcastAppend(): void {
    for (const p of this.peers()) this.sendAppend(p);
  }

  private sendAppend(to: number): void {
    const pr = this.progress.get(to)!;
    const maxEntries = this.cfg.maxEntriesPerMsg ?? 256;
    const maxInflight = (this.cfg.maxInflightMsgs ?? 64) * maxEntries;
    if (pr.next - pr.match > maxInflight) return; // bounded window: wait for acknowledgements
    const prev = pr.next - 1;
    const last = Math.min(this.lastIndex(), prev + maxEntries);
    const entries = this.slice(pr.next, last);
    this.send({ type: 'app', to, index: prev, logTerm: this.termAt(prev), entries, commit: this.commit });
    pr.next = last + 1; // optimistic: pipelined; a reject moves it back
  }

  // ---- output ----
  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.commit };
  }

  ready(): Ready | null {
    const hard = this.hardState();
    const soft = { leader: this.lead, role: this.role };
    const entries = this.slice(this.handedOut + 1, this.lastIndex());
    const applyTo = Math.min(this.commit, this.durable);
    const committedEntries = applyTo > this.applied ? this.slice(this.applied + 1, applyTo) : [];
    const hardChanged = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote || hard.commit !== this.prevHard.commit;
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    if (!hardChanged && !softChanged && !entries.length && !committedEntries.length && !this.msgs.length && !this.readStates.length) return null;
    const rd: Ready = {
      entries,
      messages: this.msgs,
      committedEntries,
      readStates: this.readStates,
      ...(hardChanged ? { hardState: hard } : {}),
      ...(softChanged ? { softState: soft } : {}),
    };
    this.pending = { lastEntry: entries.at(-1)?.index ?? this.handedOut, lastApplied: committedEntries.at(-1)?.index ?? this.applied, hard, soft };
    this.msgs = [];
    this.readStates = [];
    return rd;
  }

  advance(): void {
    if (!this.pending) return;
    this.handedOut = Math.max(this.handedOut, this.pending.lastEntry);
    this.applied = this.pending.lastApplied;
    this.prevHard = this.pending.hard;
    this.prevSoft = this.pending.soft;
    this.pending = undefined;
    this.trimLog();
  }

  // Entries applied here and held by every follower are kept only in the WAL, so memory stays
  // bounded; a margin stays in memory for followers that fall slightly behind.
  private trimLog(): void {
    const margin = this.cfg.memoryLogMargin ?? 5000;
    let upTo = Math.min(this.applied, this.durable) - margin;
    if (this.role === 'leader') for (const [id, pr] of this.progress) if (id !== this.cfg.id) upTo = Math.min(upTo, pr.match - margin);
    if (upTo - this.offset < margin) return;
    this.trimmed = { index: upTo, term: this.termAt(upTo) };
    this.log.splice(0, upTo - this.offset + 1);
    this.offset = upTo + 1;
  }

  status() {
    return { id: this.cfg.id, term: this.term, leader: this.lead, role: this.role, commit: this.commit, applied: this.applied, lastIndex: this.lastIndex() };
  }
}
