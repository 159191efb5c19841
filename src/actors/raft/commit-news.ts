// Which messages of a Ready may wait until its committed entries are applied: news of a commit
// that no client waits on. Applying first answers this member's clients sooner (a socket write
// to a peer wakes that peer's process, which costs the writer time). A follower whose own
// client's proposal is among the committed entries still hears at once: its client waits for
// that follower's apply.
import type { Message } from './types.js';

export class CommitNews {
  /** Leader: the last log index each follower forwarded a proposal into. */
  private readonly forwarded = new Map<number, number>();
  /** The highest index this member acknowledged to each peer, and in which term. */
  private readonly acknowledged = new Map<number, { term: number; index: number }>();

  /** Leader: a follower's forwarded proposal was appended up to `lastIndex`. */
  forwardedProposal(from: number, lastIndex: number): void {
    this.forwarded.set(from, lastIndex);
  }

  /**
   * Whether `m`, of a Ready whose committed entries start at `firstCommitted`, may be sent
   * after they are applied: an append without entries (a commit index) to a follower with no
   * proposal of its own among them, or an acknowledgement of nothing new. Call for each message.
   */
  mayWait(m: Message, firstCommitted: number): boolean {
    if (m.type === 'app') return !m.entries?.length && (this.forwarded.get(m.to) ?? 0) < firstCommitted;
    if (m.type !== 'appResp' || m.reject) return false;
    const before = this.acknowledged.get(m.to);
    const index = m.index ?? 0;
    if (before?.term === m.term && index <= before.index) return true;
    this.acknowledged.set(m.to, { term: m.term, index });
    return false;
  }

  /** Entries up to `lastIndex` are applied: proposals forwarded into them are answered. */
  applied(lastIndex: number): void {
    for (const [peer, index] of this.forwarded) if (index <= lastIndex) this.forwarded.delete(peer);
  }
}
