// A 3-member kvd cluster of real processes, driven by etcdctl and gRPC clients: one leader,
// failover after SIGKILL with no acknowledged write lost, catch-up through a snapshot,
// membership changes, leadership transfer, and a partitioned member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster, type Server } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { agreedLeader, memberAdd, status, waitFor } from './harness/cluster-status.js';
import { connect } from '../../src/client/client.js';

const b = (s: string) => Buffer.from(s);

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
    // --cluster dials the members' client URLs, scheme included, as etcdctl does with etcd.
    const clusterStatus = await ctl(cluster.endpoints[0]!, 'endpoint', 'status', '--cluster', '-w', 'json');
    assert.equal(clusterStatus.code, 0, clusterStatus.stderr);
    assert.equal((JSON.parse(clusterStatus.stdout) as unknown[]).length, 3);
    assert.equal((await ctl(`http://${cluster.endpoints[1]}`, 'endpoint', 'hashkv')).code, 0);

    const oldLeader = await agreedLeader(cluster.members);
    const acked = new Map<string, string>();
    let n = 0;
    let writing = true;
    // A put in flight to the killed leader is lost and waits out its deadline (as with etcd),
    // so the writers keep going until writes are seen again rather than for a fixed time.
    const writers = cluster.members.map(async (m) => {
      const c = connect(m.endpoint);
      try {
        while (writing) {
          const key = `k/${m.name}/${n++}`;
          try {
            await c.kv.Put!({ key: b(key), value: b(key) }, { deadlineMs: 2000 });
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
    try {
      await waitFor('writes to continue after the leader is killed', async () => (acked.size > ackedBeforeKill + 10 ? true : undefined), 30_000);
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    const survivors = cluster.members.filter((m) => m !== oldLeader);
    const newLeader = await agreedLeader(survivors);
    assert.notEqual(newLeader, oldLeader);

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

test('membership: a learner joins with --initial-cluster-state existing, is promoted, takes the leadership, and a member is removed', async () => {
  const cluster: Cluster = await startCluster({ kind: 'kvd', size: 3 });
  try {
    const first = cluster.endpoints[0]!;
    await ctl(first, 'put', 'before', 'join');
    const planned = await cluster.plan('m4');
    const add = await memberAdd(() => ctl(first, 'member', 'add', 'm4', '--learner', `--peer-urls=${planned.peerURL}`));
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /Member\s+[0-9a-f]+ added to cluster\s+[0-9a-f]+/);
    assert.match(add.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
    const m4 = await cluster.join(planned);
    assert.equal(await waitFor('the new member to catch up', async () => (await serializableGet(m4.endpoint, 'before')) ?? undefined), 'join');
    // A learner serves its status and serializable reads only, as etcd's.
    for (const args of [['put', 'via', 'm4'], ['member', 'list'], ['alarm', 'list'], ['endpoint', 'hashkv']]) {
      const refused = await ctl(m4.endpoint, ...args);
      assert.notEqual(refused.code, 0, args.join(' '));
      assert.match(refused.stderr, /etcdserver: rpc not supported for learner/, args.join(' '));
    }
    assert.equal((await ctl(m4.endpoint, 'endpoint', 'status')).code, 0);
    const m4Hex = add.stdout.match(/Member\s+([0-9a-f]+)/)![1]!;
    const promote = await waitFor('the learner to be promotable', async () => {
      const r = await ctl(first, 'member', 'promote', m4Hex);
      return r.code === 0 ? r : undefined;
    });
    assert.match(promote.stdout, /Member\s+[0-9a-f]+ promoted in cluster\s+[0-9a-f]+/);
    assert.equal((await ctl(m4.endpoint, 'put', 'via', 'm4')).code, 0);
    assert.equal((await ctl(first, 'get', 'via', '--print-value-only')).stdout.trim(), 'm4');

    const listed = JSON.parse((await ctl(first, 'member', 'list', '-w', 'json')).stdout).members as { ID: number; name: string }[];
    assert.equal(listed.length, 4);
    const m4Id = (await status(m4.endpoint)).memberId;

    // Peer URLs change through raft too (here to the same URL and a second one of its own).
    const extraURL = planned.peerURL.replace('127.0.0.1', 'localhost');
    const update = await ctl(first, 'member', 'update', m4Id.toString(16), `--peer-urls=${planned.peerURL},${extraURL}`);
    assert.equal(update.code, 0, update.stderr);
    assert.match(update.stdout, /Member\s+[0-9a-f]+ updated in cluster\s+[0-9a-f]+/);
    const updated = JSON.parse((await ctl(first, 'member', 'list', '-w', 'json')).stdout).members as { ID: number; peerURLs: string[] }[];
    assert.deepEqual(updated.find((m) => m.ID === m4Id)?.peerURLs, [planned.peerURL, extraURL]);

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

/** The same membership requests against a 3-member cluster of `kind`; outputs with IDs normalized. */
async function membershipErrors(kind: 'kvd' | 'etcd'): Promise<string[]> {
  const cluster = await startCluster({ kind, size: 3 });
  try {
    // Both refuse changes until their peers have been connected for etcd's health interval (5 s).
    await new Promise((r) => setTimeout(r, 6000));
    const ep = cluster.endpoints[0]!;
    const ids = (await ctl(ep, 'member', 'list')).stdout.trim().split('\n').map((l) => l.split(',')[0]!);
    const out: string[] = [];
    const run = async (...args: string[]) => {
      const r = await ctl(ep, ...args);
      const text = `${args.slice(0, 2).join(' ')} → ${r.code} ${r.stdout.trim().split('\n')[0] ?? ''} ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
      // kvd's IDs have 53 bits (exact in JavaScript): etcdctl pads them to 16 hex digits with spaces.
      // etcd reports a deadline its own context hit first as an Unknown status with the same text.
      out.push(text.replace(/\b[0-9a-f]{12,16}\b/g, '<id>').replace('rpc error: code = Unknown desc = context deadline exceeded', 'context deadline exceeded').replace(/\s+/g, ' '));
      return r;
    };
    const self = (await status(ep)).memberId.toString(16);
    const other = ids.find((id) => id !== self)!;
    await run('member', 'promote', other);
    await run('member', 'update', 'abcdef', '--peer-urls=http://127.0.0.1:9');
    await run('member', 'remove', 'abcdef');
    await run('member', 'add', 'dup', `--peer-urls=${cluster.members[1]!.peerURL}`);
    const learner = await run('member', 'add', 'learner', '--learner', '--peer-urls=http://127.0.0.1:9');
    await run('member', 'promote', learner.stdout.match(/Member\s+([0-9a-f]+)/)?.[1] ?? 'none');
    await run('member', 'add', 'learner2', '--learner', '--peer-urls=http://127.0.0.1:10');
    // With a voter down, not even a learner may join (the health check comes first).
    await cluster.members[2]!.shutdown();
    await new Promise((r) => setTimeout(r, 2000));
    await run('member', 'add', 'learner3', '--learner', '--peer-urls=http://127.0.0.1:11');
    // With the other two voters down, no change may go through.
    await cluster.members[1]!.shutdown();
    await new Promise((r) => setTimeout(r, 2000));
    // Listed through consensus, the alarms too have no answer then.
    await run('--command-timeout=2s', 'alarm', 'list');
    await run('member', 'remove', other);
    return out;
  } finally {
    await cluster.stop();
  }
}

test('membership errors are etcd\'s: promote a voter or a learner not in sync, unknown IDs, duplicate peer URLs, too many learners, quorum checks', async () => {
  const [etcd, kvd] = [await membershipErrors('etcd'), await membershipErrors('kvd')];
  // Without a quorum etcd refuses the change as unhealthy or holds it until the client gives up
  // (depending on whether it has noticed the stopped peers yet); kvd may also answer that it
  // knows of no leader. Both refuse it.
  assert.deepEqual(kvd.slice(0, -1), etcd.slice(0, -1));
  assert.match(etcd.at(-1)!, /member remove → 1 .*(etcdserver: unhealthy cluster|context deadline exceeded)/);
  assert.match(kvd.at(-1)!, /member remove → 1 Error: (etcdserver: no leader|etcdserver: unhealthy cluster|context deadline exceeded)/);
});

const ELECTION_TIMEOUT_MS = 1000; // both servers' default

type RpcError = { code?: number; details?: string };
interface LostPuts { byNewLeader: RpcError; byOther: RpcError; electedAfterMs: number }

/**
 * A put sent to each follower just after their leader stopped (SIGSTOP: the forwarded
 * proposals wait in the stopped leader's socket) times out after one of the two followers is
 * elected; returns the errors of the put that member took and of the other one, or undefined
 * when the election took longer than two election timeouts after the puts (a failed pre-vote
 * round), which is not the case under test.
 */
async function putsLostWithLeader(kind: 'kvd' | 'etcd'): Promise<LostPuts | undefined> {
  const cluster = await startCluster({ kind, size: 3 });
  const leader = await agreedLeader(cluster.members);
  const followers = cluster.members.filter((m) => m !== leader);
  const ids = await Promise.all(followers.map(async (m) => (await status(m.endpoint)).memberId));
  const clients = followers.map((m) => connect(m.endpoint));
  try {
    await Promise.all(clients.map((c) => c.kv.Put!({ key: b('before'), value: b('stop') })));
    process.kill(leader.pid()!, 'SIGSTOP');
    // Sent well before the followers miss their leader for an election timeout.
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = Date.now();
    const puts = clients.map((c) => c.kv.Put!({ key: b('lost'), value: b('with the leader') }, { deadlineMs: 20_000 }).then(() => undefined, (e: RpcError) => e));
    const [newLeader, electedAt] = await waitFor('a new leader', async () => {
      const s = await status(followers[0]!.endpoint);
      return ids.includes(s.leader) ? [s.leader, Date.now()] as const : undefined;
    });
    const errors = await Promise.all(puts);
    errors.forEach((err, i) => assert.ok(err, `${kind}: the put forwarded by ${followers[i]!.name} to the stopped leader must not be acknowledged`));
    const electedAfterMs = electedAt - sentAt;
    if (electedAfterMs >= 2 * ELECTION_TIMEOUT_MS - 200) return undefined;
    const [mine, other] = ids[0] === newLeader ? [errors[0]!, errors[1]!] : [errors[1]!, errors[0]!];
    const fields = (e: RpcError) => ({ code: e.code, details: e.details });
    return { byNewLeader: fields(mine), byOther: fields(other), electedAfterMs };
  } finally {
    clients.forEach((c) => c.close());
    process.kill(leader.pid()!, 'SIGCONT');
    await cluster.stop();
  }
}

/** The first of up to three runs in which the election came in time. */
async function firstConclusive(kind: 'kvd' | 'etcd'): Promise<LostPuts> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await putsLostWithLeader(kind);
    if (run) return run;
  }
  throw new Error(`${kind}: no new leader within two election timeouts in three runs`);
}

test('puts lost with a stopped leader time out as etcd\'s do: the new leader blames the previous one', async () => {
  const [etcd, kvd] = [await firstConclusive('etcd'), await firstConclusive('kvd')];
  const expected = { byNewLeader: { code: 14, details: 'etcdserver: request timed out, possibly due to previous leader failure' }, byOther: { code: 14, details: 'etcdserver: request timed out' } };
  for (const [kind, { byNewLeader, byOther, electedAfterMs }] of [['etcd', etcd], ['kvd', kvd]] as const) {
    assert.deepEqual({ byNewLeader, byOther }, expected, `${kind}, new leader ${electedAfterMs} ms after the puts`);
  }
});

test('--auto-promote-learners promotes a learner once it has caught up', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--auto-promote-learners'] });
  try {
    const first = cluster.endpoints[0]!;
    await ctl(first, 'put', 'seen', 'by-learner');
    const planned = await cluster.plan('m4');
    const add = await memberAdd(() => ctl(first, 'member', 'add', 'm4', '--learner', `--peer-urls=${planned.peerURL}`));
    assert.equal(add.code, 0, add.stderr);
    const learner = await cluster.join(planned);
    const promoted = await waitFor('the learner to be promoted', async () => {
      const members = JSON.parse((await ctl(first, 'member', 'list', '-w', 'json')).stdout).members as { name: string; isLearner?: boolean }[];
      return members.length === 4 && members.every((m) => !m.isLearner) ? members : undefined;
    });
    assert.ok(promoted.some((m) => m.name === 'm4'));
    assert.equal(await serializableGet(learner.endpoint, 'seen'), 'by-learner');
    assert.equal((await ctl(learner.endpoint, 'put', 'from', 'm4')).code, 0, 'a promoted member serves writes');
  } finally {
    await cluster.stop();
  }
});

test('five members: with two of them killed the other three elect a leader and keep writing', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 5 });
  try {
    const leader = await agreedLeader(cluster.members);
    const killed = [leader, cluster.members.find((m) => m !== leader)!];
    for (const m of killed) m.kill9();
    const survivors = cluster.members.filter((m) => !killed.includes(m));
    const newLeader = await agreedLeader(survivors);
    assert.ok(!killed.includes(newLeader));
    for (const m of survivors) assert.equal((await etcdctl(m.endpoint, ['put', `from/${m.name}`, 'ok', '--command-timeout=10s'])).code, 0);
    for (const m of killed) await m.restart();
    await converged(cluster.members);
    for (const m of cluster.members) for (const s of survivors) assert.equal(await serializableGet(m.endpoint, `from/${s.name}`), 'ok');
  } finally {
    await cluster.stop();
  }
});

test('a delete of many keys keeps the leader: members busy applying it still reach their peers', async () => {
  // Short raft timers: applying this delete takes each member several election timeouts.
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--heartbeat-interval', '20', '--election-timeout', '200', '--log-level', 'info'] });
  const keys = 100_000;
  const clients = cluster.endpoints.map((e) => connect(e));
  try {
    const leader = await agreedLeader(cluster.members);
    const follower = cluster.members.indexOf(cluster.members.find((m) => m !== leader)!);
    const value = Buffer.alloc(100);
    const batches = Array.from({ length: Math.ceil(keys / 128) }, (_, i) => i * 128);
    for (let i = 0; i < batches.length; i += 8) {
      await Promise.all(batches.slice(i, i + 8).map((from) => clients[0]!.kv.Txn!({
        success: Array.from({ length: Math.min(128, keys - from) }, (_, j) => ({ request_put: { key: b(`big/${String(from + j).padStart(6, '0')}`), value } })),
      })));
    }
    const term = (await clients[0]!.kv.Range!({ key: b('big/') })).header.raft_term;
    const logged = cluster.members.map((m) => m.logs().length);

    const deleted = await clients[follower]!.kv.DeleteRange!({ key: b('big/'), range_end: b('big0') });
    assert.equal(Number(deleted.deleted), keys);
    await converged(cluster.members);

    assert.equal(await agreedLeader(cluster.members), leader);
    assert.equal((await clients[0]!.kv.Range!({ key: b('big/') })).header.raft_term, term);
    cluster.members.forEach((m, i) => assert.doesNotMatch(m.logs().slice(logged[i]), /raft lost leader/, `${m.name} lost its leader`));
  } finally {
    clients.forEach((c) => c.close());
    await cluster.stop();
  }
});
