// The Watch service writes responses to the call under grpc-js's stream object, so that many
// go out in one HTTP/2 write. This checks the installed grpc-js still has that call, and that
// responses written through it arrive whole and in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { directSender, WATCH_SERVICE } from '../../../src/gateway/watch.js';
import { encodeMessage, messageType } from '../../../src/protocol/codec.js';

const WatchResponse = messageType('etcdserverpb.WatchResponse');

test('watch responses written to the call under the stream arrive in order', async () => {
  const server = new grpc.Server();
  let direct = false;
  server.addService(WATCH_SERVICE, {
    Watch: (call: grpc.ServerDuplexStream<any, any>) => {
      const send = directSender(call);
      direct = !!send;
      let written = 0;
      for (let i = 1; i <= 50; i++) send?.(encodeMessage(WatchResponse, { watch_id: i }), () => written++);
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
  } finally {
    (client as unknown as grpc.Client).close();
    server.forceShutdown();
  }
});
