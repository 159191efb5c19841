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
