// Raft's safety properties, checked as the simulation runs (each violation throws):
// election safety (at most one leader per term), log matching (one entry per index and term),
// leader completeness (a new leader holds every committed entry) and state machine safety
// (every member applies the same entry at each index).
import type { Entry, Message } from '../../src/actors/raft/core.js';
import type { SimMember } from './member.js';

const fingerprint = (e: Entry) => `${e.type}:${Buffer.from(e.data).toString('base64')}`;

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly entryAt = new Map<string, string>();
  /** Applied (hence committed) entries by index. */
  readonly committed = new Map<number, { term: number; fp: string }>();
  private readonly checkedLeaders = new Set<string>();

  wrote(member: SimMember, entries: Entry[]): void {
    for (const e of entries) {
      const at = `${e.index}:${e.term}`;
      const fp = fingerprint(e);
      const known = this.entryAt.get(at);
      if (known === undefined) this.entryAt.set(at, fp);
      else if (known !== fp) throw new Error(`log matching: member ${member.id} wrote a different entry at index ${e.index} term ${e.term}`);
    }
  }

  applied(member: SimMember, e: Entry): void {
    const fp = fingerprint(e);
    const known = this.committed.get(e.index);
    if (!known) this.committed.set(e.index, { term: e.term, fp });
    else if (known.term !== e.term || known.fp !== fp) throw new Error(`state machine safety: member ${member.id} applied a different entry at index ${e.index}`);
  }

  /** Checked as a message leaves a member: a vote only once its WAL records it. */
  leaving(member: SimMember, m: Message): void {
    if (m.type === 'voteResp' && !m.reject) {
      const hs = member.durableState(0).hardState;
      // A later term recorded since makes the vote moot: it can never be given again.
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) throw new Error(`durable votes: member ${member.id} granted its vote to ${m.to} in term ${m.term} before recording it`);
    }
  }

  /**
   * Checked as the core produces a message: an acknowledgement covers only durable entries
   * that the leader it goes to holds. (It may arrive after a later leader has replaced them,
   * which raft tolerates: it was true when made.)
   */
  produced(member: SimMember, m: Message, leader: SimMember | undefined): void {
    if (m.type === 'appResp' && !m.reject && m.index) {
      const d = member.durableState(m.index);
      if (m.index <= d.compactedTo || m.index <= member.sm.applied) return;
      if (!d.entry) throw new Error(`sound acks: member ${member.id} acknowledged index ${m.index} it has not stored durably`);
      const leading = leader?.up && leader.core.status().role === 'leader' && leader.core.status().term === m.term;
      if (!leading || m.index <= leader!.snapshotIndex) return;
      const held = leader!.log.get(m.index);
      if (held?.term !== d.entry.term) throw new Error(`sound acks: member ${member.id} acknowledged index ${m.index} of term ${d.entry.term} to leader ${m.to}, which holds ${held ? `term ${held.term}` : 'no entry'} there`);
    }
  }

  /** Called after every step with every running member. */
  check(members: SimMember[]): void {
    for (const m of members) {
      const s = m.core.status();
      if (s.role !== 'leader') continue;
      const other = this.leaderOfTerm.get(s.term);
      if (other !== undefined && other !== m.id) throw new Error(`election safety: members ${other} and ${m.id} both lead term ${s.term}`);
      this.leaderOfTerm.set(s.term, m.id);
      const key = `${m.id}:${s.term}`;
      if (this.checkedLeaders.has(key)) continue;
      this.checkedLeaders.add(key);
      for (const [index, c] of this.committed) {
        if (index <= m.snapshotIndex) continue;
        const e = m.log.get(index);
        if (!e || e.term !== c.term || fingerprint(e) !== c.fp) throw new Error(`leader completeness: leader ${m.id} of term ${s.term} lacks committed entry ${index}`);
      }
    }
  }
}
