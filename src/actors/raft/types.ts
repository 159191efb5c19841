// Raft data types shared by the core, its shell and the WAL.
import type { Entry, HardState } from '../wal/records.js';
import type { ConfState } from './confchange.js';
export type { Entry, HardState };

export const enum EntryType { Normal = 0, ConfChange = 1 }

export type MessageType =
  | 'preVote' | 'preVoteResp'
  | 'vote' | 'voteResp'
  | 'app' | 'appResp'
  | 'heartbeat' | 'heartbeatResp'
  | 'snap'
  | 'prop'
  | 'readIndex' | 'readIndexResp'
  | 'timeoutNow';

/** A state machine snapshot: everything up to `index` (of `term`) and the membership then. */
export interface SnapshotMeta { index: number; term: number; conf: ConfState }

export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  index?: number;          // app: index before entries; appResp: highest durable match; vote: candidate's last index
  logTerm?: number;        // term at `index`
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;     // a follower's last index, to jump back quickly
  context?: Uint8Array;    // read-index request context
  force?: boolean;         // a vote for a leadership transfer: voters ignore their leader lease
  snapshot?: SnapshotMeta; // snap: set by the receiving shell once the data is installed
}

export interface ReadState { index: number; context: Uint8Array }

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface Ready {
  softState?: { leader: number; role: Role };
  hardState?: HardState;
  entries: Entry[];
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
  /** A snapshot just restored: the WAL records its mark so that replay starts after it. */
  snapshot?: SnapshotMeta;
}
