// Messages the raft actor exchanges with the gateway and the mvcc actor (hot path, see channel.ts).
import type { SnapshotMeta } from './types.js';
import type { Membership } from '../mvcc/members.js';

export type RejectReason = 'noLeader' | 'pendingConf';

/** A client's write for the log: `id` matches its result; `conf` marks a membership change. */
export interface ProposedItem { id: number; data: Uint8Array; conf?: boolean }

/** gateway → raft. */
export type GatewayToRaft =
  /** Proposals, one batch per event-loop turn. */
  | { t: 'propose'; items: ProposedItem[] }
  | { t: 'read'; ctx: number }
  | { t: 'transfer'; to: number; req: number }
  /** A snapshot for a follower was written to `file` (or could not be: no file). */
  | { t: 'snapshotMade'; req: number; file?: string; snapshot?: SnapshotMeta }
  /** A snapshot received from the leader is installed in the store. */
  | { t: 'snapshotInstalled'; req: number; error?: string; membership?: Membership }
  /** The store is durable up to this index (the answer to flushStore). */
  | { t: 'storeFlushed'; index: number; term: number };

/** raft → gateway. */
export type RaftToGateway =
  | { t: 'rejected'; ids: number[]; reason: RejectReason }
  | { t: 'readIndex'; ctx: number; index: number }
  | { t: 'transferred'; req: number; ok: boolean }
  /** Copy the store for a follower that is too far behind. */
  | { t: 'makeSnapshot'; req: number }
  /** Install the snapshot in `file` into the store (readers must let go of the old file). */
  | { t: 'installSnapshot'; req: number; file: string }
  /** Make the store durable: the WAL before that point can then be released. */
  | { t: 'flushStore' }
  /** This member's removal was applied. */
  | { t: 'removed' };

/** raft → mvcc: committed entries to apply, in log order. */
export interface ApplyBatch {
  term: number;
  entries: { index: number; term: number; type: number; data: Uint8Array }[];
}
