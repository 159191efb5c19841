// The Election service (v3electionpb): etcd's election over a contender key per lease (see
// concurrency.ts); the leader is the contender created first, and its key's value is the
// proclaimed value.
import type * as grpc from '@grpc/grpc-js';
import type { Client } from '../client/client.js';
import { serviceDefinition } from '../protocol/codec.js';
import { Errors } from '../protocol/errors.js';
import { failStream, unary } from './unary.js';
import { contenderKey, enter, firstCreated, waitDeletes, watchUntil } from './concurrency.js';
import { prefixEnd } from '../protocol/prefix-end.js';
import { abortedWith, viaSelf, type SelfClient } from './lock.js';

type Req = Record<string, any>;

export const ELECTION_SERVICE = serviceDefinition('v3electionpb.Election');

const prefixOf = (name: Buffer | undefined) => Buffer.concat([Buffer.from(name ?? []), Buffer.from('/')]);

/** Puts `value` on the leader's key if it is still the leader's (same create revision). */
async function proclaim(c: Client, leader: Req, value: Buffer): Promise<Req> {
  const key = Buffer.from(leader.key ?? []);
  const r = await c.kv.Txn!({
    compare: [{ key, target: 1, result: 0, create_revision: Number(leader.rev ?? 0) }],
    success: [{ request_put: { key, value, lease: Number(leader.lease ?? 0) } }],
  });
  if (!r.succeeded) throw Errors.electionNotLeader;
  return r.header;
}

async function resign(c: Client, leader: Req): Promise<Req> {
  const key = Buffer.from(leader.key ?? []);
  const r = await c.kv.Txn!({ compare: [{ key, target: 1, result: 0, create_revision: Number(leader.rev ?? 0) }], success: [{ request_delete_range: { key } }] });
  return r.header;
}

export function electionHandlers(self: SelfClient): grpc.UntypedServiceImplementation {
  return {
    Campaign: unary<Req>((req, call) => viaSelf(self, call, async (c) => {
      const signal = abortedWith(call);
      const prefix = prefixOf(req.name);
      const lease = Number(req.lease ?? 0);
      const value = Buffer.from(req.value ?? []);
      const key = contenderKey(prefix, lease);
      const mine = await enter(c, key, lease, value);
      const leader = { name: req.name, key, rev: mine.rev, lease };
      if (!mine.created && !Buffer.from(mine.existing!.value ?? []).equals(value)) {
        try {
          await proclaim(c, leader, value);
        } catch (err) {
          await resign(c, leader).catch(() => undefined);
          throw err;
        }
      }
      try {
        await waitDeletes(c, prefix, mine.rev - 1, signal);
      } catch (err) {
        if (signal.aborted) await resign(c, leader).catch(() => undefined);
        throw err;
      }
      return { header: mine.header, leader };
    })),

    Proclaim: unary<Req>((req, call) => viaSelf(self, call, async (c) => {
      if (!req.leader) throw Errors.missingLeaderKey;
      return { header: await proclaim(c, req.leader, Buffer.from(req.value ?? [])) };
    })),

    Resign: unary<Req>((req, call) => viaSelf(self, call, async (c) => {
      if (!req.leader) throw Errors.missingLeaderKey;
      return { header: await resign(c, req.leader) };
    })),

    Leader: unary<Req>((req, call) => viaSelf(self, call, async (c) => {
      const r = await firstCreated(c, prefixOf(req.name));
      if (!r.kvs?.length) throw Errors.electionNoLeader;
      return { header: r.header, kv: r.kvs[0] };
    })),

    Observe: (call: grpc.ServerWritableStream<Req, Req>) => {
      self(call).then((client) => observe(client, prefixOf(call.request.name), call, abortedWith(call))).catch((err) => {
        if (!call.cancelled) failStream(call, err);
      });
    },
  };
}

/**
 * Sends the leader, then every change of it: a new value proclaimed, or a new leader once the
 * current one's key is deleted (etcd's Election.Observe).
 */
async function observe(c: Client, prefix: Buffer, call: grpc.ServerWritableStream<Req, Req>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const first = await firstCreated(c, prefix);
    let leader = first.kvs?.[0];
    let rev = Number(first.header.revision);
    if (!leader) {
      // No leader yet: the first contender to appear is the leader.
      leader = await nextPut(c, prefix, rev, signal);
      rev = Number(leader.mod_revision);
    }
    call.write({ header: { ...first.header, revision: rev }, kv: leader });
    // Follow the leader's key until it is deleted.
    await followKey(c, leader, rev, signal, (kv, header) => call.write({ header, kv }));
  }
}

/** The first PUT under `prefix` after `rev`. */
function nextPut(c: Client, prefix: Buffer, rev: number, signal: AbortSignal): Promise<Req> {
  return watchUntil(c, { key: prefix, range_end: prefixEnd(prefix), start_revision: rev + 1 }, signal, (r) => (r.events ?? []).find((e: Req) => e.type !== 1)?.kv);
}

/** Reports every new value of the leader's key after `rev`; resolves when the key is deleted. */
async function followKey(c: Client, leader: Req, rev: number, signal: AbortSignal, onValue: (kv: Req, header: Req) => void): Promise<void> {
  await watchUntil(c, { key: leader.key, start_revision: rev + 1 }, signal, (r) => {
    for (const e of r.events ?? []) {
      if (e.type === 1) return true;
      onValue(e.kv, r.header);
    }
    return undefined;
  });
}
