// Which error a proposal that timed out gets, by etcd's rule: if this member was elected leader
// shortly after the proposal was made, the previous leader most likely failed with it; if this
// member lost its link to the leader (or, leading, to a quorum) since it was made, the link is
// the likely cause; otherwise it just timed out. Clients show these texts to operators.
import { Errors, type EtcdError } from '../protocol/errors.js';

export interface LeadershipView {
  /** The current leader's id (0: none known). */
  leader: number;
  /** When this member last became leader (ms since the epoch; 0: never). */
  leaderElectedAt: number;
  /** Since when this member has been linked to its leader, or as leader to a quorum (ms since the epoch; 0: it is not). */
  linkedSince: number;
  electionTimeoutMs: number;
}

/** The error for a proposal made at `startedAt` (ms since the epoch) that timed out. */
export function proposalTimeout(startedAt: number, view: LeadershipView): EtcdError {
  const elected = view.leaderElectedAt;
  if (elected && startedAt > elected - 2 * view.electionTimeoutMs && startedAt < elected) return Errors.timeoutDueToLeaderFail;
  if (view.leader && (!view.linkedSince || view.linkedSince > startedAt)) return Errors.timeoutDueToConnectionLost;
  return Errors.timeout;
}
