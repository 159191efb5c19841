// Corruption checks on a 3-member cluster: a member whose data is altered behind kvd's back is
// found by the leader's periodic HashKV comparison (CORRUPT alarm, the cluster stops applying),
// and refuses to start again with --experimental-initial-corrupt-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startCluster } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { agreedLeader, waitFor } from './harness/cluster-status.js';
import { openDatabases } from '../../src/actors/mvcc/store.js';

test('a diverged member raises CORRUPT and is refused at its next start', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--experimental-corrupt-check-time', '1s', '--experimental-initial-corrupt-check', '--log-level', 'info'] });
  try {
    const leader = await agreedLeader(cluster.members);
    const follower = cluster.members.find((m) => m !== leader)!;
    for (let i = 0; i < 5; i++) assert.equal((await etcdctl(leader.endpoint, ['put', `k${i}`, 'v'])).code, 0);
    await waitFor('no alarm while the members agree', async () => ((await etcdctl(leader.endpoint, ['alarm', 'list'])).stdout === '' ? true : undefined), 3000);
    await new Promise((r) => setTimeout(r, 1500)); // at least one check pass finds nothing

    // Alter one stored revision of the follower directly in its database (LMDB allows a second process).
    const dbs = openDatabases(path.join(follower.dataDir, 'member', 'db'));
    try {
      const [last] = [...dbs.rev.getRange({ reverse: true, limit: 1 } as never)] as { key: Buffer; value: Buffer }[];
      const { key, value } = last!;
      await dbs.rev.put(key, Buffer.concat([value, Buffer.from([0])]));
    } finally {
      await dbs.root.close();
    }

    const alarms = await waitFor('the CORRUPT alarm', async () => {
      const out = (await etcdctl(leader.endpoint, ['alarm', 'list'])).stdout;
      return /alarm:CORRUPT/.test(out) ? out : undefined;
    }, 20_000);
    assert.equal(alarms.trim(), 'alarm:CORRUPT'); // as etcd: the alarm names no member (ID 0 is not printed)
    assert.match(leader.logs(), /found hash mismatch/);
    assert.match((await etcdctl(leader.endpoint, ['put', 'after', 'v'])).stderr, /etcdserver: corrupt cluster/);
    assert.match((await etcdctl(leader.endpoint, ['get', 'k1'])).stderr, /etcdserver: corrupt cluster/);

    await follower.shutdown();
    await assert.rejects(follower.restart(), /found data inconsistency with peers/);
  } finally {
    await cluster.stop();
  }
});
