// The `etcd3` npm client against kvd: get/put/delete/prefix ranges/txn and etcd's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { startServer } from './harness/server.js';

test('the etcd3 npm client works for get, put, delete, ranges and txns', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = new Etcd3({ hosts: `http://${server.endpoint}` });
  try {
    await client.put('app/a').value('1');
    await client.put('app/b').value('2');
    await client.put('other').value('3');
    assert.equal(await client.get('app/a').string(), '1');
    assert.deepEqual(await client.getAll().prefix('app/').strings(), { 'app/a': '1', 'app/b': '2' });
    assert.equal(await client.getAll().prefix('app/').count(), 2);
    assert.deepEqual(await client.getAll().inRange({ start: 'app/b', end: 'p' }).keys(), ['app/b', 'other']);

    const ok = await client.if('app/a', 'Value', '==', '1').then(client.put('app/a').value('won')).else(client.put('app/a').value('lost')).commit();
    assert.equal(ok.succeeded, true);
    const no = await client.if('app/a', 'Value', '==', '1').then(client.put('app/a').value('won2')).else(client.get('app/b')).commit();
    assert.equal(no.succeeded, false);
    assert.equal(await client.get('app/a').string(), 'won');

    const deleted = await client.delete().prefix('app/');
    assert.equal(deleted.deleted, '2');
    assert.equal(await client.get('app/a').string(), null);

    await assert.rejects(client.put('').value('x').exec(), /key is not provided/);
    await assert.rejects(client.put('big').value(Buffer.alloc(1.5 * 1024 * 1024 + 1)).exec(), /request is too large/);
  } finally {
    client.close();
    await server.stop();
  }
});
