// Leases in the store: what is replicated about them (ID, granted TTL, the remaining TTL of the
// last checkpoint) and which keys each holds, so a revoke deletes them all in one revision.
//   lease     : id (i64 BE, as two's complement: etcd's IDs are int64) → { ttl, remaining }
//   leaseKeys : id (i64 BE) ‖ user key → (empty)
import type { Database } from 'lmdb';

export interface LeaseRecord { id: number; ttl: number; remaining: number }

/** A change the lease clock must hear of, in the order applied. */
export type LeaseChange =
  | { t: 'granted'; id: number; ttl: number }
  | { t: 'revoked'; id: number }
  | { t: 'checkpoint'; id: number; remaining: number };

const idBits = (id: number): bigint => BigInt.asUintN(64, BigInt(id));

const u64Key = (bits: bigint): Buffer => {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(bits);
  return b;
};

export const leaseIdKey = (id: number): Buffer => u64Key(idBits(id));

export class LeaseTable {
  constructor(private readonly leases: Database<any, Buffer>, private readonly keys: Database<Buffer, Buffer>) {}

  get(id: number, transaction?: unknown): LeaseRecord | undefined {
    const r = this.leases.get(leaseIdKey(id), transaction ? ({ transaction } as never) : undefined) as { ttl: number; remaining?: number } | undefined;
    return r && { id, ttl: r.ttl, remaining: r.remaining ?? 0 };
  }

  put(r: LeaseRecord): void {
    this.leases.putSync(leaseIdKey(r.id), { ttl: r.ttl, remaining: r.remaining });
  }

  remove(id: number): void {
    for (const key of this.keysOf(id)) this.keys.removeSync(Buffer.concat([leaseIdKey(id), key]));
    this.leases.removeSync(leaseIdKey(id));
  }

  attach(id: number, key: Uint8Array): void {
    this.keys.putSync(Buffer.concat([leaseIdKey(id), key]), Buffer.alloc(0));
  }

  detach(id: number, key: Uint8Array): void {
    this.keys.removeSync(Buffer.concat([leaseIdKey(id), key]));
  }

  /** The keys attached to a lease, in key order. */
  keysOf(id: number, transaction?: unknown): Buffer[] {
    const start = leaseIdKey(id);
    // The next ID's keys, none after the largest key (ID -1).
    const next = idBits(id) + 1n;
    const end = next < 2n ** 64n ? u64Key(next) : undefined;
    return [...this.keys.getKeys({ start, end, ...(transaction ? { transaction } : {}) } as never)].map((k) => (k as Buffer).subarray(8));
  }

  all(transaction?: unknown): LeaseRecord[] {
    return [...this.leases.getRange(transaction ? ({ transaction } as never) : {})].map(({ key, value }) => ({
      id: Number((key as Buffer).readBigInt64BE(0)), ttl: value.ttl, remaining: value.remaining ?? 0,
    }));
  }
}
