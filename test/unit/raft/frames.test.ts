// Length-prefixed frames on the peer connections: read whole however the bytes arrive, and
// refused when larger than the reader takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, frame } from '../../../src/actors/raft/frames.js';

test('frames come out whole wherever the chunks split them, the length prefix included', () => {
  const values = [{ hello: { cluster: 1, from: 2, to: 3, urls: ['http://127.0.0.1:2380'] } }, [{ type: 'app', entries: [{ data: Buffer.alloc(3000, 7) }] }], 'end'];
  const bytes = Buffer.concat(values.map((v) => frame(v)));
  for (const size of [1, 2, 3, 5, 64, bytes.length]) {
    const reader = new FrameReader();
    const out: unknown[] = [];
    for (let at = 0; at < bytes.length; at += size) reader.push(bytes.subarray(at, at + size), (v) => out.push(v));
    assert.equal(out.length, 3, `chunks of ${size}`);
    assert.deepEqual(out[0], values[0]);
    assert.equal(out[2], 'end');
  }
});

test('a frame longer than the reader takes is refused as soon as its length is read', () => {
  const reader = new FrameReader(64 * 1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(0x0fffffff);
  assert.throws(() => reader.push(header, () => {}), /exceeds the limit/);
  const taken = new FrameReader(64 * 1024);
  taken.maxBytes = 1 << 20;
  const big = frame(Buffer.alloc(100 * 1024));
  const out: unknown[] = [];
  taken.push(big, (v) => out.push(v));
  assert.equal(out.length, 1);
});
