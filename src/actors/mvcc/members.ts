// The cluster's membership as the store records it: changed only by applied ConfChange
// entries, so every member holds the same list at the same index.
import type { ConfChange, ConfState } from '../raft/confchange.js';

export interface MemberRecord { id: number; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }

export interface Membership { members: MemberRecord[]; removed: number[] }

export function applyMemberChange(m: Membership, change: ConfChange): Membership {
  const others = m.members.filter((r) => r.id !== change.id);
  const current = m.members.find((r) => r.id === change.id);
  const attrs = change.member ?? {};
  switch (change.type) {
    case 'addVoter':
    case 'addLearner':
      return {
        members: [...others, { id: change.id, name: attrs.name ?? '', peerURLs: attrs.peerURLs ?? [], clientURLs: attrs.clientURLs ?? [], isLearner: change.type === 'addLearner' }],
        removed: m.removed,
      };
    case 'remove':
      return { members: others, removed: m.removed.includes(change.id) ? m.removed : [...m.removed, change.id] };
    case 'promote':
      return current ? { members: m.members.map((r) => (r.id === change.id ? { ...r, isLearner: false } : r)), removed: m.removed } : m;
    case 'update':
      return current ? { members: m.members.map((r) => (r.id === change.id ? { ...r, ...attrs } : r)), removed: m.removed } : m;
  }
}

export function confStateOf(members: MemberRecord[]): ConfState {
  return { voters: members.filter((m) => !m.isLearner).map((m) => m.id), learners: members.filter((m) => m.isLearner).map((m) => m.id) };
}
