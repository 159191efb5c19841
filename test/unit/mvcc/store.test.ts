// The mvcc store: revisions and generations, range options, txn semantics, compaction that
// frees space, replay skipping by consistent index, restart, hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MvccStore, openDatabases, type WriteOp } from '../../../src/actors/mvcc/store.js';
import { pack } from 'msgpackr';
import { decodeKeyValue } from '../../../src/actors/mvcc/keyvalue.js';
import { decodeIndex, historyFlag, historyKey } from '../../../src/actors/mvcc/key-index.js';
import rangeTask from '../../../src/actors/reader/task.js';
import { messageType } from '../../../src/protocol/codec.js';

const b = (s: string) => Buffer.from(s);
const RangeResponse = messageType('etcdserverpb.RangeResponse');

class Harness {
  index = 0;
  constructor(readonly dir: string, public store = MvccStore.open(dir)) {}
  /** Applies, then lets a compaction finish as the actor does: a few revisions per step. */
  apply(...ops: WriteOp[]) {
    const results = this.store.applyBatch(ops.map((op) => ({ index: ++this.index, term: 1, op })));
    while (this.store.compactStep(3));
    return results;
  }
  put(key: string, value: string, extra: object = {}) {
    return this.apply({ type: 'put', req: { key: b(key), value: b(value), ...extra } })[0] as any;
  }
  /** A range through the reader task, decoded as a client would see it. */
  range(req: Record<string, any>) {
    const r = rangeTask({ dbDir: this.dir, req, header: { cluster_id: 1, member_id: 1, raft_term: 1 } });
    if ('error' in r) throw new Error(r.error.message);
    const res = RangeResponse.toObject(RangeResponse.decode(r.bytes)) as any;
    return { ...res, pairs: (res.kvs ?? []).map((kv: any) => [kv.key.toString(), kv.value?.toString() ?? '']) };
  }
}

const withStore = async (fn: (h: Harness) => Promise<void> | void) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-'));
  const h = new Harness(dir);
  try {
    await fn(h);
  } finally {
    await h.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

test('puts take revisions from 2; versions count up and a delete starts a new generation', () =>
  withStore((h) => {
    assert.equal(h.put('a', '1').revision, 2);
    assert.equal(h.put('a', '2').revision, 3);
    h.apply({ type: 'deleteRange', req: { key: b('a') } });
    h.put('a', '3');
    const kv = decodeKeyValue((h.store.applyBatch([{ index: ++h.index, term: 1, op: { type: 'put', req: { key: b('a'), value: b('4'), prev_kv: true } } }])[0] as any).response.prev_kv);
    assert.deepEqual([kv.create_revision, kv.mod_revision, kv.version, String(kv.value)], [5, 5, 1, '3']);
  }));

test('a long apply tells its caller it is busy: after every entry and at every key a delete goes through', () =>
  withStore((h) => {
    for (let k = 0; k < 300; k += 100) h.apply(...Array.from({ length: 100 }, (_, j) => ({ type: 'put', req: { key: b(`k${String(k + j).padStart(3, '0')}`), value: b('v') } }) as WriteOp));
    let calls = 0;
    const items = [{ index: ++h.index, term: 1, op: { type: 'deleteRange', req: { key: b('k'), range_end: b('l') } } as WriteOp }, { index: ++h.index, term: 1, op: { type: 'noop' } as WriteOp }];
    const [deleted] = h.store.applyBatch(items, true, () => calls++) as any[];
    assert.equal(Number(deleted.response.deleted), 300);
    assert.ok(calls >= 300 + items.length, `busy was called ${calls} times`);
  }));

test('applied without events (nobody watches): the same answers and state, previous values only where asked', () =>
  withStore(async (h) => {
    const other = new Harness(fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-')));
    try {
      const ops: WriteOp[] = [
        { type: 'put', req: { key: b('a'), value: b('1') } },
        { type: 'put', req: { key: b('b'), value: b('1'), lease: 0 } },
        { type: 'put', req: { key: b('a'), value: b('2'), prev_kv: true } },
        { type: 'put', req: { key: b('a'), ignore_value: true, prev_kv: true } },
        { type: 'deleteRange', req: { key: b('a'), range_end: b('c'), prev_kv: true } },
        { type: 'put', req: { key: b('c'), value: b('3') } },
        { type: 'txn', req: { success: [{ request_put: { key: b('c'), value: b('4'), prev_kv: true } }, { request_delete_range: { key: b('c') } }] } },
      ];
      const quiet = ops.map((op) => h.store.applyBatch([{ index: ++h.index, term: 1, op }], false)[0] as any);
      const full = ops.map((op) => other.store.applyBatch([{ index: ++other.index, term: 1, op }])[0] as any);
      assert.deepEqual(quiet.map((r) => r.events.length), [0, 0, 0, 0, 0, 0, 0]);
      assert.deepEqual(full.map((r) => r.events.length), [1, 1, 1, 1, 2, 1, 2]);
      assert.deepEqual(quiet.map((r) => r.response), full.map((r) => r.response));
      assert.equal(String(decodeKeyValue(quiet[3].response.prev_kv).value), '2');
      assert.deepEqual(quiet[4].response.prev_kvs.map((kv: Uint8Array) => String(decodeKeyValue(kv).value)), ['2', '1']);
      assert.deepEqual([h.store.currentRevision(), h.store.keyCount()], [other.store.currentRevision(), other.store.keyCount()]);
      assert.equal(h.store.hashKV(0).hash, other.store.hashKV(0).hash);
    } finally {
      await other.store.close();
      fs.rmSync(other.dir, { recursive: true, force: true });
    }
  }));

test('range options: prefix, from-key, limit/more/count, history, sort, filters, keys/count only', () =>
  withStore((h) => {
    for (const [k, v] of [['b', '2'], ['a', '3'], ['c', '1'], ['a', '4']]) h.put(k!, v!);
    assert.deepEqual(h.range({ key: b('a'), range_end: b('c') }).pairs, [['a', '4'], ['b', '2']]);
    assert.deepEqual(h.range({ key: b('b'), range_end: Buffer.of(0) }).pairs, [['b', '2'], ['c', '1']]);
    const limited = h.range({ key: Buffer.of(0), range_end: Buffer.of(0), limit: 2 });
    assert.deepEqual([limited.pairs.length, limited.more, Number(limited.count)], [2, true, 3]);
    assert.deepEqual(h.range({ key: b('a'), revision: 3 }).pairs, [['a', '3']]);
    assert.deepEqual(h.range({ key: Buffer.of(0), range_end: Buffer.of(0), sort_target: 4, sort_order: 2 }).pairs.map((p: string[]) => p[1]), ['4', '2', '1']);
    assert.deepEqual(h.range({ key: Buffer.of(0), range_end: Buffer.of(0), min_mod_revision: 4 }).pairs.map((p: string[]) => p[0]), ['a', 'c']);
    assert.deepEqual(h.range({ key: Buffer.of(0), range_end: Buffer.of(0), keys_only: true }).pairs, [['a', ''], ['b', ''], ['c', '']]);
    const counted = h.range({ key: Buffer.of(0), range_end: Buffer.of(0), count_only: true });
    assert.deepEqual([counted.pairs.length, Number(counted.count)], [0, 3]);
    assert.throws(() => h.range({ key: b('a'), revision: 99 }), /required revision is a future revision/);
  }));

test('txn: compares on every target, range compares, nested txns, one revision, reads see earlier writes', () =>
  withStore((h) => {
    h.put('x', 'v1');
    h.put('y', 'v1');
    const put = (k: string, v: string) => ({ request_put: { key: b(k), value: b(v) } });
    const [r] = h.apply({
      type: 'txn',
      req: {
        compare: [
          { target: 3, result: 0, key: b('x'), value: b('v1') },
          { target: 0, result: 0, key: b('x'), version: 1 },
          { target: 2, result: 1, key: b('x'), mod_revision: 1 },
          { target: 1, result: 2, key: b('x'), create_revision: 3 },
          { target: 3, result: 0, key: b('x'), range_end: b('z'), value: b('v1') },
        ],
        success: [put('x', 'v2'), { request_range: { key: b('x') } }, { request_txn: { compare: [{ target: 0, result: 0, key: b('missing'), version: 0 }], success: [put('z', 'nested')] } }],
      },
    }) as any[];
    assert.equal(r.response.succeeded, true);
    assert.equal(r.revision, 4, 'the whole txn takes one revision');
    assert.equal(String(decodeKeyValue(r.response.responses[1].response_range.kvs[0]).value), 'v2');
    assert.equal(r.response.responses[2].response_txn.succeeded, true);
    assert.deepEqual(h.range({ key: b('z') }).pairs, [['z', 'nested']]);
    const [f] = h.apply({ type: 'txn', req: { compare: [{ target: 3, result: 0, key: b('missing'), value: b('') }], failure: [put('w', 'f')] } }) as any[];
    assert.equal(f.response.succeeded, false, 'a value compare on a missing key fails');
  }));

test('ignore_value and ignore_lease need an existing key', () =>
  withStore((h) => {
    const [r] = h.apply({ type: 'put', req: { key: b('nokey'), ignore_value: true } }) as any[];
    assert.match(r.error.message, /etcdserver: key not found/);
  }));

test('compaction removes history, keeps latest values, drops tombstones and reuses space; the space in use shrinks', () =>
  withStore(async (h) => {
    h.put('k', 'old');
    h.put('gone', 'x');
    h.apply({ type: 'deleteRange', req: { key: b('gone') } });
    h.put('k', 'new');
    h.apply({ type: 'compact', req: { revision: h.store.currentRevision() } });
    assert.throws(() => h.range({ key: b('k'), revision: 2 }), /required revision has been compacted/);
    assert.deepEqual(h.range({ key: Buffer.of(0), range_end: Buffer.of(0) }).pairs, [['k', 'new']]);
    const [again] = h.apply({ type: 'compact', req: { revision: 2 } }) as any[];
    assert.match(again.error.message, /compacted/);
    const value = 'v'.repeat(4000);
    const sizes: number[] = [];
    for (let round = 0; round < 8; round++) {
      for (let i = 0; i < 200; i++) h.put(`s${i}`, value);
      h.apply({ type: 'compact', req: { revision: h.store.currentRevision() } });
      sizes.push(h.store.dbSize());
      // As in the actor, each batch is its own event turn: lmdb-js then renews read snapshots,
      // which would otherwise pin the freed pages.
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(sizes[7]! <= sizes[3]!, `the database kept growing under put/compact: ${sizes.join(', ')}`);
    // Deleted and compacted, the values' pages are free: in use is what the trees still hold.
    const inUseFull = h.store.dbSizeInUse();
    h.apply({ type: 'deleteRange', req: { key: b('s'), range_end: b('t') } });
    h.apply({ type: 'compact', req: { revision: h.store.currentRevision() } });
    await new Promise((r) => setImmediate(r));
    const inUse = h.store.dbSizeInUse();
    assert.ok(inUse < inUseFull / 4, `in use ${inUse} after the deletes, ${inUseFull} before`);
    assert.ok(inUse < h.store.dbSize() / 4, `in use ${inUse} of ${h.store.dbSize()}`);
    assert.ok(inUse > 0);
  }));

test('revisions fill their pages: three KeyValues of 1 KiB share a 4 KiB page', () =>
  withStore((h) => {
    const value = 'v'.repeat(1024);
    for (let i = 0; i < 30; i++) {
      h.apply(...Array.from({ length: 10 }, (_, j): WriteOp => ({ type: 'put', req: { key: b(`k${i * 10 + j}`.padEnd(256, '.')), value: b(value) } })));
    }
    const { treeLeafPageCount } = openDatabases(h.dir).rev.getStats() as { treeLeafPageCount: number };
    // Split in half on every full page, the 300 revisions would take 150 pages.
    assert.ok(treeLeafPageCount <= 101, `300 revisions took ${treeLeafPageCount} pages`);
  }));

test('replayed entries at or below the consistent index are skipped; restart keeps state', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-'));
  try {
    let store = MvccStore.open(dir);
    store.applyBatch([{ index: 1, term: 1, op: { type: 'put', req: { key: b('a'), value: b('1') } } }, { index: 2, term: 1, op: { type: 'put', req: { key: b('a'), value: b('2') } } }]);
    await store.close();
    store = MvccStore.open(dir);
    assert.equal(store.consistentIndex(), 2);
    const again = store.applyBatch([{ index: 2, term: 1, op: { type: 'put', req: { key: b('a'), value: b('dup') } } }, { index: 3, term: 1, op: { type: 'noop' } }]);
    assert.equal(again[0], undefined);
    assert.equal(store.currentRevision(), 3);
    assert.equal(store.consistentIndex(), 3);
    await store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stores fed the same operations have the same HashKV', async () => {
  const hashes: number[] = [];
  for (let n = 0; n < 2; n++) {
    await withStore((h) => {
      h.put('a', '1');
      h.put('b', '2');
      h.apply({ type: 'deleteRange', req: { key: b('a') } });
      hashes.push(h.store.hashKV(0).hash);
    });
  }
  assert.equal(hashes[0], hashes[1]);
});

test('nested txn compares see the state before the outer txn wrote', () =>
  withStore((h) => {
    h.put('flag', 'before');
    const [r] = h.apply({
      type: 'txn',
      req: {
        success: [
          { request_put: { key: b('flag'), value: b('after') } },
          { request_txn: { compare: [{ target: 3, result: 0, key: b('flag'), value: b('before') }], success: [{ request_put: { key: b('seen'), value: b('before') } }], failure: [{ request_put: { key: b('seen'), value: b('after') } }] } },
        ],
      },
    }) as any[];
    assert.equal(r.response.responses[1].response_txn.succeeded, true);
    assert.deepEqual(h.range({ key: b('seen') }).pairs, [['seen', 'before']]);
  }));

test('a txn that fails (a range below the compaction) writes nothing and the next write is sound', () =>
  withStore((h) => {
    h.put('a', '1');
    h.put('a', '2');
    h.apply({ type: 'compact', req: { revision: 3 } });
    const before = h.store.currentRevision();
    const [r] = h.apply({ type: 'txn', req: { success: [{ request_put: { key: b('victim'), value: b('x') } }, { request_range: { key: b('a'), revision: 2 } }] } }) as any[];
    assert.match(r.error.message, /required revision has been compacted/);
    assert.equal(h.store.currentRevision(), before);
    assert.deepEqual(h.range({ key: b('victim') }).pairs, []);
    h.put('other', 'y');
    assert.deepEqual(h.range({ key: Buffer.of(0), range_end: Buffer.of(0) }).pairs, [['a', '2'], ['other', 'y']]);
  }));

test('a key with a long history across generations reads right at every revision, before and after a compaction', () =>
  withStore((h) => {
    // Keys that extend one another must keep separate histories.
    const keys = ['a', 'a\u0000', 'a\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001', 'ab'];
    const expected = new Map<number, Map<string, string | undefined>>(); // revision → key → value then
    const now = new Map<string, string | undefined>();
    for (let i = 0; i < 300; i++) {
      const key = keys[i % keys.length]!;
      if (i % 7 === 6) h.apply({ type: 'deleteRange', req: { key: b(key) } });
      else h.put(key, `${key.length}:${i}`);
      now.set(key, i % 7 === 6 ? undefined : `${key.length}:${i}`);
      expected.set(h.store.currentRevision(), new Map(now));
    }
    const check = (from: number) => {
      for (const [rev, values] of expected) {
        if (rev < from) continue;
        for (const key of keys) {
          const got = h.range({ key: b(key), revision: rev }).pairs[0]?.[1];
          assert.equal(got, values.get(key), `${JSON.stringify(key)} at ${rev}`);
        }
        const all = h.range({ key: b('a'), range_end: b('b'), revision: rev }).pairs.map((p: string[]) => p[1]);
        assert.deepEqual(all, keys.filter((k) => k < 'b').map((k) => values.get(k)).filter((v) => v !== undefined));
      }
    };
    check(0);
    const compactAt = [...expected.keys()][150]!;
    h.apply({ type: 'compact', req: { revision: compactAt } });
    check(compactAt);
    assert.throws(() => h.range({ key: b('a'), revision: compactAt - 1 }), /compacted/);
  }));

test('a compaction removes its revisions in steps: reads at and after it are right in between, a restart resumes it, a newer one starts over', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-'));
  const all = { key: Buffer.of(0), range_end: Buffer.of(0) };
  let store = MvccStore.open(dir);
  try {
    let index = 0;
    const apply = (op: WriteOp) => store.applyBatch([{ index: ++index, term: 1, op }])[0] as any;
    for (let round = 0; round < 3; round++) for (let k = 0; k < 20; k++) apply({ type: 'put', req: { key: b(`k${k}`), value: b(`${round}`) } });
    for (let k = 0; k < 20; k += 4) apply({ type: 'deleteRange', req: { key: b(`k${k}`) } });
    const h = new Harness(dir, store);
    const at = store.currentRevision();
    const latest = h.range(all).pairs;
    // The same environment, opened again in this process, sees the store's committed writes.
    const storedRevisions = () => openDatabases(dir).rev.getKeysCount();
    const before = storedRevisions();
    apply({ type: 'compact', req: { revision: at - 10 } });
    assert.ok(store.compacting());
    assert.throws(() => h.range({ ...all, revision: at - 11 }), /compacted/);
    const atCompaction = h.range({ ...all, revision: at - 10 }).pairs;
    assert.equal(store.compactStep(2), true);
    assert.deepEqual(h.range({ ...all, revision: at - 10 }).pairs, atCompaction);
    assert.deepEqual(h.range(all).pairs, latest);
    // A restart in the middle goes on where the revision was recorded.
    await store.close();
    store = MvccStore.open(dir);
    h.store = store;
    index = store.consistentIndex();
    assert.ok(store.compacting());
    assert.equal(store.compactRevision(), at - 10);
    assert.equal(store.compactStep(2), true);
    // A newer compaction while one runs takes over.
    apply({ type: 'compact', req: { revision: at } });
    let steps = 0;
    while (store.compactStep(2)) steps++;
    assert.ok(steps > 5, `${steps} steps`);
    assert.equal(store.compacting(), false);
    assert.deepEqual(h.range(all).pairs, latest);
    assert.throws(() => h.range({ ...all, revision: at - 1 }), /compacted/);
    // What remains is one revision per live key.
    assert.equal(storedRevisions(), latest.length);
    assert.ok(before > 60, `${before} revisions before`);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a database whose key index holds every revision in the record is upgraded when opened', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-'));
  try {
    const h = new Harness(dir);
    h.put('a', '1');
    h.put('b', '1');
    h.put('a', '2');
    h.apply({ type: 'deleteRange', req: { key: b('b') } });
    h.put('a', '3');
    const before = [2, 3, 4, 5, 6].map((rev) => h.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision: rev }).pairs);
    const hashBefore = h.store.hash();
    await h.store.close();
    // Rewrite the index as the earlier layout stored it: [create, version, lease, [main, sub, tombstone]...].
    const dbs = openDatabases(dir);
    dbs.root.transactionSync(() => {
      const old = new Map<string, number[]>([['a', [2, 3, 0, 2, 0, 0, 4, 0, 0, 6, 0, 0]], ['b', [0, 0, 0, 3, 0, 0, 5, 0, 1]]]);
      for (const [key, [create, version, lease, ...flat]] of old) dbs.index.putSync(b(key), pack([create, version, lease, flat]));
      for (const { key } of [...dbs.history.getRange({})]) dbs.history.removeSync(key as Buffer);
      dbs.meta.removeSync('indexFormat');
    });
    await dbs.root.close();
    h.store = MvccStore.open(dir);
    assert.deepEqual([2, 3, 4, 5, 6].map((rev) => h.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision: rev }).pairs), before);
    // The history holds only superseded revisions (a's 2 and 4, b's 3), as in a store written now.
    assert.deepEqual(h.store.hash(), hashBefore);
    h.index = h.store.consistentIndex();
    assert.equal(h.put('a', '4').revision, 7);
    const a = h.range({ key: b('a') }).kvs[0];
    assert.deepEqual([Number(a.create_revision), Number(a.version)], [2, 4]);
    await h.store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('creating a key writes no history entry; a history that also holds the latest revisions, as an earlier layout kept it, loses them when opened', async () => {
  const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-')));
  const all = { key: Buffer.of(0), range_end: Buffer.of(0) };
  const historyOf = async (dir: string) => {
    const dbs = openDatabases(dir);
    const n = dbs.history.getKeysCount();
    await dbs.root.close();
    return n;
  };
  try {
    const [lean, full] = dirs.map((dir) => new Harness(dir));
    for (const h of [lean!, full!]) {
      for (let k = 0; k < 5; k++) h.put(`k${k}`, 'created');
    }
    assert.equal(await historyOf(dirs[0]!), 0);
    for (const h of [lean!, full!]) {
      for (let i = 0; i < 40; i++) {
        const key = `k${i % 5}`;
        if (i % 6 === 5) h.apply({ type: 'deleteRange', req: { key: b(key) } });
        else h.put(key, `${i}`);
      }
      // Newer keys, so that the compaction below passes every k-key's latest revision.
      for (let z = 0; z < 10; z++) h.put(`z${z}`, 'created');
      await h.store.close();
    }
    // The earlier layout: every key's latest revision in its history too.
    const dbs = openDatabases(dirs[1]!);
    dbs.root.transactionSync(() => {
      for (const { key, value } of [...dbs.index.getRange({})]) {
        const { latest } = decodeIndex(value as Buffer);
        dbs.history.putSync(historyKey(key as Buffer, latest.main, latest.sub), historyFlag(latest.tombstone));
      }
      dbs.meta.putSync('indexFormat', 2);
    });
    await dbs.root.close();
    assert.equal(await historyOf(dirs[1]!), (await historyOf(dirs[0]!)) + 15);
    for (const h of [lean!, full!]) {
      h.store = MvccStore.open(h.store.dir);
      h.index = h.store.consistentIndex();
    }
    assert.equal(await historyOf(dirs[1]!), await historyOf(dirs[0]!));
    assert.deepEqual(full!.store.hash(), lean!.store.hash());
    const at = lean!.store.currentRevision();
    const everyRevision = (h: Harness, from: number) => Array.from({ length: at - from + 1 }, (_, i) => h.range({ ...all, revision: from + i }).pairs);
    assert.deepEqual(everyRevision(full!, 1), everyRevision(lean!, 1));
    for (const h of [lean!, full!]) h.apply({ type: 'compact', req: { revision: at - 8 } });
    assert.deepEqual(everyRevision(full!, at - 8), everyRevision(lean!, at - 8));
    assert.deepEqual(full!.store.hash(), lean!.store.hash());
    for (const h of [lean!, full!]) await h.store.close();
  } finally {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a key's index record stays small however many revisions the key has", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mvcc-test-'));
  try {
    const h = new Harness(dir);
    const recordSize = async () => {
      await h.store.close();
      const dbs = openDatabases(dir);
      const size = (dbs.index.getBinary(b('hot')) as Buffer).length;
      const history = [...dbs.history.getRange({})].length;
      await dbs.root.close();
      h.store = MvccStore.open(dir);
      return { size, history };
    };
    h.put('hot', 'v');
    const first = await recordSize();
    for (let i = 0; i < 2000; i++) h.put('hot', `v${i}`);
    const later = await recordSize();
    assert.equal(later.history, first.history + 2000, 'every superseded revision is in the history');
    // Six numbers, each at most 9 bytes in msgpack: the record never grows past that.
    assert.ok(later.size <= 1 + 6 * 9, `the record grew from ${first.size} to ${later.size} bytes`);
    await h.store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('range, txn and delete bounds longer than LMDB\'s keys select the stored keys in [key, range_end)', () =>
  withStore((h) => {
    const z = (n: number, tail = '') => 'z'.repeat(n) + tail;
    const keys = ['a', 'b', z(1957), z(1958), z(1957, '{')];
    for (const k of keys) h.put(k, 'v');
    const inRange = (from: string, to?: string) => keys.filter((k) => Buffer.compare(b(k), b(from)) >= 0 && (to === undefined || Buffer.compare(b(k), b(to)) < 0)).sort((x, y) => Buffer.compare(b(x), b(y)));
    const bounds: [string, string | undefined][] = [
      ['a', z(2000)], ['a', z(1978)], ['a', z(1979)], [z(1958, 'a'), undefined], [z(1978, 'a'), '\0'], [z(1990), z(2000)], [z(1957, 'z'.repeat(30)), z(1957, '|'.repeat(30))],
    ];
    for (const [from, to] of bounds) {
      const got = h.range({ key: b(from), range_end: to === undefined ? b('\0') : b(to), keys_only: true }).pairs.map(([k]: string[]) => k);
      assert.deepEqual(got, inRange(from, to === '\0' ? undefined : to), `[${from.length}, ${to?.length})`);
    }
    assert.deepEqual(h.range({ key: b(z(2000)) }).pairs, []);
    const [compare] = h.apply({ type: 'txn', req: { compare: [{ key: b(z(2000)), target: 0, result: 0, version: 0 }], success: [{ request_range: { key: b(z(1990)), range_end: b('\0') } }] } }) as any[];
    assert.equal(compare.response.succeeded, true);
    const [deleted] = h.apply({ type: 'deleteRange', req: { key: b(z(1957)), range_end: b(z(3000)) } }) as any[];
    assert.equal(deleted.response.deleted, 2);
    assert.deepEqual(h.range({ key: b('a'), range_end: b('\0'), keys_only: true }).pairs.map(([k]: string[]) => k.length), [1, 1, 1958]);
  }));

test('keys longer than the key limit, as a store written under an earlier limit holds, are read, rewritten, deleted and compacted', () =>
  withStore((h) => {
    // The store takes what the gateway let through; kvd once let keys through up to LMDB's limit.
    const longs = ['k'.repeat(1978), 'k'.repeat(1977) + 'l', 'k'.repeat(1960)];
    for (const k of [...longs, 'a', 'kz']) h.put(k, 'v1');
    const before = h.store.currentRevision();
    for (const k of longs) h.put(k, 'v2');
    h.apply({ type: 'deleteRange', req: { key: b(longs[1]!) } });
    const all = { key: b('a'), range_end: b('\0') };
    const lengths = (r: any) => r.pairs.map(([k, v]: string[]) => `${k.length}:${v}`);
    assert.deepEqual(lengths(h.range(all)), ['1:v1', '1960:v2', '1978:v2', '2:v1']);
    // Only the latest revision of such a key is kept: an older read finds none of its earlier ones.
    assert.deepEqual(lengths(h.range({ ...all, revision: before })), ['1:v1', '2:v1']);
    h.apply({ type: 'compact', req: { revision: h.store.currentRevision() } });
    assert.equal(h.store.compacting(), false);
    assert.deepEqual(lengths(h.range(all)), ['1:v1', '1960:v2', '1978:v2', '2:v1']);
    assert.equal(h.store.keyCount(), 4);
  }));

test('lease IDs are int64 as etcd\'s: negative ones are granted, hold keys and are revoked; unknown ones are not found', () =>
  withStore((h) => {
    for (const ID of [-5, -1, 7]) h.apply({ type: 'leaseGrant', req: { ID, TTL: 10 } });
    h.put('held-by-minus-one', 'v', { lease: -1 });
    h.put('held-by-minus-five', 'v', { lease: -5 });
    h.put('held-by-seven', 'v', { lease: 7 });
    assert.deepEqual(h.store.leases().map((l) => l.id).sort((x, y) => x - y), [-5, -1, 7]);
    const [missing] = h.apply({ type: 'put', req: { key: b('k'), value: b('v'), lease: -3 } }) as any[];
    assert.equal(missing.error.message, 'etcdserver: requested lease not found');
    const [unknown] = h.apply({ type: 'leaseRevoke', req: { ID: -2 } }) as any[];
    assert.equal(unknown.error.message, 'etcdserver: requested lease not found');
    h.apply({ type: 'leaseRevoke', req: { ID: -1 } });
    assert.deepEqual(h.range({ key: b('held'), range_end: b('heldz'), keys_only: true }).pairs.map(([k]: string[]) => k), ['held-by-minus-five', 'held-by-seven']);
    h.apply({ type: 'leaseRevoke', req: { ID: -5 } });
    assert.deepEqual(h.range({ key: b('held'), range_end: b('heldz'), keys_only: true }).pairs.map(([k]: string[]) => k), ['held-by-seven']);
    assert.deepEqual(h.store.leases().map((l) => l.id), [7]);
  }));
