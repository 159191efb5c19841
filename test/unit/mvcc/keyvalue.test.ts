// The stored KeyValue bytes: what etcd's proto3 encoder writes, and what decodes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKeyValue, decodeKeyValue, withoutValue, keyOfKeyValue } from '../../../src/actors/mvcc/keyvalue.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a put revision is encoded field by field in field order', () => {
  const kv = { key: Buffer.from('foo'), create_revision: 2, mod_revision: 300, version: 1, value: Buffer.from('bar'), lease: 7 };
  // key 1, create_revision 2, mod_revision 3 (300 as the varint ac 02), version 4, value 5, lease 6
  assert.equal(hex(encodeKeyValue(kv)), '0a03666f6f' + '1002' + '18ac02' + '2001' + '2a03626172' + '3007');
  const back = decodeKeyValue(encodeKeyValue(kv));
  assert.deepEqual({ ...back, key: Buffer.from(back.key), value: Buffer.from(back.value!) }, kv);
});

test('zero numbers and an empty value are left out, as proto3 encoders do', () => {
  // A tombstone: only the key and its deletion revision.
  assert.equal(hex(encodeKeyValue({ key: Buffer.from('a'), create_revision: 0, mod_revision: 5, version: 0, lease: 0 })), '0a0161' + '1805');
  assert.equal(hex(encodeKeyValue({ key: Buffer.from('a'), create_revision: 1, mod_revision: 1, version: 1, value: Buffer.alloc(0), lease: 0 })), '0a0161100118012001');
});

test('revisions beyond 32 bits and negative lease ids keep their int64 encoding', () => {
  const big = encodeKeyValue({ key: Buffer.from('a'), create_revision: 2 ** 40, mod_revision: 2 ** 52 + 1, version: 3, lease: -5 });
  const back = decodeKeyValue(big);
  assert.equal(back.create_revision, 2 ** 40);
  assert.equal(back.mod_revision, 2 ** 52 + 1);
  assert.equal(back.lease, -5);
  assert.ok(hex(big).endsWith('30fbffffffffffffffff01'), 'a negative int64 takes ten bytes, two\'s complement');
});

test('keys-only and key extraction read the encoded bytes', () => {
  const kv = encodeKeyValue({ key: Buffer.alloc(200, 0x6b), create_revision: 4, mod_revision: 9, version: 2, value: Buffer.from('v'), lease: 0 });
  assert.deepEqual(Buffer.from(keyOfKeyValue(kv)), Buffer.alloc(200, 0x6b), 'a key longer than 127 bytes has a two-byte length');
  const bare = decodeKeyValue(withoutValue(kv));
  assert.equal(bare.value?.length ?? 0, 0);
  assert.equal(bare.mod_revision, 9);
  assert.equal(bare.version, 2);
});
