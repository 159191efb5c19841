// Messages the raft actor exchanges with the gateway and the mvcc actor (hot path, see channel.ts).

/** gateway → raft: proposals (one batch per event-loop turn) and read-index requests. */
export type GatewayToRaft =
  | { t: 'propose'; items: { id: number; data: Uint8Array }[] }
  | { t: 'read'; ctx: number };

/** raft → gateway: proposals that cannot be committed, and confirmed read indexes. */
export type RaftToGateway =
  | { t: 'rejected'; ids: number[]; reason: 'noLeader' }
  | { t: 'readIndex'; ctx: number; index: number };

/** raft → mvcc: committed entries to apply, in log order. */
export interface ApplyBatch {
  term: number;
  entries: { index: number; term: number; type: number; data: Uint8Array }[];
}
