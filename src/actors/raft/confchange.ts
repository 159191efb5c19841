// Membership changes. A ConfChange entry carries the usual proposal envelope (see
// mvcc/proposal.ts) whose op is { type: 'member', change }: the raft core reads only the
// change's type and id, the mvcc actor records the member's attributes in the store.
import { decode } from '../channel.js';

export type ConfChangeType = 'addVoter' | 'addLearner' | 'remove' | 'promote' | 'update';

export interface MemberAttributes { name?: string; peerURLs?: string[]; clientURLs?: string[] }

export interface ConfChange {
  type: ConfChangeType;
  id: number;
  /** Attributes to record (added members, updated peer URLs, published name and client URLs). */
  member?: MemberAttributes;
}

export interface ConfState { voters: number[]; learners: number[] }

export function confChangeOf(data: Uint8Array): ConfChange {
  return decode<{ op: { change: ConfChange } }>(data).op.change;
}

/** The configuration after `change`; an 'update' leaves it as it is. */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((v) => v !== change.id);
  const learners = conf.learners.filter((v) => v !== change.id);
  switch (change.type) {
    case 'addVoter':
    case 'promote':
      return { voters: [...voters, change.id], learners };
    case 'addLearner':
      return { voters, learners: [...learners, change.id] };
    case 'remove':
      return { voters, learners };
    case 'update':
      return conf;
  }
}
