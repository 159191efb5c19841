// Member and cluster IDs derived as etcd derives them (sha1 of peer URLs and cluster token),
// kept below 2^53 so they are exact as JavaScript numbers and as protobuf uint64s alike.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath } from '../actors/fsync.js';

const MASK_53 = (1n << 53n) - 1n;

function idFrom(hash: Buffer): number {
  return Number(hash.readBigUInt64BE(0) & MASK_53) || 1;
}

/** `salt` (etcd: the time of MemberAdd) keeps a re-added member's ID new. */
export function memberIdOf(peerUrls: string[], clusterToken: string, salt = ''): number {
  const h = createHash('sha1');
  h.update([...peerUrls].sort().join(''));
  h.update(clusterToken);
  h.update(salt);
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

export interface Identity { memberId: number; clusterId: number }

const IDENTITY_FILE = 'identity.json';

/** The identity of member `name` in a new cluster of `initialCluster` (name → peer URLs). */
export function newClusterIdentity(name: string, initialCluster: Map<string, string[]>, token: string): Identity {
  const ids = [...initialCluster.values()].map((urls) => memberIdOf(urls, token));
  return { memberId: memberIdOf(initialCluster.get(name)!, token), clusterId: clusterIdOf(ids) };
}

/**
 * Which member this is, of which cluster: read from the data dir once it exists (the
 * initial-cluster flags are then ignored, as in etcd); for a new cluster derived from
 * --initial-cluster; for --initial-cluster-state existing asked of the running members,
 * matching this member's advertised peer URLs. Written durably before anything else.
 */
export async function resolveIdentity(
  memberDir: string,
  config: { name: string; initialCluster: Map<string, string[]>; initialClusterState: 'new' | 'existing'; initialClusterToken: string; initialAdvertisePeerUrls: string[] },
  askMembers: (urls: string[]) => Promise<{ members: { id: number; peerURLs: string[] }[]; cluster: number }>,
): Promise<{ identity: Identity; fresh: boolean; joined?: { id: number; peerURLs: string[] }[] }> {
  const file = path.join(memberDir, IDENTITY_FILE);
  if (fs.existsSync(file)) return { identity: JSON.parse(fs.readFileSync(file, 'utf8')) as Identity, fresh: false };
  let identity: Identity;
  let joined: { id: number; peerURLs: string[] }[] | undefined;
  if (config.initialClusterState === 'new') {
    identity = newClusterIdentity(config.name, config.initialCluster, config.initialClusterToken);
  } else {
    const own = new Set(config.initialAdvertisePeerUrls);
    const others = [...config.initialCluster.values()].flat().filter((u) => !own.has(u));
    const { members, cluster } = await askMembers(others);
    const me = members.find((m) => m.peerURLs.some((u) => own.has(u)));
    if (!me) throw new Error(`error validating peerURLs: member with peer URLs ${[...own].join(',')} has not been added to the cluster`);
    identity = { memberId: me.id, clusterId: cluster };
    joined = members;
  }
  writeIdentity(memberDir, identity);
  return { identity, fresh: true, ...(joined ? { joined } : {}) };
}

/** Writes the member's identity durably (the first thing a new data dir holds). */
export function writeIdentity(memberDir: string, identity: Identity): void {
  const file = path.join(memberDir, IDENTITY_FILE);
  fs.mkdirSync(memberDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  fs.writeSync(fd, JSON.stringify(identity));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncPath(memberDir);
}
