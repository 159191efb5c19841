// Raft's safety properties, checked as the simulation runs (each violation throws):
// election safety (at most one leader per term), log matching (one entry per index and term),
// leader completeness (a new leader holds every committed entry) and state machine safety
// (every member applies the same entry at each index).
import type { Entry } from '../../src/actors/raft/core.js';
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
