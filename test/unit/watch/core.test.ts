// The pure watch core: watcher creation and its errors, live fan-out, filters, catch-up from
// history, compaction, slow streams, fragments, progress notifications and a replaced store.
// History is an in-memory list of revisions; the core's output is decoded as a client would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WatchCore, WatchErrors, type History, type HistoryView, type RevisionEvents, type WatchLimits } from '../../../src/actors/watch/core.js';
import { headerField } from '../../../src/actors/watch/response.js';
import { encodeKeyValue } from '../../../src/actors/mvcc/keyvalue.js';
import type { WatchEvent } from '../../../src/actors/mvcc/store.js';
import { decodeMessage, messageType } from '../../../src/protocol/codec.js';

const b = (s: string) => Buffer.from(s);
const WatchResponse = messageType('etcdserverpb.WatchResponse');
const NOPUT = 0;
const NODELETE = 1;

type Op = { put: string; value?: string } | { del: string };

/** The store's history in memory: every revision with its events, as the mvcc store would record it. */
class MemHistory implements History {
  revisions: RevisionEvents[] = [];
  currentRev = 1;
  compactRev = 0;
  openViews = 0;
  reads: { from: number; to: number }[] = [];
  private readonly latest = new Map<string, { kv: Buffer; create: number; version: number }>();

  /** One write request making the next revision; deletes of absent keys are dropped as etcd does. */
  write(...ops: Op[]): RevisionEvents {
    const rev = ++this.currentRev;
    const events: WatchEvent[] = [];
    for (const op of ops) {
      if ('put' in op) {
        const prev = this.latest.get(op.put);
        const kv = encodeKeyValue({
          key: b(op.put), create_revision: prev?.create ?? rev, mod_revision: rev,
          version: (prev?.version ?? 0) + 1, value: b(op.value ?? `v${rev}`), lease: 0,
        });
        this.latest.set(op.put, { kv, create: prev?.create ?? rev, version: (prev?.version ?? 0) + 1 });
        events.push({ type: 0, kv, ...(prev ? { prev_kv: prev.kv } : {}) });
      } else {
        const prev = this.latest.get(op.del);
        if (!prev) continue;
        this.latest.delete(op.del);
        const kv = encodeKeyValue({ key: b(op.del), create_revision: 0, mod_revision: rev, version: 0, lease: 0 });
        events.push({ type: 1, kv, prev_kv: prev.kv });
      }
    }
    const r = { rev, events };
    this.revisions.push(r);
    return r;
  }

  compact(rev: number): void {
    this.compactRev = rev;
    this.revisions = this.revisions.filter((r) => r.rev >= rev);
  }

  view(): HistoryView {
    // A consistent snapshot: later writes are not seen by this view.
    const currentRev = this.currentRev;
    const compactRev = this.compactRev;
    const revisions = [...this.revisions];
    this.openViews++;
    let open = true;
    return {
      currentRev,
      compactRev,
      read: (from, to, limits) => {
        assert.ok(open, 'read on a released view');
        this.reads.push({ from, to });
        const out: RevisionEvents[] = [];
        let bytes = 0;
        let through = to;
        for (const r of revisions) {
          if (r.rev < from || r.rev > to || r.rev > currentRev) continue;
          // Stop at a revision boundary once a limit is reached; `through` is the last whole revision.
          if (out.length >= limits.maxRevs || bytes >= limits.maxBytes) {
            through = out.at(-1)!.rev;
            break;
          }
          out.push({
            rev: r.rev,
            events: r.events.map((e) => ({ type: e.type, kv: e.kv, ...(limits.withPrev && e.prev_kv ? { prev_kv: e.prev_kv } : {}) })),
          });
          for (const e of r.events) bytes += e.kv.length + (limits.withPrev ? e.prev_kv?.length ?? 0 : 0);
        }
        return { revisions: out, through };
      },
      done: () => {
        assert.ok(open, 'a view released twice');
        open = false;
        this.openViews--;
      },
    };
  }
}

/** A decoded WatchResponse, events as `put key=value@rev` / `del key@rev` (plus ` prev=value`). */
interface Resp {
  id: number; rev: number; created: boolean; canceled: boolean; fragment: boolean;
  compact: number; reason: string; events: string[]; size: number;
}

function decode(bytes: Buffer): Resp {
  const r = decodeMessage(WatchResponse, bytes) as any;
  const events = (r.events ?? []).map((e: any) => {
    const key = String(e.kv.key);
    const at = `@${Number(e.kv.mod_revision)}`;
    const prev = e.prev_kv ? ` prev=${String(e.prev_kv.value ?? '')}` : '';
    return e.type === 1 ? `del ${key}${at}${prev}` : `put ${key}=${String(e.kv.value ?? '')}${at}${prev}`;
  });
  return {
    id: Number(r.watch_id ?? 0), rev: Number(r.header?.revision ?? 0), created: !!r.created, canceled: !!r.canceled,
    fragment: !!r.fragment, compact: Number(r.compact_revision ?? 0), reason: r.cancel_reason ?? '', events, size: bytes.length,
  };
}

const DEFAULT_LIMITS: WatchLimits = { streamBufferBytes: 1 << 20, maxResponseBytes: 1 << 20, catchUpBytes: 1 << 20 };

class Harness {
  readonly history = new MemHistory();
  readonly watching: boolean[] = [];
  readonly core: WatchCore;
  constructor(limits: Partial<WatchLimits> = {}, onOutput?: () => void) {
    this.core = new WatchCore(
      this.history,
      (rev) => headerField({ cluster_id: 1, member_id: 2, revision: rev, raft_term: 1 }),
      { ...DEFAULT_LIMITS, ...limits },
      (on) => this.watching.push(on),
      onOutput,
    );
  }
  /** Writes a revision to history and hands its events to the core, as the mvcc actor does. */
  write(...ops: Op[]): number {
    const r = this.history.write(...ops);
    this.core.applied([r]);
    return r.rev;
  }
  /** Writes a revision to history only: the live feed has not delivered it yet. */
  commit(...ops: Op[]): RevisionEvents {
    return this.history.write(...ops);
  }
  create(stream: number, req: Record<string, any>): void {
    this.core.create(stream, req);
  }
  /** Everything produced since the last take, decoded, by stream; acknowledged unless `ack` is false. */
  take(ack = true): Map<number, Resp[]> {
    const out = new Map<number, Resp[]>();
    for (const [s, list] of this.core.takeOutput()) {
      out.set(s, list.map(decode));
      if (ack) this.core.acknowledge(s, list.reduce((n, x) => n + x.length, 0));
    }
    return out;
  }
  /** The responses of one stream since the last take (other streams' output is dropped). */
  out(stream: number): Resp[] {
    return this.take().get(stream) ?? [];
  }
  /** Catch-up steps until no watcher is behind, acknowledging everything; the responses of one stream. */
  drain(stream: number): Resp[] {
    const got: Resp[] = [];
    for (let i = 0; this.core.catchingUp; i++) {
      assert.ok(i < 1000, 'catch-up does not finish');
      this.core.catchUp();
      for (const r of this.take().get(stream) ?? []) got.push(r);
    }
    return got;
  }
}

/** Responses in the order they went out, short: [watch id, header revision, events]. */
const seq = (rs: Resp[]) => rs.map((r) => [r.id, r.rev, r.events]);
/**
 * The same grouped by watcher (a stable sort): each watcher's responses keep their order, while
 * the interleaving of different watchers of a stream, which nothing promises, is left out.
 */
const evs = (rs: Resp[]) => seq([...rs].sort((x, y) => x.id - y.id));
const rangeEnd = (prefix: string) => {
  const e = b(prefix);
  e[e.length - 1]!++;
  return e;
};

test('create: single key, prefix and from-key watchers get ids from 0 and a created response at the current revision', () => {
  const h = new Harness();
  h.write({ put: 'x' });
  h.write({ put: 'y' }); // current revision 3
  h.create(1, { key: b('foo') });
  h.create(1, { key: b('foo'), range_end: rangeEnd('foo') });
  h.create(1, { key: b('m'), range_end: Buffer.of(0) });
  h.create(2, { key: b('foo') }); // ids are per stream
  const out = h.take();
  assert.deepEqual(out.get(1)!.map((r) => [r.id, r.created, r.canceled, r.rev, r.events.length]), [[0, true, false, 3, 0], [1, true, false, 3, 0], [2, true, false, 3, 0]]);
  assert.deepEqual(out.get(2)!.map((r) => [r.id, r.created, r.rev]), [[0, true, 3]]);
  assert.equal(h.core.watchers, 4);
  assert.equal(h.core.catchingUp, false, 'new watchers without a start revision are synced');

  h.write({ put: 'foo', value: '1' }); // 4: key, prefix, stream 2
  h.write({ put: 'foo/bar', value: '2' }); // 5: prefix only
  h.write({ put: 'zz', value: '3' }); // 6: from-key only
  h.write({ put: 'fo', value: '4' }); // 7: nobody ('fo' < 'foo', and < 'm')
  h.write({ put: 'a', value: '5' }); // 8: nobody
  let got = h.take();
  assert.deepEqual(evs(got.get(1)!), [
    [0, 4, ['put foo=1@4']],
    [1, 4, ['put foo=1@4']],
    [1, 5, ['put foo/bar=2@5']],
    [2, 6, ['put zz=3@6']],
  ]);
  assert.deepEqual(evs(got.get(2)!), [[0, 4, ['put foo=1@4']]]);

  // Several events of one revision go out in one response per watcher, in the order they were made.
  h.write({ put: 'foo2', value: 'a' }, { put: 'foo', value: 'b' }, { del: 'zz' }, { put: 'n', value: 'c' });
  got = h.take();
  assert.deepEqual(evs(got.get(1)!), [
    [0, 9, ['put foo=b@9']],
    [1, 9, ['put foo2=a@9', 'put foo=b@9']],
    [2, 9, ['del zz@9', 'put n=c@9']],
  ]);
  // Several revisions in one batch: one response per revision.
  const r10 = h.history.write({ put: 'foo', value: 'p' });
  const r11 = h.history.write({ put: 'foo', value: 'q' });
  h.core.applied([r10, r11]);
  assert.deepEqual(evs(h.out(2)), [[0, 10, ['put foo=p@10']], [0, 11, ['put foo=q@11']]]);
});

test('watchers sharing a range each get its events once; cancelling some keeps the others; ranges that only differ in where key and end split are apart', () => {
  const h = new Harness();
  for (const stream of [1, 2]) for (let i = 0; i < 3; i++) h.create(stream, { key: b('p/'), range_end: rangeEnd('p/') });
  h.create(1, { key: b('ab'), range_end: b('c') }); // id 3
  h.create(1, { key: b('a'), range_end: b('bc') }); // id 4
  // Bytes above 0x7f order as bytes: [0xc2, 0xc3) holds U+0080 (UTF-8 c2 80), not U+00FF (c3 bf).
  h.create(2, { key: Buffer.of(0xc2), range_end: Buffer.of(0xc3) }); // id 3
  h.take();
  h.write({ put: 'p/x', value: '1' }); // 2
  h.write({ put: 'aa', value: '2' }); // 3: only [a, bc)
  h.write({ put: 'b', value: '3' }); // 4: both
  h.write({ put: '\u0080', value: '4' }); // 5
  h.write({ put: '\u00ff', value: '5' }); // 6: nobody
  let got = h.take();
  assert.deepEqual(evs(got.get(1)!), [
    [0, 2, ['put p/x=1@2']], [1, 2, ['put p/x=1@2']], [2, 2, ['put p/x=1@2']],
    [3, 4, ['put b=3@4']],
    [4, 3, ['put aa=2@3']], [4, 4, ['put b=3@4']],
  ]);
  assert.deepEqual(evs(got.get(2)!).map(([id, rev]) => [id, rev]), [[0, 2], [1, 2], [2, 2], [3, 5]]);
  h.core.cancel(1, 0);
  h.core.cancel(2, 1);
  h.core.cancel(2, 2);
  h.take();
  h.write({ put: 'p/y', value: '6' }); // 7
  got = h.take();
  assert.deepEqual(evs(got.get(1)!), [[1, 7, ['put p/y=6@7']], [2, 7, ['put p/y=6@7']]]);
  assert.deepEqual(evs(got.get(2)!), [[0, 7, ['put p/y=6@7']]]);
  for (const [stream, id] of [[1, 1], [1, 2], [2, 0]] as const) h.core.cancel(stream, id);
  h.take();
  h.write({ put: 'p/z', value: '7' });
  assert.deepEqual([...h.take().keys()], []);
});

test('an empty key with range_end [0] watches every key; a client-chosen id is kept', () => {
  const h = new Harness();
  h.create(1, { key: Buffer.alloc(0), range_end: Buffer.of(0), watch_id: 7 });
  assert.deepEqual(h.out(1).map((r) => [r.id, r.created]), [[7, true]]);
  h.write({ put: 'a' }, { put: '\x00z' });
  h.write({ put: 'zzz' });
  assert.deepEqual(evs(h.out(1)), [[7, 2, ['put a=v2@2', 'put \x00z=v2@2']], [7, 3, ['put zzz=v3@3']]]);
  // The next automatic id is still 0.
  h.create(1, { key: b('k') });
  assert.equal(h.out(1)[0]!.id, 0);
});

test('filters: NOPUT drops puts, NODELETE drops deletes; prev_kv only for watchers that asked, live and from history', () => {
  const h = new Harness();
  h.write({ put: 'k', value: 'old' }); // 2
  h.create(1, { key: b('k'), filters: [NOPUT] }); // 0
  h.create(1, { key: b('k'), filters: [NODELETE] }); // 1
  h.create(1, { key: b('k'), prev_kv: true }); // 2
  h.create(1, { key: b('k') }); // 3
  h.take();
  h.write({ put: 'k', value: 'new' }); // 3
  h.write({ del: 'k' }); // 4
  assert.deepEqual(evs(h.out(1)), [
    [0, 4, ['del k@4']],
    [1, 3, ['put k=new@3']],
    [2, 3, ['put k=new@3 prev=old']],
    [2, 4, ['del k@4 prev=new']],
    [3, 3, ['put k=new@3']],
    [3, 4, ['del k@4']],
  ]);
  // A filter that drops every event of a revision sends nothing at all for it.
  h.write({ put: 'k', value: 'again' }); // 5
  assert.deepEqual(evs(h.out(1)).map(([id]) => id), [1, 2, 3]);

  // From history: one read serves watchers with and without prev_kv.
  h.create(2, { key: b('k'), start_revision: 3, prev_kv: true, filters: [NODELETE] });
  h.create(2, { key: b('k'), start_revision: 3 });
  h.take();
  assert.deepEqual(evs(h.drain(2)), [
    [0, 5, ['put k=new@3 prev=old', 'put k=again@5']],
    [1, 5, ['put k=new@3', 'del k@4', 'put k=again@5']],
  ]);
});

test('a start revision in the past: history first at the current revision, then live events with no gap and no duplicate', () => {
  const h = new Harness();
  h.write({ put: 'a', value: '1' }); // 2
  h.write({ put: 'b', value: '1' }); // 3
  h.write({ put: 'a', value: '2' }, { put: 'a/x', value: '2' }); // 4
  h.write({ put: 'c', value: '1' }); // 5
  h.write({ put: 'a', value: '3' }); // 6
  h.create(1, { key: b('a'), range_end: rangeEnd('a'), start_revision: 3 });
  assert.deepEqual(h.out(1).map((r) => [r.id, r.created, r.rev, r.events.length]), [[0, true, 6, 0]]);
  assert.equal(h.core.catchingUp, true);
  // Live events do not reach a watcher still behind: history will cover them.
  h.write({ put: 'a', value: '4' }); // 7
  assert.deepEqual(h.out(1), []);
  h.core.catchUp();
  assert.deepEqual(evs(h.out(1)), [[0, 7, ['put a=2@4', 'put a/x=2@4', 'put a=3@6', 'put a=4@7']]]);
  assert.equal(h.core.catchingUp, false);
  assert.equal(h.history.openViews, 0, 'every view is released');
  h.write({ put: 'a', value: '5' }); // 8
  h.write({ put: 'b', value: '5' }); // 9
  h.write({ put: 'a', value: '6' }); // 10
  assert.deepEqual(evs(h.out(1)), [[0, 8, ['put a=5@8']], [0, 10, ['put a=6@10']]]);
});

test('revisions in history before the live feed delivers them are sent once', () => {
  const h = new Harness();
  h.write({ put: 'a', value: '1' }); // 2
  h.write({ put: 'a', value: '2' }); // 3
  // 4 and 5 are committed; the live feed has not delivered them yet.
  const r4 = h.commit({ put: 'a', value: '3' });
  const r5 = h.commit({ put: 'a', value: '4' });
  h.create(1, { key: b('a'), start_revision: 3 }); // 0: catches up from history
  h.create(1, { key: b('a') }); // 1: starts after the current revision, 5
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[0, 5], [1, 5]]);
  h.core.catchUp();
  assert.deepEqual(evs(h.out(1)), [[0, 5, ['put a=2@3', 'put a=3@4', 'put a=4@5']]]);
  // The live feed catches up: nothing the watchers have (or started after) is sent again.
  h.core.applied([r4, r5]);
  assert.deepEqual(h.out(1), []);
  h.write({ put: 'a', value: '5' }); // 6
  assert.deepEqual(evs(h.out(1)), [[0, 6, ['put a=5@6']], [1, 6, ['put a=5@6']]]);
});

test('a start revision in the future waits for it; catch-up in bounded steps keeps order, no gap, no duplicate', () => {
  const h = new Harness({ catchUpBytes: 60 });
  h.create(1, { key: b('k'), start_revision: 4 });
  assert.equal(h.core.catchingUp, false);
  h.take();
  h.write({ put: 'k' }); // 2
  h.write({ put: 'k' }); // 3
  h.write({ put: 'k' }); // 4
  assert.deepEqual(evs(h.out(1)), [[0, 4, ['put k=v4@4']]]);

  const want: string[] = [];
  for (let i = 0; i < 30; i++) {
    const rev = h.write({ put: `p${i % 3}`, value: String(i) }); // 5..34
    want.push(`put p${i % 3}=${i}@${rev}`);
  }
  h.create(2, { key: b('p'), range_end: rangeEnd('p'), start_revision: 2 });
  h.take();
  const got: Resp[] = [];
  for (let i = 0; h.core.catchingUp; i++) {
    assert.ok(i < 100, 'catch-up does not finish');
    h.core.catchUp();
    for (const r of h.out(2)) {
      // Each step's response carries the history's current revision.
      assert.equal(r.rev, h.history.currentRev);
      got.push(r);
    }
    if (i === 1) {
      // New revisions arrive mid catch-up: the watcher is behind, history will cover them.
      for (let j = 30; j < 33; j++) {
        const rev = h.write({ put: `p${j % 3}`, value: String(j) });
        want.push(`put p${j % 3}=${j}@${rev}`);
      }
      assert.deepEqual(h.out(2), []);
    }
  }
  assert.ok(got.length > 2, `several bounded steps (${got.length})`);
  assert.deepEqual(got.flatMap((r) => r.events), want, 'every event once, in revision order');
  h.write({ put: 'p9', value: 'live' });
  assert.deepEqual(h.out(2).flatMap((r) => r.events), [`put p9=live@${h.history.currentRev}`]);
});

test('a start revision below the compact revision cancels the watcher with compact_revision', () => {
  const h = new Harness();
  for (let i = 0; i < 6; i++) h.write({ put: 'k' }); // 2..7
  h.history.compact(5);
  h.create(1, { key: b('k'), start_revision: 3 }); // 0
  h.create(1, { key: b('k'), start_revision: 5 }); // 1: the compact revision itself is still readable
  assert.deepEqual(h.out(1).map((r) => [r.id, r.created]), [[0, true], [1, true]]);
  assert.equal(h.core.watchers, 2);
  h.core.catchUp();
  const [cancel, ...rest] = h.out(1);
  assert.deepEqual([cancel!.id, cancel!.canceled, cancel!.compact, cancel!.rev, cancel!.events], [0, true, 5, 0, []]);
  assert.deepEqual(evs(rest), [[1, 7, ['put k=v5@5', 'put k=v6@6', 'put k=v7@7']]]);
  assert.equal(h.core.watchers, 1);
  h.write({ put: 'k' }); // 8
  assert.deepEqual(evs(h.out(1)), [[1, 8, ['put k=v8@8']]]);
  h.core.cancel(1, 0);
  assert.deepEqual(h.out(1), [], 'the compacted watcher is gone');
});

test('errors: an empty range and a duplicate id are refused; cancelling an unknown id answers nothing', () => {
  const h = new Harness();
  h.write({ put: 'x' }); // 2
  h.create(1, { key: b('b'), range_end: b('a') });
  h.create(1, { key: b('b'), range_end: b('b') });
  let out = h.out(1);
  assert.deepEqual(out.map((r) => [r.id, r.created, r.canceled, r.reason, r.rev]), [
    [-1, true, true, WatchErrors.emptyRange, 2],
    [-1, true, true, WatchErrors.emptyRange, 2],
  ]);
  assert.equal(WatchErrors.emptyRange, 'mvcc: watcher range is empty');
  assert.equal(h.core.watchers, 0);

  h.create(1, { key: b('a'), watch_id: 5 });
  h.create(1, { key: b('b'), watch_id: 5 });
  out = h.out(1);
  assert.deepEqual(out.map((r) => [r.id, r.created, r.canceled, r.reason]), [
    [5, true, false, ''],
    [-1, true, true, 'mvcc: duplicate watch ID provided on the WatchStream'],
  ]);
  assert.equal(h.core.watchers, 1);
  // The refused request left the first watcher as it was.
  h.write({ put: 'a' }, { put: 'b' }); // 3
  assert.deepEqual(evs(h.out(1)), [[5, 3, ['put a=v3@3']]]);

  h.core.cancel(1, 6);
  h.core.cancel(9, 5); // another stream
  assert.equal(h.core.takeOutput().size, 0);

  h.core.cancel(1, 5);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.canceled, r.created, r.events.length]), [[5, true, false, 0]]);
  assert.equal(h.core.watchers, 0);
  h.write({ put: 'a' });
  assert.equal(h.core.takeOutput().size, 0, 'no events after cancel');
  h.core.cancel(1, 5);
  assert.equal(h.core.takeOutput().size, 0, 'a second cancel answers nothing');
});

test('a slow stream stops receiving live events past its buffer and later gets every missed event once, in order', () => {
  const h = new Harness({ streamBufferBytes: 300, catchUpBytes: 200 });
  h.create(1, { key: b('k'), range_end: rangeEnd('k') }); // slow: never acknowledges until later
  h.create(2, { key: b('k'), range_end: rangeEnd('k') });
  h.take();
  const slow: Resp[] = [];
  let slowBytes = 0;
  const fast: Resp[] = [];
  const want: string[] = [];
  for (let i = 0; i < 40; i++) {
    const rev = h.write({ put: `k${i % 4}`, value: `value-${i}` });
    want.push(`put k${i % 4}=value-${i}@${rev}`);
    const out = h.take(false);
    for (const r of out.get(1) ?? []) {
      slow.push(r);
      slowBytes += r.size;
    }
    const f = out.get(2) ?? [];
    fast.push(...f);
    h.core.acknowledge(2, f.reduce((n, r) => n + r.size, 0));
    // Catch-up steps do nothing for a blocked stream.
    h.core.catchUp();
    assert.equal(h.core.takeOutput().size, 0);
  }
  assert.deepEqual(fast.flatMap((r) => r.events), want, 'the other stream keeps receiving');
  assert.ok(slow.length < want.length / 2, `the slow stream stopped (${slow.length} responses)`);
  assert.ok(slowBytes <= 300 + Math.max(...slow.map((r) => r.size)), 'output stays bounded by the buffer and one response');
  assert.equal(h.core.catchingUp, false, 'nothing can run while the stream is blocked');

  // The client reads: acknowledged bytes let the watcher catch up from history, in bounded steps.
  let bytes = slowBytes;
  for (let i = 0; i < 200; i++) {
    h.core.acknowledge(1, bytes);
    bytes = 0;
    if (i === 3) {
      const rev = h.write({ put: 'k9', value: 'mid' });
      want.push(`put k9=mid@${rev}`);
    }
    if (!h.core.catchingUp && i > 3) break;
    h.core.catchUp();
    const out = h.take(false);
    for (const r of out.get(1) ?? []) {
      slow.push(r);
      bytes += r.size;
    }
    if (out.has(2)) h.core.acknowledge(2, out.get(2)!.reduce((n, r) => n + r.size, 0));
  }
  assert.equal(h.core.catchingUp, false);
  const events = slow.flatMap((r) => r.events);
  assert.deepEqual(events, want, 'every event exactly once, in revision order');
  // And it is live again.
  const rev = h.write({ put: 'k1', value: 'after' });
  assert.deepEqual(h.take().get(1)!.flatMap((r) => r.events), [`put k1=after@${rev}`]);
});

test('fragments: a watcher that asked splits large responses, flagged but the last; otherwise one response', () => {
  const h = new Harness({ maxResponseBytes: 200 });
  h.create(1, { key: b('f'), range_end: rangeEnd('f'), fragment: true });
  h.create(1, { key: b('f'), range_end: rangeEnd('f') });
  h.take();
  const ops = Array.from({ length: 8 }, (_, i) => ({ put: `f${i}`, value: 'x'.repeat(40) }));
  h.write(...ops);
  const out = h.out(1);
  const fragmented = out.filter((r) => r.id === 0);
  const whole = out.filter((r) => r.id === 1);
  assert.ok(fragmented.length > 1, `several fragments (${fragmented.length})`);
  assert.deepEqual(fragmented.map((r) => r.fragment), [...fragmented.slice(1).map(() => true), false]);
  for (const r of fragmented) {
    assert.ok(r.events.length >= 1);
    assert.equal(r.rev, 2);
    assert.ok(r.size < 200 || r.events.length === 1, 'each fragment stays below the limit');
  }
  const all = ops.map((o) => `put ${o.put}=${o.value}@2`);
  assert.deepEqual(fragmented.flatMap((r) => r.events), all);
  assert.equal(whole.length, 1);
  assert.equal(whole[0]!.fragment, false);
  assert.deepEqual(whole[0]!.events, all);
  // A small response is not split.
  h.write({ put: 'f0', value: 'y' });
  assert.deepEqual(h.out(1).map((r) => [r.id, r.fragment, r.events.length]), [[0, false, 1], [1, false, 1]]);
});

test('progress_notify: an empty response at the tick when no events went out since the last one', () => {
  const h = new Harness();
  h.write({ put: 'a' }); // 2
  h.create(1, { key: b('a'), progress_notify: true }); // 0
  h.create(1, { key: b('b') }); // 1: did not ask
  h.create(1, { key: b('c'), start_revision: 2, progress_notify: true }); // 2: behind
  h.take();
  h.core.progressTick();
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev, r.events.length, r.created, r.canceled]), [[0, 2, 0, false, false]], 'only synced watchers that asked');
  h.drain(1);
  h.write({ put: 'a' }); // 3: watcher 0 gets an event
  h.take();
  h.core.progressTick();
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[2, 3]], 'nothing for a watcher that got events since the last tick');
  h.core.progressTick();
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[0, 3], [2, 3]]);
  h.write({ put: 'z' }); // 4: nobody's event; the progress revision still moves on
  h.core.progressTick();
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[0, 4], [2, 4]]);
});

test('requestProgress: watch_id -1 at the current revision, deferred until the stream has caught up', () => {
  const h = new Harness({ catchUpBytes: 1 });
  h.core.requestProgress(3); // a stream without watchers
  assert.deepEqual(h.out(3).map((r) => [r.id, r.rev, r.created, r.events.length]), [[-1, 1, false, 0]]);
  for (let i = 0; i < 4; i++) h.write({ put: 'k' }); // 2..5
  h.create(1, { key: b('k') });
  h.take();
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[-1, 5]]);

  h.create(1, { key: b('k'), start_revision: 2 }); // 1: catches up one revision per step
  h.take();
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1), [], 'deferred while a watcher is behind');
  h.core.catchUp();
  assert.deepEqual(evs(h.out(1)), [[1, 5, ['put k=v2@2']]]);
  h.write({ put: 'k' }); // 6: only the synced watcher gets it live
  const all = [...seq(h.out(1)), ...seq(h.drain(1))];
  // The progress response comes once, after the last catch-up events, at a revision both reached.
  assert.deepEqual(all.slice(0, 1), [[0, 6, ['put k=v6@6']]]);
  assert.deepEqual(all.filter(([id]) => id === -1), [[-1, 6, []]]);
  assert.deepEqual(all.at(-1), [-1, 6, []], 'after the catch-up events');
  assert.deepEqual(all.filter(([id]) => id === 1).flatMap(([, , e]) => e as string[]), ['put k=v3@3', 'put k=v4@4', 'put k=v5@5', 'put k=v6@6']);
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[-1, 6]]);
});

test('progress for a watcher waiting for a future start revision is the current revision, not one not yet made', () => {
  const h = new Harness();
  for (let i = 0; i < 3; i++) h.write({ put: 'k' }); // 2..4
  h.create(1, { key: b('k'), start_revision: 20, progress_notify: true });
  h.take();
  h.core.progressTick();
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[0, 4], [-1, 4]]);
  h.write({ put: 'k' }); // 5: before the start revision, not sent
  h.core.progressTick();
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev, r.events.length]), [[0, 5, 0]]);
});

test('a deferred progress request is answered when the watcher behind is cancelled or compacted away', () => {
  const h = new Harness();
  for (let i = 0; i < 4; i++) h.write({ put: 'k' }); // 2..5
  h.create(1, { key: b('k') }); // 0: synced
  h.create(1, { key: b('k'), start_revision: 2 }); // 1: behind
  h.take();
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1), []);
  h.core.cancel(1, 1);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.canceled, r.rev]), [[1, true, 5], [-1, false, 5]]);
  assert.equal(h.core.catchingUp, false);

  h.create(2, { key: b('k') }); // 0: synced
  h.create(2, { key: b('k'), start_revision: 2 }); // 1: behind, its start about to be compacted
  h.history.compact(4);
  h.take();
  h.core.requestProgress(2);
  assert.deepEqual(h.out(2), []);
  h.core.catchUp();
  assert.deepEqual(h.out(2).map((r) => [r.id, r.canceled, r.compact, r.rev]), [[1, true, 4, 0], [-1, false, 0, 5]]);
  // Answered once: a later catch-up or join sends no second one.
  h.create(2, { key: b('k'), start_revision: 4 });
  h.take();
  assert.deepEqual(h.drain(2).map((r) => r.id), [2]);
});

test('onWatching: true at the first watcher, false when the last goes, by cancel or stream close', () => {
  const h = new Harness();
  h.create(1, { key: b('a') });
  assert.deepEqual(h.watching, [true]);
  h.create(1, { key: b('b') });
  h.create(2, { key: b('c') });
  assert.deepEqual(h.watching, [true]);
  h.core.cancel(1, 0);
  h.core.closeStream(2);
  assert.deepEqual(h.watching, [true]);
  assert.equal(h.core.watchers, 1);
  h.core.cancel(1, 1);
  assert.deepEqual(h.watching, [true, false]);
  assert.equal(h.core.watchers, 0);

  h.create(3, { key: b('a') });
  h.create(3, { key: b('a'), start_revision: 1 }); // one of them behind
  assert.deepEqual(h.watching, [true, false, true]);
  h.core.closeStream(3);
  assert.deepEqual(h.watching, [true, false, true, false]);
  assert.equal(h.core.watchers, 0);
  assert.equal(h.core.catchingUp, false, 'a closed stream leaves no watcher behind');
  h.take();
  h.write({ put: 'a' });
  assert.equal(h.core.takeOutput().size, 0, 'a closed stream gets nothing');

  // A refused first watcher: told on and off again.
  h.create(4, { key: b('b'), range_end: b('a') });
  assert.deepEqual(h.watching.slice(4), [true, false]);
});

test('a revision for many streams goes out in parts taken between streams: each stream whole in one part, every watcher once', () => {
  const parts: Map<number, Resp[]>[] = [];
  const h: Harness = new Harness({}, () => parts.push(h.take()));
  const STREAMS = 200;
  const PER_STREAM = 3;
  for (let w = 0; w < STREAMS * PER_STREAM; w++) h.create(w % STREAMS, { key: b('k') }); // interleaved, as clients create them
  h.take();
  parts.length = 0;
  h.write({ put: 'k', value: 'v'.repeat(100) });
  parts.push(h.take());
  assert.ok(parts.length >= 3, `the fan-out went out in ${parts.length} part(s)`);
  const seen = new Map<number, number>();
  for (const part of parts) {
    for (const [s, rs] of part) {
      assert.equal(seen.has(s), false, `stream ${s} split over parts`);
      seen.set(s, rs.length);
      assert.deepEqual(rs.map((r) => r.id).sort((x, y) => x - y), [0, 1, 2]);
      for (const r of rs) assert.deepEqual(r.events, [`put k=${'v'.repeat(100)}@2`]);
    }
  }
  assert.equal(seen.size, STREAMS);
});

test("a fan-out's first stream goes out alone, and only for a batch's first revision", () => {
  const parts: Map<number, Resp[]>[] = [];
  const h: Harness = new Harness({}, () => parts.push(h.take()));
  for (let s = 1; s <= 3; s++) h.create(s, { key: b('k') });
  h.take();
  parts.length = 0;
  h.write({ put: 'k', value: '1' });
  assert.deepEqual(parts.map((part) => [...part.keys()]), [[1]]);
  assert.deepEqual([...h.take().keys()], [2, 3]);
  // Two revisions in one batch: the second's streams wait with the rest of the batch.
  parts.length = 0;
  const revisions = [h.commit({ put: 'k', value: '2' }), h.commit({ put: 'k', value: '3' })];
  h.core.applied(revisions);
  assert.deepEqual(parts.map((part) => [...part.keys()]), [[1]]);
  const rest = h.take();
  assert.deepEqual([...rest.keys()], [2, 3, 1]);
  assert.deepEqual(rest.get(1)!.map((r) => r.events), [['put k=3@4']]);
  // A single stream needs no part of its own: all its output goes out with the batch.
  const single = new Harness({}, () => assert.fail('no part for a single stream'));
  single.create(1, { key: b('k') });
  single.take();
  single.write({ put: 'k', value: '1' });
  assert.deepEqual(single.out(1).map((r) => r.events), [['put k=1@2']]);
});

test('missedRevisions: a first watcher that read the revision from before a batch applied without events gets that batch from history', () => {
  const h = new Harness();
  h.commit({ put: 'a', value: '1' }); // 2: applied while nobody watched
  h.create(1, { key: b('a'), range_end: rangeEnd('a') }); // 0: joins at 2
  h.take();
  // The batch that was applying as the watcher came: committed, its events never gathered.
  h.commit({ put: 'a/x', value: '3' }, { put: 'b', value: '3' }); // 3
  h.create(1, { key: b('a/x') }); // 1: joins at 3, needs nothing from before
  h.take();
  h.core.missedRevisions();
  assert.deepEqual(evs(h.drain(1)), [[0, 3, ['put a/x=3@3']]]);
  h.write({ put: 'a/x', value: '4' }); // 4
  assert.deepEqual(evs(h.out(1)), [[0, 4, ['put a/x=4@4']], [1, 4, ['put a/x=4@4']]]);
});

test('missedRevisions: synced watchers re-read history from the first revision they were not sent', () => {
  const h = new Harness();
  h.write({ put: 'a', value: '1' }); // 2
  h.create(1, { key: b('a') }); // 0
  h.create(1, { key: b('b') }); // 1: saw nothing yet
  h.create(1, { key: b('a'), start_revision: 20 }); // 2: waits for a future revision
  h.take();
  h.write({ put: 'a', value: '2' }); // 3
  h.write({ put: 'c', value: '2' }); // 4
  assert.deepEqual(evs(h.out(1)), [[0, 3, ['put a=2@3']]]);

  // A snapshot brings revisions 5..7 the live feed never delivers.
  h.commit({ put: 'a', value: '3' }); // 5
  h.commit({ put: 'b', value: '3' }, { put: 'a', value: '4' }); // 6
  h.commit({ put: 'c', value: '3' }); // 7
  h.core.missedRevisions();
  assert.equal(h.core.catchingUp, true);
  const reads = h.history.reads.length;
  assert.deepEqual(evs(h.drain(1)), [
    [0, 7, ['put a=3@5', 'put a=4@6']],
    [1, 7, ['put b=3@6']],
  ]);
  assert.deepEqual(h.history.reads.slice(reads, reads + 1), [{ from: 5, to: 7 }], 'from the first revision not sent');
  h.write({ put: 'a', value: '5' }); // 8
  assert.deepEqual(evs(h.out(1)), [[0, 8, ['put a=5@8']]]);
  for (let i = 9; i < 20; i++) h.write({ put: 'x' });
  h.write({ put: 'a', value: '20' }); // 20
  assert.deepEqual(evs(h.out(1)).map(([id, rev]) => [id, rev]), [[0, 20], [2, 20]]);
});

test('a stream of 300,000 watchers gets its progress, and catches them up, without overflowing the stack', () => {
  const h = new Harness({ streamBufferBytes: 1 << 30 });
  for (let i = 0; i < 4; i++) h.write({ put: 'k' }); // 2..5
  const count = 300_000;
  for (let i = 0; i < count; i++) h.create(1, { key: b('k'), start_revision: i % 2 ? 0 : 5 });
  h.take();
  h.drain(1);
  h.core.requestProgress(1);
  assert.deepEqual(h.out(1).map((r) => [r.id, r.rev]), [[-1, 5]]);
});
