// Restoring a snapshot as a new cluster (etcd's `snapshot restore`): a new data dir whose store
// holds the snapshot's data with the new membership, in the shape kvd's start-up expects of a
// data dir that exists — identity.json names the member and its cluster (IDs derived from the
// new token and peer URLs, as for any new cluster); the store stands at the raft index where
// the new cluster's log begins; the WAL starts with the mark that the state machine holds
// everything up to that index. As in etcd, that index is one per member (etcd commits one
// ConfChange entry per member there), at term 1. The data's revisions are kept.
import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE, MvccStore } from '../actors/mvcc/store.js';
import type { MemberRecord } from '../actors/mvcc/members.js';
import { Wal } from '../actors/wal/wal.js';
import { memberIdOf, newClusterIdentity, writeIdentity } from './identity.js';
import { parseInitialCluster } from './config.js';
import { extractDatabase } from './snapshot-file.js';

export interface RestoreOptions {
  snapshot: string;
  name: string;
  dataDir: string;
  /** Default <data-dir>/member/wal. */
  walDir?: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  skipHashCheck: boolean;
}

const sameUrls = (a: string[], b: string[]) => [...a].sort().join(',') === [...b].sort().join(',');

/** Refuses what etcd refuses: an unknown name, peer URLs that differ from the cluster's, an existing dir. */
function verify(o: RestoreOptions, cluster: Map<string, string[]>): void {
  const own = cluster.get(o.name);
  if (!own) throw new Error(`couldn't find local name "${o.name}" in the initial cluster configuration`);
  if (!sameUrls(own, o.initialAdvertisePeerUrls)) {
    throw new Error(`--initial-cluster has ${o.name}=${own.join(',')} but missing from --initial-advertise-peer-urls=${o.initialAdvertisePeerUrls.join(',')}`);
  }
  if (fs.existsSync(o.dataDir)) throw new Error(`data-dir "${o.dataDir}" exists`);
  if (o.walDir && fs.existsSync(o.walDir)) throw new Error(`wal-dir "${o.walDir}" exists`);
}

export async function restoreSnapshot(o: RestoreOptions): Promise<void> {
  const cluster = parseInitialCluster(o.initialCluster);
  verify(o, cluster);
  const memberDir = path.join(o.dataDir, 'member');
  const dbDir = path.join(memberDir, 'db');
  const walDir = o.walDir || path.join(memberDir, 'wal');
  try {
    fs.mkdirSync(dbDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(memberDir, 'snap'), { mode: 0o700 });
    await extractDatabase(o.snapshot, path.join(dbDir, DB_FILE), o.skipHashCheck ? 'skip' : 'required');

    const members: MemberRecord[] = [...cluster].map(([name, peerURLs]) => ({
      id: memberIdOf(peerURLs, o.initialClusterToken), name, peerURLs, clientURLs: [], isLearner: false,
    }));
    const start = { index: members.length, term: 1 };
    const store = MvccStore.open(dbDir);
    try {
      store.startNewCluster(members, start);
      await store.flush();
    } finally {
      await store.close();
    }

    const { wal } = Wal.open(walDir);
    try {
      wal.markCompacted(start, { term: start.term, vote: 0, commit: start.index });
      wal.sync();
    } finally {
      wal.close();
    }
    writeIdentity(memberDir, newClusterIdentity(o.name, cluster, o.initialClusterToken));
  } catch (err) {
    fs.rmSync(o.dataDir, { recursive: true, force: true });
    if (o.walDir) fs.rmSync(o.walDir, { recursive: true, force: true });
    throw err;
  }
}
