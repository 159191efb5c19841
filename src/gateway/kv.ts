// The KV service: writes go through raft, reads through the read-index path and the reader pool.
import type * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { CORRUPT, type WriteOp } from '../actors/mvcc/store.js';
import { serviceDefinition, WIRE_SIZE } from '../protocol/codec.js';
import { fieldKey, LENGTH_DELIMITED } from '../protocol/field-key.js';
import { Errors, EtcdError } from '../protocol/errors.js';
import { checkDelete, checkPut, checkRange, checkSize, checkTxn } from './validate.js';
import { failStream, unary } from './unary.js';
import type { RangePage, RangeTask, RangeTaskResult } from '../actors/reader/task.js';
import protobuf from 'protobufjs';
import { authInfoOf, writerOf, type Caller } from './auth-info.js';
import { ANONYMOUS, checkRead } from '../actors/mvcc/permissions.js';

type Req = Record<string, any>;

export const KV_SERVICE = serviceDefinition('etcdserverpb.KV');

export function kvHandlers(member: Member): grpc.UntypedServiceImplementation {
  const { maxRequestBytes, maxTxnOps } = member.config;

  const read = async (req: Req, caller: Caller, page?: RangeTask['page']): Promise<RangePage> => {
    checkRange(req);
    if (member.alarms.some((a) => a.alarm === CORRUPT)) throw Errors.corrupt;
    if (!req.serializable && !page?.continued) await member.linearizableRead();
    const ai = await authInfoOf(member, caller);
    checkRead(member.auth, ai ?? ANONYMOUS, req.key, req.range_end);
    const task: RangeTask = {
      dbDir: member.dbDir,
      req,
      header: member.header(),
      page,
    };
    const result: RangeTaskResult = await member.range(task);
    if ('error' in result) throw new EtcdError(result.error.code, result.error.message);
    // As etcd: the permissions may have changed while the range was read.
    if (ai && member.auth.enabled && ai.revision !== member.auth.revision) throw Errors.authOldRevision;
    return result;
  };
  const propose = async (op: WriteOp, call: grpc.ServerUnaryCall<Req, unknown>) => member.propose(op, false, undefined, await writerOf(member, call));

  return {
    Range: unary<Req>(async (req, call) => (await read(req, call)).bytes),

    Put: unary<Req>(async (req, call) => {
      checkPut(req);
      checkSize(req, maxRequestBytes);
      member.checkSpace(writeCost(req));
      return propose({ type: 'put', req }, call);
    }),

    DeleteRange: unary<Req>(async (req, call) => {
      checkDelete(req);
      checkSize(req, maxRequestBytes);
      return propose({ type: 'deleteRange', req }, call);
    }),

    Txn: unary<Req>(async (req, call) => {
      checkTxn(req, maxTxnOps);
      checkSize(req, maxRequestBytes);
      if (hasPut(req)) member.checkSpace(writeCost(req));
      return propose({ type: 'txn', req }, call);
    }),

    Compact: unary<Req>(async (req, call) => {
      return propose({ type: 'compact', req }, call);
    }),

    // Pages of a range read at one revision, so a large result is never built whole.
    RangeStream: (call: grpc.ServerWritableStream<Req, unknown>) => {
      streamRange(call, read).catch((err) => failStream(call, err));
    },
  };
}

/** What a write adds to the database, as etcd's quota counts it: its size plus a per-key overhead. */
const KV_OVERHEAD = 256;
export const writeCost = (req: Req) => Number((req as Record<symbol, unknown>)[WIRE_SIZE] ?? 0) + KV_OVERHEAD;

/** Whether a txn puts anything, on either branch, nested txns included. */
function hasPut(txn: Req): boolean {
  return [...(txn.success ?? []), ...(txn.failure ?? [])].some((op: Req) => op.request_put || (op.request_txn && hasPut(op.request_txn)));
}

const STREAM_PAGE_KEYS = 1000;

// Sorted or filtered ranges cannot resume from a key, so they go out as one page.
const pageable = (r: Req) =>
  !r.sort_order && !r.sort_target && !r.min_mod_revision && !r.max_mod_revision &&
  !r.min_create_revision && !r.max_create_revision && !r.count_only;

function wrapChunk(rangeResponse: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(fieldKey(1, LENGTH_DELIMITED)).bytes(rangeResponse);
  return Buffer.from(w.finish());
}

async function streamRange(
  call: grpc.ServerWritableStream<Req, unknown>,
  readAs: (req: Req, caller: Caller, page?: RangeTask['page']) => Promise<RangePage>,
): Promise<void> {
  const read = (req: Req, page?: RangeTask['page']) => readAs(req, call, page);
  const req = call.request;
  if (!pageable(req)) {
    call.write(wrapChunk((await read(req)).bytes));
    call.end();
    return;
  }
  let left = req.limit > 0 ? req.limit : Infinity;
  let next: Req = { ...req, limit: Math.min(left, STREAM_PAGE_KEYS) };
  let page = await read(next, { continued: false });
  for (;;) {
    call.write(wrapChunk(page.bytes));
    left -= page.keys;
    if (!page.more || left <= 0 || !page.lastKey || call.cancelled) break;
    const from = Buffer.concat([page.lastKey, Buffer.from([0])]);
    next = { ...req, key: from, revision: page.revision, limit: Math.min(left, STREAM_PAGE_KEYS) };
    page = await read(next, { continued: true });
  }
  call.end();
}
