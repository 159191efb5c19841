// The Lock service (v3lockpb): etcd's mutex over a contender key per lease (see concurrency.ts).
import * as grpc from '@grpc/grpc-js';
import type { Client } from '../client/client.js';
import { serviceDefinition } from '../protocol/codec.js';
import { EtcdError, fromServiceError } from '../protocol/errors.js';
import { unary } from './unary.js';
import type { Caller } from './auth-info.js';
import { contenderKey, enter, waitDeletes } from './concurrency.js';
import { prefixEnd } from '../protocol/prefix-end.js';

type Req = Record<string, any>;

/** This member's own client, carrying the credentials of the call it serves. */
export type SelfClient = (call: Caller) => Promise<Client>;

export const LOCK_SERVICE = serviceDefinition('v3lockpb.Lock');

/** Aborts when the client gives up on its call: it cancels, or its deadline passes. */
export function abortedWith(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  if (Number.isFinite(at)) {
    const timer = setTimeout(() => controller.abort(), Math.max(0, at - Date.now()));
    timer.unref();
    controller.signal.addEventListener('abort', () => clearTimeout(timer));
    call.on('finish', () => clearTimeout(timer));
  }
  return controller.signal;
}

/**
 * Runs `work` on this member's own client. As etcd's lock and election servers pass their
 * client's errors on as plain errors, a request's failure keeps its message with code Unknown.
 */
export const viaSelf = async <T>(self: SelfClient, call: Caller, work: (c: Client) => Promise<T>): Promise<T> => {
  try {
    return await work(await self(call));
  } catch (err) {
    const e = fromServiceError(err);
    throw e instanceof EtcdError ? new EtcdError(grpc.status.UNKNOWN, e.message) : e;
  }
};

export function lockHandlers(self: SelfClient): grpc.UntypedServiceImplementation {
  return {
    Lock: unary<Req>((req, call) => viaSelf(self, call, async (c) => {
      const signal = abortedWith(call);
      const prefix = Buffer.concat([Buffer.from(req.name ?? []), Buffer.from('/')]);
      const lease = Number(req.lease ?? 0);
      const key = contenderKey(prefix, lease);
      const owner = { request_range: { key: prefix, range_end: prefixEnd(prefix), sort_target: 2, sort_order: 1, limit: 1 } };
      const mine = await enter(c, key, lease, Buffer.alloc(0), [owner]);
      const first = mine.responses[1]?.response_range.kvs?.[0];
      if (!first || Number(first.create_revision) === mine.rev) return { header: mine.header, key };
      try {
        return { header: await waitDeletes(c, prefix, mine.rev - 1, signal), key };
      } catch (err) {
        await c.kv.DeleteRange!({ key }).catch(() => undefined); // as etcd: a waiter that gives up leaves
        throw err;
      }
    })),

    Unlock: unary<Req>((req, call) => viaSelf(self, call, async (c) => ({ header: (await c.kv.DeleteRange!({ key: req.key ?? Buffer.alloc(0) })).header }))),
  };
}
