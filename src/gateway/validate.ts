// Request checks the gateway makes before a request reaches raft, with etcd's errors.
import { Errors } from '../protocol/errors.js';
import { WIRE_SIZE } from '../protocol/codec.js';
// Set by LMDB's key size; etcd itself allows keys up to the request size.
import { MAX_KEY_BYTES } from '../actors/mvcc/key-index.js';

type Req = Record<string, any>;

const bytesLen = (b: Uint8Array | undefined) => (b ? b.length : 0);

export function checkSize(req: Req, maxRequestBytes: number): void {
  if (((req as Record<symbol, number>)[WIRE_SIZE] ?? 0) > maxRequestBytes) throw Errors.requestTooLarge;
}

export function checkRange(r: Req): void {
  if (!bytesLen(r.key)) throw Errors.emptyKey;
  if (![0, 1, 2].includes(r.sort_order ?? 0)) throw Errors.invalidSortOption;
  if (![0, 1, 2, 3, 4].includes(r.sort_target ?? 0)) throw Errors.invalidSortOption;
}


export function checkPut(r: Req): void {
  if (!bytesLen(r.key)) throw Errors.emptyKey;
  if (bytesLen(r.key) > MAX_KEY_BYTES) throw Errors.keyTooLong;
  if (r.ignore_value && bytesLen(r.value)) throw Errors.valueProvided;
  if (r.ignore_lease && r.lease) throw Errors.leaseProvided;
}

export function checkDelete(r: Req): void {
  if (!bytesLen(r.key)) throw Errors.emptyKey;
}

export function checkTxn(r: Req, maxTxnOps: number): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  if (Math.max(compare.length, success.length, failure.length) > maxTxnOps) throw Errors.tooManyOps;
  for (const c of compare) if (!bytesLen(c.key)) throw Errors.emptyKey;
  for (const op of [...success, ...failure]) checkRequestOp(op, maxTxnOps);
  checkBranchKeys(success);
  checkBranchKeys(failure);
}

function checkRequestOp(op: Req, maxTxnOps: number): void {
  if (op.request_range) checkRange(op.request_range);
  else if (op.request_put) checkPut(op.request_put);
  else if (op.request_delete_range) checkDelete(op.request_delete_range);
  else if (op.request_txn) checkTxn(op.request_txn, maxTxnOps);
  else throw Errors.keyNotFound; // an empty RequestOp, as etcd answers it
}

interface Writes { puts: Set<string>; dels: [Uint8Array, Uint8Array | undefined][] }

// A txn branch may write a key once: no two puts of one key, no put inside a deleted range.
function checkBranchKeys(ops: Req[]): void {
  collectWrites(ops, { puts: new Set(), dels: [] });
}

function collectWrites(ops: Req[], seen: Writes): Writes {
  const own: Writes = { puts: new Set(), dels: [] };
  for (const op of ops) {
    if (op.request_put) {
      const k = Buffer.from(op.request_put.key).toString('latin1');
      if (seen.puts.has(k) || own.puts.has(k)) throw Errors.duplicateKey;
      own.puts.add(k);
    } else if (op.request_delete_range) {
      const d = op.request_delete_range;
      own.dels.push([d.key, bytesLen(d.range_end) ? d.range_end : undefined]);
    } else if (op.request_txn) {
      const outer: Writes = { puts: new Set([...seen.puts, ...own.puts]), dels: [...seen.dels, ...own.dels] };
      const a = collectWrites(op.request_txn.success ?? [], outer);
      const b = collectWrites(op.request_txn.failure ?? [], outer);
      for (const k of [...a.puts, ...b.puts]) own.puts.add(k);
      own.dels.push(...a.dels, ...b.dels);
    }
  }
  const dels = [...seen.dels, ...own.dels];
  for (const k of own.puts) if (dels.some(([start, end]) => inDeleted(Buffer.from(k, 'latin1'), start, end))) throw Errors.duplicateKey;
  for (const k of seen.puts) if (own.dels.some(([start, end]) => inDeleted(Buffer.from(k, 'latin1'), start, end))) throw Errors.duplicateKey;
  return own;
}

// etcd's check takes range_end literally: "\0" (from key on) makes an empty interval here.
function inDeleted(key: Uint8Array, start: Uint8Array, end: Uint8Array | undefined): boolean {
  if (!end) return Buffer.compare(key, start) === 0;
  return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0;
}
