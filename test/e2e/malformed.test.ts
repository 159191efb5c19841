// Malformed and hostile requests get an error, never a crash or a hang: random bytes as
// message bodies, absurd limits and revisions, oversized requests, keys longer than LMDB's,
// negative lease IDs; the member keeps serving, and restarts on what it logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { startServer } from './harness/server.js';
import { connect } from '../../src/client/client.js';
import { frame } from '../../src/actors/raft/frames.js';

const identity = (b: Buffer) => b;

function rawCall(endpoint: string, path: string, body: Buffer): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, body, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err);
    });
  });
}

test('random bytes, absurd values, oversized requests and bodies cut short get errors; the member keeps serving', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    const paths = ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'].map((m) => `/etcdserverpb.KV/${m}`)
      .concat(['Status', 'HashKV', 'Alarm'].map((m) => `/etcdserverpb.Maintenance/${m}`));
    let errors = 0;
    for (let i = 0; i < 200; i++) {
      const err = await rawCall(server.endpoint, paths[i % paths.length]!, randomBytes(1 + (i * 37) % 300));
      if (err) {
        errors++;
        assert.notEqual(err.code, grpc.status.DEADLINE_EXCEEDED, `request ${i} hung`);
      }
    }
    assert.ok(errors > 100, `random bodies were mostly accepted (${errors} errors)`);

    await assert.rejects(client.kv.Range!({ key: Buffer.from('a'), revision: 2 ** 52 }), /required revision is a future revision/);
    await assert.rejects(client.kv.Range!({ key: Buffer.from('a'), sort_order: 99 }), /etcdserver: invalid sort option/);
    await assert.rejects(client.kv.Compact!({ revision: 2 ** 52 }), /required revision is a future revision/);
    const big = await client.kv.Range!({ key: Buffer.from([0]), range_end: Buffer.from([0]), limit: 2 ** 52 });
    assert.ok(!big.more);
    await assert.rejects(client.kv.Put!({ key: Buffer.from('big'), value: Buffer.alloc(1.5 * 1024 * 1024 + 1) }), /etcdserver: request is too large/);
    await assert.rejects(client.kv.Put!({ key: Buffer.from('huge'), value: Buffer.alloc(3 * 1024 * 1024) }), (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED);

    // Bodies cut short by clients that go away, on every kind of JSON gateway route.
    const [host, port] = server.endpoint.split(':');
    for (const route of ['/v3/kv/put', '/v3/maintenance/snapshot', '/v3/election/observe', '/v3/watch']) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), host, () => {
          socket.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"key":`);
          setTimeout(() => (socket.destroy(), resolve()), 200);
        });
        socket.on('error', () => resolve());
      });
    }
    const put = await client.kv.Put!({ key: Buffer.from('still'), value: Buffer.from('alive') });
    assert.ok(put.header.revision > 0);
    const got = await client.kv.Range!({ key: Buffer.from('still') });
    assert.equal(got.kvs[0].value.toString(), 'alive');
  } finally {
    client.close();
    await server.stop();
  }
});

/** A request's answer as a comparable value: the response without its header, or the error's code and text. */
async function outcome(call: Promise<Record<string, any>>): Promise<unknown> {
  try {
    const { header: _header, ...rest } = await call;
    return JSON.parse(JSON.stringify(rest, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString() : v)));
  } catch (err) {
    return { code: (err as grpc.ServiceError).code, details: (err as grpc.ServiceError).details };
  }
}

test('bounds longer than any stored key, negative lease IDs, names such as __proto__ and hashes at revisions out of range get etcd\'s answers; the member restarts on its log', async () => {
  const [kvd, etcd] = await Promise.all([startServer({ kind: 'kvd' }), startServer({ kind: 'etcd' })]);
  const clients = [connect(kvd.endpoint), connect(etcd.endpoint)];
  const long = Buffer.alloc(2000, 'z');
  const b = (s: string) => Buffer.from(s);
  const requests: [service: string, method: string, req: Record<string, any>][] = [
    ['etcdserverpb.KV', 'Put', { key: b('a'), value: b('1') }],
    ['etcdserverpb.KV', 'Put', { key: b('b'), value: b('2') }],
    ['etcdserverpb.KV', 'Range', { key: b('a'), range_end: long }],
    ['etcdserverpb.KV', 'Range', { key: long, range_end: b('\0') }],
    ['etcdserverpb.KV', 'Range', { key: long }],
    ['etcdserverpb.KV', 'DeleteRange', { key: long, range_end: Buffer.concat([long.subarray(1), b('{')]) }],
    ['etcdserverpb.KV', 'Txn', { compare: [{ key: long, target: 0, result: 0, version: 0 }], success: [{ request_range: { key: long, range_end: b('\0') } }, { request_delete_range: { key: b('b'), range_end: long } }] }],
    ['etcdserverpb.KV', 'Put', { key: b('k'), value: b('v'), lease: -1 }],
    ['etcdserverpb.Lease', 'LeaseRevoke', { ID: -1 }],
    ['etcdserverpb.Lease', 'LeaseGrant', { ID: -5, TTL: 60 }],
    ['etcdserverpb.KV', 'Put', { key: b('held'), value: b('v'), lease: -5 }],
    ['etcdserverpb.Lease', 'LeaseLeases', {}],
    ['etcdserverpb.Lease', 'LeaseRevoke', { ID: -5 }],
    // User and role names that are properties of every JavaScript object.
    ['etcdserverpb.Auth', 'RoleGrantPermission', { name: 'constructor', perm: { permType: 2, key: b('a') } }],
    ['etcdserverpb.Auth', 'UserGrantRole', { user: 'toString', role: 'root' }],
    ['etcdserverpb.Auth', 'UserAdd', { name: '__proto__', password: 'secret' }],
    ['etcdserverpb.Auth', 'UserAdd', { name: 'hasOwnProperty', password: 'secret' }],
    // The mvcc actor's errors, from another thread, keep their codes.
    ['etcdserverpb.Maintenance', 'HashKV', { revision: 2 ** 40 }],
    ['etcdserverpb.KV', 'Compact', { revision: 3 }],
    ['etcdserverpb.Maintenance', 'HashKV', { revision: 2 }],
    ['etcdserverpb.KV', 'Range', { key: b('\0'), range_end: b('\0') }],
  ];
  try {
    const compactRevisions = await Promise.all(clients.map(async (c) => Number((await c.maintenance.HashKV!({})).compact_revision)));
    assert.deepEqual(compactRevisions, [-1, -1], 'HashKV before any compaction');
    for (const [service, method, req] of requests) {
      const [fromKvd, fromEtcd] = await Promise.all(clients.map((c) => outcome(c.service(service)[method]!(req))));
      assert.deepEqual(fromKvd, fromEtcd, `${method} ${JSON.stringify(req).slice(0, 80)}`);
    }
    await kvd.shutdown();
    await kvd.restart();
    clients[0]!.close();
    clients[0] = connect(kvd.endpoint);
    assert.deepEqual(await outcome(clients[0]!.service('etcdserverpb.Auth').UserList!({})), { users: ['__proto__', 'hasOwnProperty'] });
    assert.deepEqual(await outcome(clients[0]!.kv.Range!({ key: b('\0'), range_end: b('\0'), keys_only: true })), await outcome(clients[1]!.kv.Range!({ key: b('\0'), range_end: b('\0'), keys_only: true })));
  } finally {
    clients.forEach((c) => c.close());
    await Promise.all([kvd.stop(), etcd.stop()]);
  }
});

/** Sends `frames` (length-prefixed msgpack, as members speak) to a peer URL, and waits for the connection to end. */
function toPeerPort(peerURL: string, frames: Buffer[]): Promise<void> {
  const url = new URL(peerURL);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname, () => frames.forEach((f) => socket.write(f)));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    setTimeout(() => socket.destroy(), 3000);
  });
}

test('malformed first frames on the peer port are refused; the member keeps serving and taking membership changes', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    const { header } = await client.maintenance.Status!({});
    const [cluster, to] = [Number(header.cluster_id), Number(header.member_id)];
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0x0fffffff);
    await toPeerPort(server.peerURL, [frame({ snapshot: { cluster, from: 999, to, urls: [], message: {}, size: 1 } })]);
    await toPeerPort(server.peerURL, [frame({ hello: { cluster, from: 998, to, urls: 'http://x' } })]);
    await toPeerPort(server.peerURL, [frame({ hello: { cluster, from: 997, to, urls: [42] } })]);
    await toPeerPort(server.peerURL, [huge, Buffer.alloc(64 * 1024)]);
    // A membership change makes the member dial its peers again: none of the above may be among them.
    const added = await client.cluster.MemberAdd!({ peerURLs: ['http://127.0.0.1:9'], isLearner: true });
    await client.cluster.MemberRemove!({ ID: added.member.ID });
    const put = await client.kv.Put!({ key: Buffer.from('still'), value: Buffer.from('alive') });
    assert.ok(put.header.revision > 0);
    assert.equal(process.kill(server.pid()!, 0), true);
  } finally {
    client.close();
    await server.stop();
  }
});
