// A 3-member kvd cluster of real processes, driven by etcdctl and gRPC clients: one leader,
// failover after SIGKILL with no acknowledged write lost, catch-up through a snapshot,
// membership changes, leadership transfer, and a partitioned member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster, type Server } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { connect } from '../../src/client/client.js';

const b = (s: string) => Buffer.from(s);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface EndpointStatus { endpoint: string; memberId: number; leader: number; raftIndex: number; appliedIndex: number; revision: number }

async function status(endpoint: string): Promise<EndpointStatus> {
  const c = connect(endpoint);
  try {
    const s = await c.maintenance.Status!({}, { deadlineMs: 2000 });
    return { endpoint, memberId: s.header.member_id, leader: s.leader, raftIndex: s.raftIndex, appliedIndex: s.raftAppliedIndex, revision: s.header.revision };
  } finally {
    c.close();
  }
}

/** The leader all reachable `members` agree on, once they do. */
function agreedLeader(members: Server[]): Promise<Server> {
  return waitFor('one agreed leader', async () => {
    const all = await Promise.all(members.map((m) => status(m.endpoint)));
    const leader = all[0]!.leader;
    if (!leader || all.some((s) => s.leader !== leader)) return undefined;
    const at = all.findIndex((s) => s.memberId === leader);
    return at >= 0 ? members[at] : undefined;
  });
}

/** Waits until every member has applied the same index and holds the same HashKV at the same revision. */
async function converged(members: Server[]): Promise<void> {
  await waitFor('members to converge', async () => {
    const all = await Promise.all(members.map((m) => status(m.endpoint)));
    if (new Set(all.map((s) => `${s.appliedIndex}/${s.revision}`)).size !== 1) return undefined;
    const hashes = await Promise.all(members.map(async (m) => {
      const c = connect(m.endpoint);
      try {
        return (await c.maintenance.HashKV!({ revision: all[0]!.revision })).hash as number;
      } finally {
        c.close();
      }
    }));
    return new Set(hashes).size === 1 ? true : undefined;
  });
}

async function serializableGet(endpoint: string, key: string): Promise<string | undefined> {
  const c = connect(endpoint);
  try {
    const r = await c.kv.Range!({ key: b(key), serializable: true });
    return r.kvs[0]?.value.toString();
  } finally {
    c.close();
  }
}

const ctl = (endpoint: string, ...args: string[]) => etcdctl(endpoint, args);

test('three members: one leader, failover after SIGKILL without losing acknowledged writes, log compaction, catch-up through a snapshot', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--experimental-snapshot-catchup-entries', '20', '--snapshot-count', '100', '--log-level', 'info'] });
  try {
    const list = await waitFor('every member published', async () => {
      const r = await ctl(cluster.endpoints[0]!, 'member', 'list', '-w', 'json');
      const members = JSON.parse(r.stdout).members as { name: string; clientURLs?: string[] }[];
      return members.length === 3 && members.every((m) => m.name && m.clientURLs?.length) ? members : undefined;
    });
    assert.deepEqual(list.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
    const statusOut = await ctl(cluster.endpoints.join(','), 'endpoint', 'status', '-w', 'json');
    const leaders = (JSON.parse(statusOut.stdout) as { Status: { header: { member_id: number }; leader: number } }[]).filter((s) => s.Status.header.member_id === s.Status.leader);
    assert.equal(leaders.length, 1, `exactly one leader: ${statusOut.stdout}`);

    const oldLeader = await agreedLeader(cluster.members);
    const acked = new Map<string, string>();
    let n = 0;
    const writers = cluster.members.map(async (m) => {
      const c = connect(m.endpoint);
      try {
        const until = Date.now() + 4000;
        while (Date.now() < until) {
          const key = `k/${m.name}/${n++}`;
          try {
            await c.kv.Put!({ key: b(key), value: b(key) }, { deadlineMs: 3000 });
            acked.set(key, key);
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      } finally {
        c.close();
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    const ackedBeforeKill = acked.size;
    oldLeader.kill9();
    await Promise.all(writers);
    const survivors = cluster.members.filter((m) => m !== oldLeader);
    const newLeader = await agreedLeader(survivors);
    assert.notEqual(newLeader, oldLeader);
    assert.ok(acked.size > ackedBeforeKill, 'writes continue after the leader is killed');

    // Enough writes while it is down that the leader no longer holds the entries it misses.
    const c = connect(newLeader.endpoint);
    for (let i = 0; i < 200; i++) {
      await c.kv.Put!({ key: b(`k/after/${i}`), value: b(`${i}`) });
      acked.set(`k/after/${i}`, `${i}`);
    }
    c.close();
    await oldLeader.restart();
    await converged(cluster.members);
    assert.match(oldLeader.logs(), /installed a snapshot from the leader/);
    assert.match(newLeader.logs(), /compacted the raft log/);
    for (const m of cluster.members) {
      for (const [k, v] of acked) assert.equal(await serializableGet(m.endpoint, k), v, `${m.name} lost acknowledged ${k}`);
    }
  } finally {
    await cluster.stop();
  }
});

test('membership: a new member joins with --initial-cluster-state existing, takes the leadership, and a member is removed', async () => {
  const cluster: Cluster = await startCluster({ kind: 'kvd', size: 3 });
  try {
    const first = cluster.endpoints[0]!;
    await ctl(first, 'put', 'before', 'join');
    const planned = await cluster.plan('m4');
    const add = await ctl(first, 'member', 'add', 'm4', `--peer-urls=${planned.peerURL}`);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /Member\s+[0-9a-f]+ added to cluster\s+[0-9a-f]+/);
    assert.match(add.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
    const m4 = await cluster.join(planned);
    assert.equal(await waitFor('the new member to catch up', async () => (await serializableGet(m4.endpoint, 'before')) ?? undefined), 'join');
    assert.equal((await ctl(m4.endpoint, 'put', 'via', 'm4')).code, 0);
    assert.equal((await ctl(first, 'get', 'via', '--print-value-only')).stdout.trim(), 'm4');

    const listed = JSON.parse((await ctl(first, 'member', 'list', '-w', 'json')).stdout).members as { ID: number; name: string }[];
    assert.equal(listed.length, 4);
    const m4Id = (await status(m4.endpoint)).memberId;

    const leader = await agreedLeader(cluster.members);
    const move = await ctl(leader.endpoint, 'move-leader', m4Id.toString(16));
    assert.equal(move.code, 0, move.stderr);
    assert.match(move.stdout, /Leadership transferred from [0-9a-f]+ to [0-9a-f]+/);
    assert.equal(await agreedLeader(cluster.members), m4);

    const follower = cluster.members.find((m) => m !== m4)!;
    const followerId = (await status(follower.endpoint)).memberId;
    const remove = await ctl(m4.endpoint, 'member', 'remove', followerId.toString(16));
    assert.equal(remove.code, 0, remove.stderr);
    assert.match(remove.stdout, /Member\s+[0-9a-f]+ removed from cluster\s+[0-9a-f]+/);
    const after = JSON.parse((await ctl(m4.endpoint, 'member', 'list', '-w', 'json')).stdout).members as { ID: number }[];
    assert.equal(after.length, 3);
    assert.ok(!after.some((m) => m.ID === followerId));
    await waitFor('the removed member to exit', async () => (follower.pid() && (await ctl(follower.endpoint, 'endpoint', 'health', '--command-timeout=1s')).code !== 0 ? true : undefined));

    const unknown = await ctl(m4.endpoint, 'member', 'remove', followerId.toString(16));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /etcdserver: member not found/);
  } finally {
    await cluster.stop();
  }
});

test('a partitioned member refuses linearizable reads and writes while the majority serves; after healing all converge', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, peerProxies: true });
  try {
    const leader = await agreedLeader(cluster.members);
    const isolated = cluster.members.find((m) => m !== leader)!;
    const majority = cluster.members.filter((m) => m !== isolated);
    isolated.proxy!.partition();
    // Once it has missed its leader for an election timeout it knows of no leader.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await ctl(leader.endpoint, 'put', 'during', 'partition')).code, 0);
    const read = await etcdctl(isolated.endpoint, ['get', 'during', '--command-timeout=3s']);
    assert.notEqual(read.code, 0, 'a linearizable read on the isolated member must fail');
    const write = await etcdctl(isolated.endpoint, ['put', 'isolated', 'write', '--command-timeout=3s']);
    assert.notEqual(write.code, 0, 'a write on the isolated member must not be acknowledged');
    assert.equal((await etcdctl(majority[1]!.endpoint, ['get', 'during', '--print-value-only'])).stdout.trim(), 'partition');

    isolated.proxy!.heal();
    await converged(cluster.members);
    assert.equal(await serializableGet(isolated.endpoint, 'during'), 'partition');
  } finally {
    await cluster.stop();
  }
});
