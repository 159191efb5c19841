// Messages between the raft actor and the WAL actor (hot path, see ../channel.ts).
import type { Entry, HardState } from './records.js';

/** raft → wal: entries and hard state of one Ready, to write and fsync. */
export type RaftToWal = { t: 'append'; entries: Entry[]; hardState?: HardState };

/** wal → raft: the replayed log at start, then "durable up to index (of term)" after each fsync. */
export type WalToRaft =
  | { t: 'replayed'; hardState: HardState; entries: Entry[] }
  | { t: 'persisted'; index: number; term: number };
