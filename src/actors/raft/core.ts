// The Raft core (Ongaro's thesis): a pure state machine with no clock, I/O or randomness of its
// own. Inputs: tick(), step(message), propose(), readIndex(), persisted(). Output: ready(),
// which says what to persist, what to send and what to apply; advance() acknowledges it.
// Entries count toward commit only once durable: the leader's own via persisted(), a
// follower's through an appResp it sends only after its persisted(). The leader sends
// appends to followers in the same Ready that asks for its own write, so both run in parallel.
// Membership changes take effect when applied (as etcd), one at a time; learners replicate
// but neither vote nor count toward a quorum.
import { EntryType, type Entry, type HardState, type Message, type ReadState, type Ready, type Role, type SnapshotMeta } from './types.js';
import { applyConfChange, confChangeOf, type ConfState } from './confchange.js';

export { EntryType };
export type { Entry, HardState, Message, Ready, ReadState, Role, SnapshotMeta, ConfState };

export interface RaftConfig {
  id: number;
  /** The configuration before the entries of `initial` (a fresh member that joins starts with none). */
  voters: number[];
  learners?: number[];
  electionTick: number;
  heartbeatTick: number;
  random: () => number;
  checkQuorum?: boolean;
  preVote?: boolean;
  maxEntriesPerMsg?: number;
  maxInflightMsgs?: number;
  /** Applied entries kept in memory behind the trim point (default 5000); a follower further behind gets a snapshot. */
  memoryLogMargin?: number;
  initial?: { hardState: HardState; entries: Entry[]; snapshot?: { index: number; term: number } };
  applied?: number;
}

export type ProposeResult = { ok: true } | { ok: false; reason: 'noLeader' | 'pendingConf' };

interface Progress { match: number; next: number; active: boolean; snapshotPending: boolean }
interface PendingRead { index: number; context: Uint8Array; acks: Set<number>; from: number }

export class RaftCore {
  private term = 0;
  private vote = 0;
  private lead = 0;
  private role: Role = 'follower';
  private conf: ConfState;
  private log: Entry[] = [];
  private offset = 1;            // index of log[0]
  private trimmed = { index: 0, term: 0 }; // the last entry not in memory (trimmed or in a snapshot)
  private commit = 0;
  private applied = 0;
  private durable = 0;           // highest index known fsynced locally
  private handedOut = 0;         // highest index given to the shell to persist
  private leaderMatch = { term: 0, index: 0 }; // a follower's log matches its leader's up to index, in term
  private pendingConfIndex = 0;  // a leader proposes one membership change at a time
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private timeout = 0;
  private votes = new Map<number, boolean>();
  private progress = new Map<number, Progress>();
  private transferee = 0;
  private transferElapsed = 0;
  private reads: PendingRead[] = [];
  private readsAwaitingCommit: { context: Uint8Array; from: number }[] = [];
  private msgs: Message[] = [];
  // Proposals made since the last Ready leave with it: a leader's as one append per follower,
  // a follower's as one message to its leader (not one message per proposal).
  private appendsDue = false;
  private forwarding: Entry[] = [];
  private readStates: ReadState[] = [];
  private restored?: SnapshotMeta;
  private prevHard: HardState = { term: 0, vote: 0, commit: 0 };
  private prevSoft = { leader: 0, role: 'follower' as Role };
  private pending?: { lastEntry: number; lastApplied: number; hard: HardState; soft: { leader: number; role: Role }; confEntries: Entry[] };

  constructor(private readonly cfg: RaftConfig) {
    this.conf = { voters: [...cfg.voters], learners: [...(cfg.learners ?? [])] };
    this.applied = cfg.applied ?? 0;
    if (cfg.initial) {
      const { hardState, entries, snapshot } = cfg.initial;
      this.term = hardState.term;
      this.vote = hardState.vote;
      if (snapshot) {
        this.trimmed = { ...snapshot };
        this.offset = snapshot.index + 1;
      }
      this.log = entries.filter((e) => e.index >= this.offset);
      if (this.log.length) this.offset = this.log[0]!.index;
      // The state machine may be ahead of the last synced commit (a snapshot installed).
      this.commit = Math.min(Math.max(hardState.commit, this.applied), this.lastIndex());
      this.durable = this.handedOut = this.lastIndex();
      this.prevHard = { ...hardState };
      for (const e of this.log) if (e.index <= this.applied && e.type === EntryType.ConfChange) this.conf = applyConfChange(this.conf, confChangeOf(e.data));
    }
    this.resetTimeout();
    this.campaignIfAlone();
    this.trimLog(); // a replayed log need not stay in memory below what is applied
  }

  // ---- log helpers ----
  lastIndex(): number { return this.offset + this.log.length - 1; }
  private termAt(i: number): number {
    if (i === this.trimmed.index) return this.trimmed.term;
    return i < this.offset ? 0 : this.log[i - this.offset]?.term ?? 0;
  }
  private lastTerm(): number { return this.termAt(this.lastIndex()); }
  private slice(lo: number, hi: number): Entry[] { return this.log.slice(lo - this.offset, hi - this.offset + 1); }
  private quorum(): number { return Math.floor(this.conf.voters.length / 2) + 1; }
  private isVoter(id = this.cfg.id): boolean { return this.conf.voters.includes(id); }
  /** Everyone this member replicates to when leading: voters and learners but itself. */
  private peers(): number[] { return [...this.conf.voters, ...this.conf.learners].filter((v) => v !== this.cfg.id); }
  private voterPeers(): number[] { return this.conf.voters.filter((v) => v !== this.cfg.id); }

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
    this.msgs.push(this.stamped(m));
  }

  /** A message from this member, in its current term unless it names another. */
  private stamped(m: Omit<Message, 'from' | 'term'> & { term?: number }): Message {
    return { from: this.cfg.id, term: this.term, ...m } as Message;
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
    this.transferee = 0;
    this.resetTimeout();
  }

  private campaignIfAlone(): void {
    if (this.role !== 'leader' && this.quorum() === 1 && this.isVoter()) this.campaign(false);
  }

  /** PreVote (thesis 9.6): ask whether an election could be won before disrupting the term. */
  private preCampaign(): void {
    this.role = 'preCandidate';
    this.lead = 0;
    this.votes = new Map([[this.cfg.id, true]]);
    this.resetTimeout();
    for (const p of this.voterPeers()) this.send({ type: 'preVote', to: p, term: this.term + 1, index: this.lastIndex(), logTerm: this.lastTerm() });
  }

  private campaign(force: boolean): void {
    this.term++;
    this.vote = this.cfg.id;
    this.lead = 0;
    this.role = 'candidate';
    this.votes = new Map([[this.cfg.id, true]]);
    this.resetTimeout();
    if (this.quorum() === 1) return this.becomeLeader();
    for (const p of this.voterPeers()) this.send({ type: 'vote', to: p, index: this.lastIndex(), logTerm: this.lastTerm(), ...(force ? { force } : {}) });
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.lead = this.cfg.id;
    this.heartbeatElapsed = 0;
    this.transferee = 0;
    this.progress = new Map();
    for (const id of [...this.conf.voters, ...this.conf.learners]) this.addProgress(id);
    // Any membership change in the uncommitted tail counts as pending.
    this.pendingConfIndex = this.lastIndex();
    this.appendLocal([{ term: this.term, index: this.lastIndex() + 1, type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.broadcastAppend();
  }

  private addProgress(id: number): void {
    if (this.progress.has(id)) return;
    const match = id === this.cfg.id ? this.durable : 0;
    this.progress.set(id, { match, next: this.lastIndex() + 1, active: true, snapshotPending: false });
  }

  // ---- inputs ----
  tick(): void {
    if (this.role === 'leader') {
      if (++this.heartbeatElapsed >= this.cfg.heartbeatTick) {
        this.heartbeatElapsed = 0;
        for (const p of this.peers()) this.sendHeartbeat(p);
      }
      if (this.transferee && ++this.transferElapsed >= this.cfg.electionTick) this.transferee = 0;
      if (++this.electionElapsed >= this.cfg.electionTick) {
        this.electionElapsed = 0;
        if (this.cfg.checkQuorum && !this.quorumActive()) this.becomeFollower(this.term, 0);
      }
      return;
    }
    if (++this.electionElapsed >= this.timeout && this.isVoter()) {
      if (this.cfg.preVote) this.preCampaign();
      else this.campaign(false);
    }
  }

  private quorumActive(): boolean {
    let active = 1;
    for (const [id, pr] of this.progress) {
      if (id === this.cfg.id) continue;
      if (pr.active && this.isVoter(id)) active++;
      pr.active = false;
    }
    return active >= this.quorum();
  }

  propose(data: Uint8Array, type: EntryType = EntryType.Normal): ProposeResult {
    if (this.role === 'leader' && !this.transferee) {
      if (type === EntryType.ConfChange) {
        if (this.pendingConfIndex > this.applied) return { ok: false, reason: 'pendingConf' };
        this.pendingConfIndex = this.lastIndex() + 1;
      }
      this.appendLocal([{ term: this.term, index: this.lastIndex() + 1, type, data }]);
      this.appendsDue = true;
      return { ok: true };
    }
    if (!this.lead || this.lead === this.cfg.id) return { ok: false, reason: 'noLeader' };
    this.forwarding.push({ term: 0, index: 0, type, data });
    return { ok: true };
  }

  private sendProposals(): void {
    if (this.appendsDue && this.role === 'leader') {
      for (const p of this.peers()) {
        const pr = this.progress.get(p);
        if (pr && pr.next <= this.lastIndex()) this.sendAppend(p);
      }
    }
    this.appendsDue = false;
    // Without a leader now, they are dropped, as a message to a lost leader would be.
    if (this.forwarding.length && this.lead && this.lead !== this.cfg.id) this.send({ type: 'prop', to: this.lead, entries: this.forwarding });
    this.forwarding = [];
  }

  /** Hands leadership to `to` once its log is complete (thesis 3.10); false if it cannot be a leader. */
  transferLeadership(to: number): boolean {
    if (this.role !== 'leader' || !this.isVoter(to)) return false;
    if (to === this.cfg.id) return true;
    this.transferee = to;
    this.transferElapsed = 0;
    if (this.progress.get(to)!.match === this.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to);
    return true;
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
    for (const p of this.voterPeers()) this.sendHeartbeat(p, context);
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
      // Followers learn the new commit index at once, not at the next heartbeat.
      if (this.maybeCommit()) this.broadcastAppend();
    } else if (this.lead && this.leaderMatch.term === this.term) {
      // Beyond what an append of this term matched, a durable log may end in a deposed leader's entries.
      this.send({ type: 'appResp', to: this.lead, index: Math.min(this.durable, this.leaderMatch.index) });
    }
  }

  /**
   * The shell's report on a snapshot sent to `to`: installed there up to `index`, or failed
   * (no index). Either way replication resumes with the next probe.
   */
  snapshotReported(to: number, index?: number): void {
    const pr = this.progress.get(to);
    if (!pr) return;
    pr.snapshotPending = false;
    if (index !== undefined) pr.next = Math.max(pr.next, index + 1);
  }

  step(m: Message): void {
    if (m.term > this.term) {
      const campaigning = m.type === 'vote' || m.type === 'preVote';
      // With CheckQuorum a member that hears from its leader ignores disruptive candidates.
      if (campaigning && !m.force && this.cfg.checkQuorum && this.lead && this.electionElapsed < this.cfg.electionTick) return;
      const termStays = m.type === 'preVote' || (m.type === 'preVoteResp' && !m.reject);
      if (!termStays) {
        const fromLeader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
        this.becomeFollower(m.term, fromLeader ? m.from : 0);
      }
    } else if (m.term < this.term) {
      if (m.type === 'vote') this.send({ type: 'voteResp', to: m.from, reject: true });
      else if (m.type === 'preVote') this.send({ type: 'preVoteResp', to: m.from, reject: true });
      else if (m.type === 'app' || m.type === 'heartbeat') this.send({ type: 'appResp', to: m.from, index: 0 });
      return;
    }
    switch (m.type) {
      case 'vote':
      case 'preVote': {
        // A repeated vote request gets no second grant: it would leave at once, maybe before the
        // Ready that records the vote is durable (the first grant leaves with that Ready).
        if (m.type === 'vote' && this.vote === m.from) return;
        const upToDate = m.logTerm! > this.lastTerm() || (m.logTerm === this.lastTerm() && m.index! >= this.lastIndex());
        const canVote = m.type === 'preVote' ? m.term > this.term || this.lead === 0 : this.vote === 0 && this.lead === 0;
        const grant = canVote && upToDate;
        if (grant && m.type === 'vote') {
          this.vote = m.from;
          this.resetTimeout();
        }
        const type = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
        this.send({ type, to: m.from, reject: !grant, ...(grant ? { term: m.term } : {}) });
        return;
      }
      case 'voteResp':
      case 'preVoteResp': {
        const awaiting = m.type === 'voteResp' ? 'candidate' : 'preCandidate';
        if (this.role !== awaiting) return;
        this.votes.set(m.from, !m.reject);
        const granted = [...this.votes.values()].filter(Boolean).length;
        if (granted >= this.quorum()) {
          if (this.role === 'candidate') this.becomeLeader();
          else this.campaign(false);
        } else if (this.votes.size - granted >= this.quorum()) this.becomeFollower(this.term, 0);
        return;
      }
      case 'app': return this.handleAppend(m);
      case 'heartbeat': {
        this.followLeader(m.from);
        this.commit = Math.max(this.commit, Math.min(m.commit ?? 0, this.lastIndex()));
        this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
        return;
      }
      case 'snap': return this.restore(m);
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
        for (const e of m.entries ?? []) this.propose(e.data, e.type);
        return;
      }
      case 'readIndex': return this.handleReadIndex(m.context!, m.from);
      case 'readIndexResp': {
        this.readStates.push({ index: m.index!, context: m.context! });
        return;
      }
      case 'timeoutNow': {
        if (this.isVoter() && m.from === this.lead) this.campaign(true);
        return;
      }
    }
  }

  private followLeader(from: number): void {
    this.lead = from;
    this.role = 'follower';
    this.electionElapsed = 0;
  }

  private handleAppend(m: Message): void {
    this.followLeader(m.from);
    const prev = m.index!;
    if (prev < this.commit) {
      // Already committed here (e.g. after a snapshot): acknowledge what matches and is durable.
      this.send({ type: 'appResp', to: m.from, index: Math.min(this.commit, this.durable) });
      return;
    }
    if (prev > this.lastIndex() || this.termAt(prev) !== m.logTerm) {
      this.send({ type: 'appResp', to: m.from, reject: true, index: prev, rejectHint: Math.min(this.lastIndex(), prev - 1) });
      return;
    }
    const entries = m.entries ?? [];
    const firstNew = entries.findIndex((e) => this.termAt(e.index) !== e.term || e.index > this.lastIndex());
    if (firstNew >= 0) this.appendLocal(entries.slice(firstNew));
    const lastNew = prev + entries.length;
    this.noteLeaderMatch(lastNew);
    this.commit = Math.max(this.commit, Math.min(m.commit ?? 0, lastNew));
    if (this.durable >= lastNew) this.send({ type: 'appResp', to: m.from, index: lastNew });
  }

  /** Within a term the leader's log only grows, so what matched it once keeps matching. */
  private noteLeaderMatch(index: number): void {
    const same = this.leaderMatch.term === this.term;
    this.leaderMatch = { term: this.term, index: same ? Math.max(this.leaderMatch.index, index) : index };
  }

  /** A snapshot the shell has installed into the state machine: the log restarts after it. */
  private restore(m: Message): void {
    const snap = m.snapshot!;
    this.followLeader(m.from);
    if (snap.index <= this.commit) {
      this.send({ type: 'appResp', to: m.from, index: Math.min(this.commit, this.durable) });
      return;
    }
    if (snap.index <= this.lastIndex() && this.termAt(snap.index) === snap.term) {
      // Its log holds the snapshot's last entry: what follows stays (it may be acknowledged already).
      this.log = this.slice(snap.index + 1, this.lastIndex());
      this.durable = Math.max(this.durable, snap.index);
      this.handedOut = Math.max(this.handedOut, snap.index);
    } else {
      this.log = [];
      this.durable = this.handedOut = snap.index;
    }
    this.offset = snap.index + 1;
    this.trimmed = { index: snap.index, term: snap.term };
    this.commit = this.applied = snap.index;
    this.conf = { voters: [...snap.conf.voters], learners: [...snap.conf.learners] };
    this.restored = snap;
    this.noteLeaderMatch(snap.index);
    this.send({ type: 'appResp', to: m.from, index: snap.index });
  }

  private handleAppendResp(m: Message): void {
    const pr = this.progress.get(m.from);
    if (this.role !== 'leader' || !pr) return;
    pr.active = true;
    if (m.reject) {
      if (m.index! <= pr.match) return; // a stale rejection: it has acknowledged more since
      pr.next = Math.max(pr.match + 1, Math.min(pr.next - 1, (m.rejectHint ?? 0) + 1));
      this.sendAppend(m.from);
      return;
    }
    if (m.index! > pr.match) {
      pr.match = m.index!;
      pr.next = Math.max(pr.next, pr.match + 1);
      pr.snapshotPending = false;
      if (this.maybeCommit()) this.broadcastAppend();
      else if (pr.next <= this.lastIndex()) this.sendAppend(m.from);
    }
    if (m.from === this.transferee && pr.match === this.lastIndex()) this.send({ type: 'timeoutNow', to: m.from });
  }

  private maybeCommit(): boolean {
    const matches = this.conf.voters.map((v) => this.progress.get(v)?.match ?? 0).sort((a, b) => b - a);
    const q = matches[this.quorum() - 1] ?? 0;
    if (q <= this.commit || this.termAt(q) !== this.term) return false;
    this.commit = q;
    const waiting = this.readsAwaitingCommit.splice(0);
    for (const r of waiting) this.handleReadIndex(r.context, r.from);
    return true;
  }

  private ackRead(context: Uint8Array, from: number): void {
    if (!this.isVoter(from)) return;
    const key = Buffer.from(context).toString('hex');
    const at = this.reads.findIndex((r) => Buffer.from(r.context).toString('hex') === key);
    if (at < 0) return;
    this.reads[at]!.acks.add(from);
    if (this.reads[at]!.acks.size < this.quorum()) return;
    // Confirming one read confirms every earlier one too.
    for (const r of this.reads.splice(0, at + 1)) this.answerRead(r);
  }

  private sendHeartbeat(to: number, context?: Uint8Array): void {
    this.msgs.push(this.heartbeatTo(to, context));
  }

  private heartbeatTo(to: number, context?: Uint8Array): Message {
    const pr = this.progress.get(to);
    return this.stamped({ type: 'heartbeat', to, commit: Math.min(this.commit, pr?.match ?? 0), context });
  }

  /**
   * What tells the peers this member is alive, without stepping it: a leader's heartbeats, a
   * follower's heartbeat response to its leader. The shell sends these while a long apply holds
   * its thread, so that followers start no election and the leader does not step down
   * (CheckQuorum) only because this member is busy.
   */
  keepAlive(): Message[] {
    if (this.role === 'leader') return this.peers().map((to) => this.heartbeatTo(to));
    if (this.role === 'follower' && this.lead) return [this.stamped({ type: 'heartbeatResp', to: this.lead })];
    return [];
  }

  private broadcastAppend(): void {
    for (const p of this.peers()) this.sendAppend(p);
  }

  private sendAppend(to: number): void {
    const pr = this.progress.get(to);
    if (!pr || pr.snapshotPending) return;
    const prev = pr.next - 1;
    if (prev < this.trimmed.index) {
      // The entries it needs left memory: it gets the state machine instead.
      pr.snapshotPending = true;
      this.send({ type: 'snap', to });
      return;
    }
    const maxEntries = this.cfg.maxEntriesPerMsg ?? 256;
    const maxInflight = (this.cfg.maxInflightMsgs ?? 64) * maxEntries;
    if (pr.next - pr.match > maxInflight) return; // bounded window: wait for acknowledgements
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
    this.sendProposals();
    const hard = this.hardState();
    const soft = { leader: this.lead, role: this.role };
    const entries = this.slice(this.handedOut + 1, this.lastIndex());
    const applyTo = Math.min(this.commit, this.durable);
    const committedEntries = applyTo > this.applied ? this.slice(this.applied + 1, applyTo) : [];
    const hardChanged = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote || hard.commit !== this.prevHard.commit;
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    if (!hardChanged && !softChanged && !entries.length && !committedEntries.length && !this.msgs.length && !this.readStates.length && !this.restored) return null;
    const rd: Ready = {
      entries,
      messages: this.msgs,
      committedEntries,
      readStates: this.readStates,
      ...(hardChanged ? { hardState: hard } : {}),
      ...(softChanged ? { softState: soft } : {}),
      ...(this.restored ? { snapshot: this.restored } : {}),
    };
    this.pending = {
      lastEntry: entries.at(-1)?.index ?? this.handedOut,
      lastApplied: committedEntries.at(-1)?.index ?? this.applied,
      hard, soft,
      confEntries: committedEntries.filter((e) => e.type === EntryType.ConfChange),
    };
    this.msgs = [];
    this.readStates = [];
    this.restored = undefined;
    return rd;
  }

  advance(): void {
    if (!this.pending) return;
    const p = this.pending;
    this.pending = undefined;
    this.handedOut = Math.max(this.handedOut, p.lastEntry);
    this.applied = Math.max(this.applied, p.lastApplied);
    this.prevHard = p.hard;
    this.prevSoft = p.soft;
    for (const e of p.confEntries) this.applyConf(confChangeOf(e.data));
    if (p.confEntries.length) this.campaignIfAlone();
    this.trimLog();
  }

  private applyConf(change: ReturnType<typeof confChangeOf>): void {
    this.conf = applyConfChange(this.conf, change);
    if (this.role === 'leader') {
      for (const id of this.peers()) if (!this.progress.has(id)) {
        this.addProgress(id);
        this.sendAppend(id);
      }
      for (const id of this.progress.keys()) if (id !== this.cfg.id && !this.peers().includes(id)) this.progress.delete(id);
      if (!this.isVoter()) this.becomeFollower(this.term, 0); // removed or demoted: step down
      else if (this.maybeCommit()) this.broadcastAppend();
    }
  }

  // Entries applied here are kept only in the WAL beyond a margin, so memory stays bounded;
  // a follower that falls further behind than the margin catches up from a snapshot.
  private trimLog(): void {
    const margin = this.cfg.memoryLogMargin ?? 5000;
    const upTo = Math.min(this.applied, this.durable) - margin;
    if (upTo - this.offset < margin) return;
    this.trimmed = { index: upTo, term: this.termAt(upTo) };
    this.log.splice(0, upTo - this.offset + 1);
    this.offset = upTo + 1;
  }

  /** A learner this leader may promote: it holds 90% of the leader's log, etcd's readiness rule. */
  private learnerReady(id: number): boolean {
    return this.role === 'leader' && (this.progress.get(id)?.match ?? 0) >= this.lastIndex() * 0.9;
  }

  status() {
    return {
      id: this.cfg.id, term: this.term, leader: this.lead, role: this.role, commit: this.commit, applied: this.applied,
      lastIndex: this.lastIndex(), voters: [...this.conf.voters], learners: [...this.conf.learners], transferee: this.transferee,
      readyLearners: this.conf.learners.filter((id) => this.learnerReady(id)),
    };
  }
}
