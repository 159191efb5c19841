// Randomized differential test: the same seeded sequence of puts, deletes, ranges (every
// option, historical revisions), txns and compactions goes over gRPC to a real etcd and to
// kvd; every response (or error code and message) must be equal, apart from cluster/member
// IDs and raft terms. A failure names its seed and step; KVD_DIFF_SEED replays one seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness/server.js';
import { connect, type Client } from '../../src/client/client.js';
import { normalizeResponse } from '../support/normalize-response.js';

const SEEDS = process.env.KVD_DIFF_SEED ? [Number(process.env.KVD_DIFF_SEED)] : [11, 12, 13];
const STEPS = Number(process.env.KVD_DIFF_STEPS ?? 250);

function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]! };
}

type Rand = ReturnType<typeof prng>;
const key = (r: Rand) => Buffer.from(`k${r.int(12).toString().padStart(2, '0')}`);
const rangeEnd = (r: Rand, k: Buffer) => r.pick([undefined, undefined, Buffer.from([0]), Buffer.concat([k.subarray(0, 2), Buffer.from('9')]), Buffer.from('k06')]);

function rangeReq(r: Rand, rev: number) {
  const k = key(r);
  return {
    key: k,
    range_end: rangeEnd(r, k),
    limit: r.pick([0, 0, 1, 3]),
    revision: r.pick([0, 0, Math.max(1, r.int(rev + 2))]),
    sort_order: r.pick([0, 0, 1, 2]),
    sort_target: r.pick([0, 0, 1, 2, 3, 4]),
    keys_only: r.next() < 0.2,
    count_only: r.next() < 0.1,
    min_mod_revision: r.next() < 0.1 ? r.int(rev + 1) : 0,
    max_create_revision: r.next() < 0.1 ? r.int(rev + 1) : 0,
  };
}

function writeOp(r: Rand) {
  const k = key(r);
  return r.next() < 0.7
    ? { request_put: { key: k, value: Buffer.from(`v${r.int(100)}`), prev_kv: r.next() < 0.3 } }
    : { request_delete_range: { key: k, range_end: rangeEnd(r, k), prev_kv: r.next() < 0.3 } };
}

function txnReq(r: Rand, rev: number) {
  const compare = Array.from({ length: r.int(3) }, () => {
    const target = r.int(5);
    return {
      key: key(r), target, result: r.int(4),
      ...[{ version: r.int(3) }, { create_revision: r.int(rev + 1) }, { mod_revision: r.int(rev + 1) }, { value: Buffer.from(`v${r.int(100)}`) }, { lease: 0 }][target],
      ...(r.next() < 0.2 ? { range_end: Buffer.from('k09') } : {}),
    };
  });
  const branch = () => Array.from({ length: r.int(3) }, () => (r.next() < 0.3 ? { request_range: rangeReq(r, rev) } : writeOp(r)));
  return { compare, success: branch(), failure: branch() };
}

async function call(c: Client, method: string, req: object) {
  try {
    return { ok: normalizeResponse(await c.kv[method]!(req, { deadlineMs: 10_000 })) };
  } catch (err: any) {
    return { code: err.code, message: err.details };
  }
}

test('random KV traffic gets the same answers from kvd as from etcd', async () => {
  const etcd = await startServer({ kind: 'etcd' });
  const kvd = await startServer({ kind: 'kvd' });
  const clients = [connect(etcd.endpoint), connect(kvd.endpoint)] as const;
  try {
    for (const seed of SEEDS) {
      const r = prng(seed);
      let rev = 1;
      for (let step = 0; step < STEPS; step++) {
        const roll = r.next();
        const [method, req] =
          roll < 0.35 ? ['Put', { key: key(r), value: Buffer.from(`v${r.int(100)}`), prev_kv: r.next() < 0.3, ignore_value: r.next() < 0.05 }]
          : roll < 0.45 ? ['DeleteRange', writeOp(r).request_delete_range ?? { key: key(r) }]
          : roll < 0.75 ? ['Range', rangeReq(r, rev)]
          : roll < 0.97 ? ['Txn', txnReq(r, rev)]
          : ['Compact', { revision: r.int(rev + 2) }];
        const [a, b] = [await call(clients[0], method, req), await call(clients[1], method, req)];
        assert.deepEqual(b, a, `seed ${seed} step ${step}: ${method} ${JSON.stringify(normalizeResponse(req))}`);
        rev = Math.max(rev, a.ok?.header?.revision ?? rev);
      }
    }
  } finally {
    clients.forEach((c) => c.close());
    await etcd.stop();
    await kvd.stop();
  }
});
