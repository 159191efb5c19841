// The payload of a raft entry: a write request and who is waiting for its result.
import { encode, decode } from '../channel.js';
import type { WriteOp } from './store.js';
import type { Membership } from './members.js';
import type { LeaseChange } from './leases.js';
import type { AlarmMember } from './store.js';
import type { AuthInfo, PackedAuthState } from './permissions.js';

export interface Proposal {
  origin: number;  // member that took the request; only it answers the client
  boot: number;    // that member's process incarnation: replayed entries of an earlier run answer no one
  id: number;      // request id within the incarnation
  op: WriteOp;
  /** Who sent the client's request, when authentication matters; none for the member's own. */
  auth?: AuthInfo;
}

export const encodeProposal = (p: Proposal): Uint8Array => encode(p);
export const decodeProposal = (data: Uint8Array): Proposal => decode<Proposal>(data);

/** mvcc → gateway: results of applied proposals of this member's incarnation. */
export interface AppliedBatch {
  applied: number;
  revision: number;
  results: { id: number; bytes?: Uint8Array; error?: { code: number; message: string } }[];
  /** The membership, when this batch changed it. */
  membership?: Membership;
  /** Leases granted, revoked or checkpointed by this batch, in order. */
  leases?: LeaseChange[];
  /** The active alarms, when this batch changed them. */
  alarms?: AlarmMember[];
  /** The auth state, when this batch changed it. */
  auth?: PackedAuthState;
  /** Simple tokens assigned by this batch's Authenticate calls (every member learns them). */
  tokens?: { token: string; user: string }[];
}
