// Malformed and hostile requests get an error, never a crash or a hang: random bytes as
// message bodies, absurd limits and revisions, oversized requests; the member keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { startServer } from './harness/server.js';
import { connect } from '../../src/client/client.js';

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

test('random bytes, absurd values and oversized requests get errors; the member keeps serving', async () => {
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

    const put = await client.kv.Put!({ key: Buffer.from('still'), value: Buffer.from('alive') });
    assert.ok(put.header.revision > 0);
    const got = await client.kv.Range!({ key: Buffer.from('still') });
    assert.equal(got.kvs[0].value.toString(), 'alive');
  } finally {
    client.close();
    await server.stop();
  }
});
