// Response encoders that splice KeyValues kept as encoded mvccpb.KeyValue bytes straight
// into the response, so a range is concatenated, never decoded and re-encoded.
import protobuf from 'protobufjs';
import { messageType } from './codec.js';
import { fieldKey, LENGTH_DELIMITED, VARINT } from './field-key.js';

export interface Header { cluster_id: number; member_id: number; revision: number; raft_term: number }

// `revision` is what a response nested in a txn reports in its own header (etcd fills only that).
export interface RangeResult { kvs: Uint8Array[]; more?: boolean; count: number; revision?: number }
export interface PutResult { prev_kv?: Uint8Array; revision?: number }
export interface DeleteRangeResult { deleted: number; prev_kvs?: Uint8Array[]; revision?: number }
export interface TxnResult { succeeded: boolean; responses: ResponseOpResult[]; revision?: number }
export type ResponseOpResult =
  | { response_range: RangeResult }
  | { response_put: PutResult }
  | { response_delete_range: DeleteRangeResult }
  | { response_txn: TxnResult };

const HeaderType = messageType('etcdserverpb.ResponseHeader');

function writeHeader(w: protobuf.Writer, h: Partial<Header> | undefined): void {
  if (h) HeaderType.encode(h, w.uint32(fieldKey(1, LENGTH_DELIMITED)).fork()).ldelim();
}

const nestedHeader = (r: { revision?: number }, h?: Partial<Header>) => ({ revision: r.revision ?? h?.revision ?? 0 });

function writeRange(w: protobuf.Writer, r: RangeResult, h?: Partial<Header>): void {
  writeHeader(w, h);
  for (const kv of r.kvs) w.uint32(fieldKey(2, LENGTH_DELIMITED)).bytes(kv);
  if (r.more) w.uint32(fieldKey(3, VARINT)).bool(true);
  if (r.count) w.uint32(fieldKey(4, VARINT)).int64(r.count);
}

function writePut(w: protobuf.Writer, r: PutResult, h?: Partial<Header>): void {
  writeHeader(w, h);
  if (r.prev_kv) w.uint32(fieldKey(2, LENGTH_DELIMITED)).bytes(r.prev_kv);
}

function writeDeleteRange(w: protobuf.Writer, r: DeleteRangeResult, h?: Partial<Header>): void {
  writeHeader(w, h);
  if (r.deleted) w.uint32(fieldKey(2, VARINT)).int64(r.deleted);
  for (const kv of r.prev_kvs ?? []) w.uint32(fieldKey(3, LENGTH_DELIMITED)).bytes(kv);
}

// Responses nested in a txn carry a header holding only their revision, as etcd's do (a
// nested txn's header stays empty).
function writeTxn(w: protobuf.Writer, r: TxnResult, h?: Partial<Header>): void {
  writeHeader(w, h);
  if (r.succeeded) w.uint32(fieldKey(2, VARINT)).bool(true);
  for (const op of r.responses) {
    w.uint32(fieldKey(3, LENGTH_DELIMITED)).fork();
    if ('response_range' in op) writeRange(w.uint32(fieldKey(1, LENGTH_DELIMITED)).fork(), op.response_range, nestedHeader(op.response_range, h));
    else if ('response_put' in op) writePut(w.uint32(fieldKey(2, LENGTH_DELIMITED)).fork(), op.response_put, nestedHeader(op.response_put, h));
    else if ('response_delete_range' in op) writeDeleteRange(w.uint32(fieldKey(3, LENGTH_DELIMITED)).fork(), op.response_delete_range, nestedHeader(op.response_delete_range, h));
    else writeTxn(w.uint32(fieldKey(4, LENGTH_DELIMITED)).fork(), op.response_txn, {}); // etcd leaves a nested txn's header empty
    w.ldelim().ldelim();
  }
}

function finish(w: protobuf.Writer): Buffer {
  const b = w.finish();
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function encodeRangeResponse(h: Header | undefined, r: RangeResult): Buffer {
  const w = protobuf.Writer.create();
  writeRange(w, r, h);
  return finish(w);
}

export function encodePutResponse(h: Header, r: PutResult): Buffer {
  const w = protobuf.Writer.create();
  writePut(w, r, h);
  return finish(w);
}

export function encodeDeleteRangeResponse(h: Header, r: DeleteRangeResult): Buffer {
  const w = protobuf.Writer.create();
  writeDeleteRange(w, r, h);
  return finish(w);
}

export function encodeTxnResponse(h: Header, r: TxnResult): Buffer {
  const w = protobuf.Writer.create();
  writeTxn(w, r, h);
  return finish(w);
}
