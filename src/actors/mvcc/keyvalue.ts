// mvccpb.KeyValue encoding: every revision is stored as these bytes and sent as they are.
import protobuf from 'protobufjs';
import { messageType } from '../../protocol/codec.js';
import { fieldKey, LENGTH_DELIMITED, VARINT } from '../../protocol/field-key.js';

export interface KeyValue { key: Uint8Array; create_revision: number; mod_revision: number; version: number; value?: Uint8Array; lease: number }

const KeyValueType = messageType('mvccpb.KeyValue');

// Written field by field: every put encodes one on every member, and the reflective encoder
// costs several times as much. Zero numbers and an empty value are left out, as proto3
// encoders do.
export function encodeKeyValue(kv: KeyValue): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(fieldKey(1, LENGTH_DELIMITED)).bytes(kv.key);
  if (kv.create_revision) w.uint32(fieldKey(2, VARINT)).int64(kv.create_revision);
  if (kv.mod_revision) w.uint32(fieldKey(3, VARINT)).int64(kv.mod_revision);
  if (kv.version) w.uint32(fieldKey(4, VARINT)).int64(kv.version);
  if (kv.value?.length) w.uint32(fieldKey(5, LENGTH_DELIMITED)).bytes(kv.value);
  if (kv.lease) w.uint32(fieldKey(6, VARINT)).int64(kv.lease);
  const b = w.finish();
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
export const decodeKeyValue = (bytes: Uint8Array): KeyValue => KeyValueType.decode(bytes) as unknown as KeyValue;

/** The same KeyValue without its value, as keys_only ranges return it. */
export function withoutValue(bytes: Uint8Array): Buffer {
  const kv = decodeKeyValue(bytes);
  return encodeKeyValue({ key: kv.key, create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, lease: kv.lease });
}

/** The key of encoded KeyValue bytes without decoding them: field 1 comes first (tag, varint length, bytes). */
export function keyOfKeyValue(kv: Uint8Array): Uint8Array {
  let len = 0, shift = 0, at = 1;
  for (;;) {
    const b = kv[at++]!;
    len |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return kv.subarray(at, at + len);
}
