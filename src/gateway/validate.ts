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
  checkTxnOps(r, maxTxnOps);
  // Once, over the whole request: each level's own check would repeat its nested ones'.
  checkBranchKeys(r.success ?? []);
  checkBranchKeys(r.failure ?? []);
}

/** As etcd: a nested txn may have only the operations its parent's count leaves of the limit. */
function checkTxnOps(r: Req, maxTxnOps: number): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const count = Math.max(compare.length, success.length, failure.length);
  if (count > maxTxnOps) throw Errors.tooManyOps;
  for (const c of compare) if (!bytesLen(c.key)) throw Errors.emptyKey;
  for (const op of [...success, ...failure]) checkRequestOp(op, maxTxnOps - count);
}

function checkRequestOp(op: Req, maxTxnOps: number): void {
  if (op.request_range) checkRange(op.request_range);
  else if (op.request_put) checkPut(op.request_put);
  else if (op.request_delete_range) checkDelete(op.request_delete_range);
  else if (op.request_txn) checkTxnOps(op.request_txn, maxTxnOps);
  else throw Errors.keyNotFound; // an empty RequestOp, as etcd answers it
}

const keyText = (k: Uint8Array) => Buffer.from(k).toString('latin1');

/** Deleted keys: single ones in a set, ranges in a list (etcd's check takes range_end literally: "\0" makes an empty interval here). */
class Deletes {
  readonly singles = new Set<string>();
  readonly ranges: [Uint8Array, Uint8Array][] = [];

  add(key: Uint8Array, end: Uint8Array | undefined): void {
    if (bytesLen(end)) this.ranges.push([key, end!]);
    else this.singles.add(keyText(key));
  }

  addAll(other: Deletes): void {
    for (const k of other.singles) this.singles.add(k);
    this.ranges.push(...other.ranges);
  }

  covers(key: string): boolean {
    if (this.singles.has(key)) return true;
    const k = Buffer.from(key, 'latin1');
    return this.ranges.some(([start, end]) => Buffer.compare(k, start) >= 0 && Buffer.compare(k, end) < 0);
  }

  /** Whether any of `puts` is deleted here. */
  coversAny(puts: Set<string>): boolean {
    for (const k of this.singles) if (puts.has(k)) return true;
    if (!this.ranges.length) return false;
    for (const k of puts) if (this.covers(k)) return true;
    return false;
  }
}

interface Writes { puts: Set<string>; dels: Deletes }

// A txn branch may write a key once: no two puts of one key, no put inside a deleted range.
function checkBranchKeys(ops: Req[]): void {
  collectWrites(ops, []);
}

/** The writes of `ops`, nested txns included; `outer`: the writes around them, which they must not overlap. */
function collectWrites(ops: Req[], outer: Writes[]): Writes {
  const own: Writes = { puts: new Set(), dels: new Deletes() };
  for (const op of ops) {
    if (op.request_put) {
      const k = keyText(op.request_put.key);
      if (own.puts.has(k) || outer.some((w) => w.puts.has(k))) throw Errors.duplicateKey;
      own.puts.add(k);
    } else if (op.request_delete_range) {
      const d = op.request_delete_range;
      own.dels.add(d.key, d.range_end);
    } else if (op.request_txn) {
      // Both branches against what surrounds them; either may put a key the other puts.
      const scopes = [...outer, own];
      const a = collectWrites(op.request_txn.success ?? [], scopes);
      const b = collectWrites(op.request_txn.failure ?? [], scopes);
      for (const k of [...a.puts, ...b.puts]) own.puts.add(k);
      own.dels.addAll(a.dels);
      own.dels.addAll(b.dels);
    }
  }
  for (const k of own.puts) if (own.dels.covers(k) || outer.some((w) => w.dels.covers(k))) throw Errors.duplicateKey;
  if (outer.some((w) => own.dels.coversAny(w.puts))) throw Errors.duplicateKey;
  return own;
}
