// Raft data types shared by the core, its shell and the WAL.
export type { Entry, HardState } from '../wal/records.js';

export const enum EntryType { Normal = 0, ConfChange = 1 }

export type MessageType =
  | 'vote' | 'voteResp'
  | 'app' | 'appResp'
  | 'heartbeat' | 'heartbeatResp'
  | 'prop'
  | 'readIndex' | 'readIndexResp';

export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  index?: number;          // app: index before entries; appResp: highest durable match; vote: candidate's last index
  logTerm?: number;        // term at `index`
  entries?: import('../wal/records.js').Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;     // a follower's last index, to jump back quickly
  context?: Uint8Array;    // read-index request context
}

export interface ReadState { index: number; context: Uint8Array }

export type Role = 'follower' | 'candidate' | 'leader';

export interface Ready {
  softState?: { leader: number; role: Role };
  hardState?: import('../wal/records.js').HardState;
  entries: import('../wal/records.js').Entry[];
  messages: Message[];
  committedEntries: import('../wal/records.js').Entry[];
  readStates: ReadState[];
}
