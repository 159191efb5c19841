// Member and cluster IDs derived as etcd derives them (sha1 of peer URLs and cluster token),
// kept below 2^53 so they are exact as JavaScript numbers and as protobuf uint64s alike.
import { createHash } from 'node:crypto';

const MASK_53 = (1n << 53n) - 1n;

function idFrom(hash: Buffer): number {
  return Number(hash.readBigUInt64BE(0) & MASK_53) || 1;
}

export function memberIdOf(peerUrls: string[], clusterToken: string): number {
  const h = createHash('sha1');
  h.update([...peerUrls].sort().join(''));
  h.update(clusterToken);
  return idFrom(h.digest());
}

export function clusterIdOf(memberIds: number[]): number {
  const h = createHash('sha1');
  for (const id of [...memberIds].sort((a, b) => a - b)) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(id));
    h.update(b);
  }
  return idFrom(h.digest());
}
