// Locks and elections as etcd builds them (its concurrency package) from ordinary requests: a
// contender's key is `<name>/<lease in hex>`, created with its lease; contenders are ordered by
// create revision, and each waits until every key created before its own is deleted. The Lock
// and Election services run these through a client of this member itself, as etcd's do.
import { openWatch } from '../client/watch.js';
import type { Client } from '../client/client.js';
import { prefixEnd } from '../protocol/prefix-end.js';

type Req = Record<string, any>;

const SORT_CREATE = 2;
const ASCEND = 1;
const DESCEND = 2;

/**
 * Watches with `create` until `decide` returns something for a response (or throws); rejects
 * when `signal` aborts (the client gave up) or the watch fails.
 */
export function watchUntil<T>(client: Client, create: Req, signal: AbortSignal, decide: (r: Req) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const stream = openWatch(client);
    const finish = (settle: () => void) => {
      stream.close();
      signal.removeEventListener('abort', aborted);
      settle();
    };
    const aborted = () => finish(() => reject(new Error('canceled')));
    signal.addEventListener('abort', aborted);
    stream.events.on('response', (r: Req) => {
      try {
        const result = decide(r);
        if (result !== undefined) finish(() => resolve(result));
      } catch (err) {
        finish(() => reject(err));
      }
    });
    stream.events.on('error', (err: Error) => finish(() => reject(err)));
    stream.create(create);
  });
}

/** Resolves when `key` has been deleted after revision `rev`. */
export async function waitDelete(client: Client, key: Buffer, rev: number, signal: AbortSignal): Promise<void> {
  await watchUntil(client, { key, start_revision: rev + 1, filters: [0] }, signal, (r) => {
    if (r.canceled) throw new Error(r.cancel_reason || 'etcdserver: mvcc: required revision has been compacted');
    return (r.events ?? []).some((e: Req) => e.type === 1) ? true : undefined;
  });
}

/** Waits until no key under `prefix` has a create revision at or below `maxCreateRev`; returns the last header. */
export async function waitDeletes(client: Client, prefix: Buffer, maxCreateRev: number, signal: AbortSignal): Promise<Req> {
  for (;;) {
    const r = await client.kv.Range!({ key: prefix, range_end: prefixEnd(prefix), sort_target: SORT_CREATE, sort_order: DESCEND, limit: 1, max_create_revision: maxCreateRev });
    if (!r.kvs?.length) return r.header;
    await waitDelete(client, r.kvs[0].key, Number(r.header.revision), signal);
  }
}

/** The first-created key under `prefix` (the owner of a lock, the leader of an election). */
export async function firstCreated(client: Client, prefix: Buffer): Promise<Req> {
  return client.kv.Range!({ key: prefix, range_end: prefixEnd(prefix), sort_target: SORT_CREATE, sort_order: ASCEND, limit: 1 });
}


/** A contender's key: `<name>/<lease in hex>`, as etcd's clients name them. */
export const contenderKey = (prefix: Buffer, lease: number) => Buffer.concat([prefix, Buffer.from(lease.toString(16))]);

/**
 * Creates the contender's key with `value` unless it exists (etcd's Campaign and Mutex.Lock);
 * returns its create revision, whether it was created, and the txn's header and responses.
 */
export async function enter(client: Client, key: Buffer, lease: number, value: Buffer, alsoRead: Req[] = []): Promise<{ rev: number; created: boolean; header: Req; responses: Req[]; existing?: Req }> {
  const r = await client.kv.Txn!({
    compare: [{ key, target: 1, result: 0, create_revision: 0 }],
    success: [{ request_put: { key, value, lease } }, ...alsoRead],
    failure: [{ request_range: { key } }, ...alsoRead],
  });
  const responses: Req[] = r.responses ?? [];
  if (r.succeeded) return { rev: Number(r.header.revision), created: true, header: r.header, responses };
  const existing = responses[0]!.response_range.kvs[0];
  return { rev: Number(existing.create_revision), created: false, header: r.header, responses, existing };
}
