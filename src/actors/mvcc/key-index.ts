// The key index: user key → that key's revisions, so a read at any revision finds the right
// stored KeyValue, and keys_only/count_only reads need no value. Kept in LMDB, never rebuilt.
import { pack, unpack } from 'msgpackr';

export interface KeyRevision { main: number; sub: number; tombstone: boolean }

export interface IndexRecord {
  revs: KeyRevision[];  // oldest first
  create: number;       // latest generation's create revision (0 after a delete)
  version: number;      // latest version (0 after a delete)
  lease: number;        // latest lease
}

export const encodeIndex = (r: IndexRecord): Buffer => pack([r.create, r.version, r.lease, r.revs.flatMap((x) => [x.main, x.sub, x.tombstone ? 1 : 0])]);

export function decodeIndex(bytes: Uint8Array): IndexRecord {
  const [create, version, lease, flat] = unpack(bytes) as [number, number, number, number[]];
  const revs: KeyRevision[] = [];
  for (let i = 0; i < flat.length; i += 3) revs.push({ main: flat[i]!, sub: flat[i + 1]!, tombstone: flat[i + 2] === 1 });
  return { create, version, lease, revs };
}

/** The key's revision visible at `rev`, or undefined when it did not exist then. */
export function visibleAt(r: IndexRecord, rev: number): KeyRevision | undefined {
  for (let i = r.revs.length - 1; i >= 0; i--) {
    const x = r.revs[i]!;
    if (x.main <= rev) return x.tombstone ? undefined : x;
  }
  return undefined;
}

/** Revision keys in the revisions database: main and sub as big-endian u64, so they sort by revision. */
export function revKey(main: number, sub: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(BigInt(main), 0);
  b.writeBigUInt64BE(BigInt(sub), 8);
  return b;
}

