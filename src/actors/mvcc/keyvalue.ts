// mvccpb.KeyValue encoding: every revision is stored as these bytes and sent as they are.
import { messageType, encodeMessage } from '../../protocol/codec.js';

export interface KeyValue { key: Uint8Array; create_revision: number; mod_revision: number; version: number; value?: Uint8Array; lease: number }

const KeyValueType = messageType('mvccpb.KeyValue');

// Zero lease and empty value are left out, as proto3 encoders do.
export const encodeKeyValue = (kv: KeyValue): Buffer => {
  const { lease, value, ...rest } = kv;
  return encodeMessage(KeyValueType, { ...rest, ...(lease ? { lease } : {}), ...(value?.length ? { value } : {}) });
};
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
