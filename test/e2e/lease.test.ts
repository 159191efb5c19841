// Leases on real kvd processes: expiry of keys whose lease is not renewed, renewal through a
// keep-alive stream, a revoke seen by watchers as one response, leases across a restart, and
// across the loss of the leader in a 3-member cluster; plus Debian's python3-etcd3 client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, startServer } from './harness/server.js';
import { runPython } from './harness/python.js';
import { agreedLeader } from './harness/cluster-status.js';
import { connect, type Client } from '../../src/client/client.js';
import { openWatch } from '../../src/client/watch.js';
import type * as grpc from '@grpc/grpc-js';

const b = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exists(client: Client, key: string): Promise<boolean> {
  return ((await client.kv.Range!({ key: b(key), serializable: true })).kvs ?? []).length > 0;
}

/** Keeps a lease alive from a client stream, moving to the next endpoint when one fails. */
function keepAlive(endpoints: string[], id: number, everyMs: number): { stop(): void; renewals: () => number } {
  let stopped = false;
  let renewals = 0;
  let at = 0;
  let client: Client | undefined;
  let stream: grpc.ClientDuplexStream<any, any> | undefined;
  const open = () => {
    client?.close();
    client = connect(endpoints[at++ % endpoints.length]!);
    const raw = client.raw('etcdserverpb.Lease') as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<any, any> };
    const s = (stream = raw.LeaseKeepAlive());
    s.on('data', (r: any) => {
      if (Number(r.TTL) > 0) renewals++;
    });
    s.on('error', () => {
      if (stream === s) stream = undefined;
    });
  };
  const loop = async () => {
    while (!stopped) {
      if (!stream) open();
      stream!.write({ ID: id });
      await sleep(everyMs);
    }
  };
  void loop();
  return {
    renewals: () => renewals,
    stop: () => {
      stopped = true;
      stream?.cancel();
      client?.close();
    },
  };
}

test('an unrenewed lease expires with its keys, a renewed one does not, a revoke deletes every key in one revision', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  const stream = openWatch(client);
  try {
    const responses: any[] = [];
    stream.events.on('response', (r) => r.events?.length && responses.push(r));
    stream.create({ key: b('e/'), range_end: b('e0') });

    const ttl = 2;
    const granted = Date.now();
    const lonely = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl })).ID);
    const renewed = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl })).ID);
    await client.kv.Put!({ key: b('e/lonely'), value: b('1'), lease: lonely });
    await client.kv.Put!({ key: b('e/renewed'), value: b('1'), lease: renewed });
    const keeper = keepAlive([server.endpoint], renewed, 500);
    try {
      await sleep(ttl * 1000 - 700 - (Date.now() - granted));
      assert.ok(await exists(client, 'e/lonely'), 'the key lives until its lease expires');
      await sleep(granted + (ttl + 1) * 1000 - Date.now());
      assert.ok(!(await exists(client, 'e/lonely')), 'gone within TTL + 1 s');
      await sleep(3 * ttl * 1000);
      assert.ok(await exists(client, 'e/renewed'), 'a renewed lease keeps its key');
      assert.ok(keeper.renewals() >= 4);
    } finally {
      keeper.stop();
    }

    const many = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: 60 })).ID);
    for (const k of ['e/m1', 'e/m2', 'e/m3']) await client.kv.Put!({ key: b(k), value: b('x'), lease: many });
    const ttlInfo = await client.service('etcdserverpb.Lease').LeaseTimeToLive!({ ID: many, keys: true });
    assert.deepEqual(ttlInfo.keys.map((k: Buffer) => k.toString()).sort(), ['e/m1', 'e/m2', 'e/m3']);
    const revoked = await client.service('etcdserverpb.Lease').LeaseRevoke!({ ID: many });
    await sleep(300);
    const last = responses.at(-1);
    assert.deepEqual(last.events.map((e: any) => `${e.type === 1 ? 'DELETE' : 'PUT'} ${e.kv.key}`), ['DELETE e/m1', 'DELETE e/m2', 'DELETE e/m3']);
    assert.equal(Number(last.header.revision), Number(revoked.header.revision), 'one revision for the whole revoke');
  } finally {
    stream.close();
    client.close();
    await server.stop();
  }
});

test('leases and their keys survive a kill -9 and restart', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    let client = connect(server.endpoint);
    const id = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: 300 })).ID);
    await client.kv.Put!({ key: b('s/1'), value: b('x'), lease: id });
    client.close();
    server.kill9();
    await server.restart();
    client = connect(server.endpoint);
    try {
      const t = await client.service('etcdserverpb.Lease').LeaseTimeToLive!({ ID: id, keys: true });
      assert.equal(Number(t.grantedTTL), 300);
      assert.ok(Number(t.TTL) > 250 && Number(t.TTL) <= 300, `remaining ${t.TTL}`);
      assert.deepEqual(t.keys.map((k: Buffer) => k.toString()), ['s/1']);
      assert.deepEqual((await client.service('etcdserverpb.Lease').LeaseLeases!({})).leases.map((l: any) => Number(l.ID)), [id]);
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
});

test('3 members: killing the leader never expires a renewed lease; an unrenewed one still expires', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3 });
  try {
    const leader = await agreedLeader(cluster.members);
    const followers = cluster.members.filter((m) => m !== leader).map((m) => m.endpoint);
    const client = connect(followers[0]!);
    try {
      const ttl = 3;
      const kept = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl })).ID);
      const left = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl })).ID);
      await client.kv.Put!({ key: b('c/kept'), value: b('1'), lease: kept });
      await client.kv.Put!({ key: b('c/left'), value: b('1'), lease: left });
      // Renewals go through a follower, which relays them to the leader.
      const keeper = keepAlive([followers[0]!, followers[1]!], kept, 500);
      try {
        await sleep(1000);
        const killedAt = Date.now();
        leader.kill9();
        const survivors = cluster.members.filter((m) => m !== leader);
        await agreedLeader(survivors);
        // The new leader restarts every lease's clock, TTL + an election timeout from when it leads.
        const bound = Date.now() + (ttl + 1 + 1) * 1000;
        while (Date.now() < bound && (await exists(client, 'c/left'))) await sleep(200);
        assert.ok(!(await exists(client, 'c/left')), `the unrenewed lease expired (${Date.now() - killedAt} ms after the kill)`);
        await sleep(2 * ttl * 1000);
        assert.ok(await exists(client, 'c/kept'), 'the renewed lease outlived the leader');
      } finally {
        keeper.stop();
      }
    } finally {
      client.close();
    }
  } finally {
    await cluster.stop();
  }
});

test("Debian's python3-etcd3: lease, lock and a watch that sees the lease expire", async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const script = `
import sys, time, threading, etcd3
c = etcd3.client(host=sys.argv[1], port=int(sys.argv[2]))
lease = c.lease(2)
c.put('py/k', 'v', lease=lease)
assert c.get('py/k')[0] == b'v'
assert lease.remaining_ttl <= 2 and lease.granted_ttl == 2
assert lease.keys == [b'py/k'], lease.keys
events, cancel = c.watch('py/k')
deleted = []
def consume():
    for e in events:
        deleted.append(type(e).__name__)
        cancel()
threading.Thread(target=consume, daemon=True).start()
time.sleep(4)
assert deleted == ['DeleteEvent'], deleted
assert c.get('py/k')[0] is None
# (Debian's python3-etcd3 0.12 cannot wait for a held lock with Debian's tenacity: its wait
# callback has an older signature. The lock is checked without a wait.)
lock = c.lock('py-lock', ttl=5)
assert lock.acquire(timeout=5) and lock.is_acquired()
other = c.lock('py-lock', ttl=5)
assert not other.is_acquired()
assert c.get('/locks/py-lock')[0] == lock.uuid
lock.release()
assert c.get('/locks/py-lock')[0] is None
assert other.acquire(timeout=5) and other.is_acquired()
other.release()
print('ok')
`;
    assert.equal((await runPython(script, server.endpoint)).trim(), 'ok');
  } finally {
    await server.stop();
  }
});

test('--experimental-enable-lease-checkpoint: a new leader continues from the checkpointed remaining TTL', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--experimental-enable-lease-checkpoint', '--experimental-lease-checkpoint-interval', '500ms'] });
  try {
    const leader = await agreedLeader(cluster.members);
    const survivors = cluster.members.filter((m) => m !== leader);
    const client = connect(survivors[0]!.endpoint);
    try {
      const id = Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: 20 })).ID);
      await sleep(5000);
      leader.kill9();
      await agreedLeader(survivors);
      const t = await client.service('etcdserverpb.Lease').LeaseTimeToLive!({ ID: id });
      // Without checkpoints the new leader would give it 20 s + an election timeout again.
      assert.ok(Number(t.TTL) <= 17, `remaining ${t.TTL} s after 5 s of a 20 s lease and a leader change`);
      assert.ok(Number(t.TTL) > 0);
    } finally {
      client.close();
    }
  } finally {
    await cluster.stop();
  }
});
