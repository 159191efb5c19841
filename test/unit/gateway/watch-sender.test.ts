// The Watch service writes responses to the calls under grpc-js's stream object, so that many
// go out in one HTTP/2 write. This checks the installed grpc-js still has those calls, and that
// responses written through them as joined frames, one or many at a time, arrive whole and in
// order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { directSender, WATCH_SERVICE } from '../../../src/gateway/watch.js';
import { encodeMessage, messageType } from '../../../src/protocol/codec.js';
import { joinFrames } from '../../../src/protocol/grpc-frames.js';

const WatchResponse = messageType('etcdserverpb.WatchResponse');

test('watch responses written, alone or together, to the calls under the stream arrive in order', async () => {
  const server = new grpc.Server();
  let direct = false;
  let sent = 0;
  let written = 0;
  server.addService(WATCH_SERVICE, {
    Watch: (call: grpc.ServerDuplexStream<any, any>) => {
      const send = directSender(call);
      direct = !!send;
      // Batches of 1, 2, 3… responses: the first carries the headers through the interceptors.
      for (let id = 1, size = 1; id <= 50; size++) {
        const batch: Uint8Array[] = [];
        for (; batch.length < size && id <= 50; id++) batch.push(encodeMessage(WatchResponse, { watch_id: id }));
        sent += batch.reduce((n, b) => n + b.length, 0);
        send?.(joinFrames(batch), batch.length, (bytes) => (written += bytes));
      }
      call.on('data', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(WATCH_SERVICE, 'Watch');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as { Watch(): grpc.ClientDuplexStream<any, any> };
  try {
    const ids: number[] = [];
    const call = client.Watch();
    await new Promise<void>((resolve, reject) => {
      call.on('data', (r: any) => {
        ids.push(Number(r.watch_id));
        if (ids.length === 50) call.write({ progress_request: {} });
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    assert.ok(direct, 'grpc-js offers the call under its stream object');
    assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(written, sent, 'every response reported written, by its size');
  } finally {
    (client as unknown as grpc.Client).close();
    server.forceShutdown();
  }
});
