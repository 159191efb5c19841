// gRPC's length-prefixed messages, joined and split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinFrames, payloadBytes, splitFrames } from '../../../src/protocol/grpc-frames.js';

test('joined messages carry a zero flag and their big-endian length each, and split back', () => {
  const messages = [Buffer.from('a'), Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from('last')];
  const frames = joinFrames(messages);
  assert.deepEqual([...frames.subarray(0, 6)], [0, 0, 0, 0, 1, 'a'.charCodeAt(0)]);
  assert.deepEqual([...frames.subarray(6, 11)], [0, 0, 0, 0, 0]);
  assert.equal(frames.readUInt32BE(12), 70_000);
  assert.equal(payloadBytes(frames, messages.length), 1 + 0 + 70_000 + 4);
  assert.deepEqual(splitFrames(frames).map((m) => Buffer.from(m)), messages);
});

test('frames inside a larger buffer split as views of it', () => {
  const frames = joinFrames([Buffer.from('xy'), Buffer.from('z')]);
  const outer = Buffer.concat([Buffer.from('junk'), frames]);
  const parts = splitFrames(outer.subarray(4));
  assert.deepEqual(parts.map((m) => Buffer.from(m).toString()), ['xy', 'z']);
  assert.equal(parts[0]!.buffer, outer.buffer);
});
