// The read path, shared by the writer (txn ranges and compares, prev_kv) and the reader pool:
// etcd's Range semantics over a View of the key index and the revisions.
import { compacted, futureRev } from './errors.js';
import type { IndexRecord, KeyRevision } from './key-index.js';
import { decodeKeyValue, encodeKeyValue, withoutValue } from './keyvalue.js';

export interface View {
  index(key: Uint8Array): IndexRecord | undefined;
  /** Index records of keys in [start, end); end undefined: no upper bound. */
  indexRange(start: Uint8Array, end: Uint8Array | undefined): Iterable<{ key: Uint8Array; value: IndexRecord }>;
  /** The stored KeyValue bytes of a revision. */
  revision(r: KeyRevision): Uint8Array | undefined;
  /** The key's newest stored revision older than `main`. */
  revisionBefore(key: Uint8Array, main: number): KeyRevision | undefined;
}

/** The key's revision visible at `rev`, or undefined when it did not exist then. */
export function visibleAt(view: View, key: Uint8Array, record: IndexRecord, rev: number): KeyRevision | undefined {
  const r = record.latest.main <= rev ? record.latest : view.revisionBefore(key, rev + 1);
  return r && !r.tombstone ? r : undefined;
}

type Req = Record<string, any>;

export interface RangeOutcome { kvs: Uint8Array[]; more: boolean; count: number; revision: number }

const len = (b: Uint8Array | undefined) => (b ? b.length : 0);

export interface Found { key: Uint8Array; record: IndexRecord; at: KeyRevision }

/** Every key of [key, range_end) existing at `rev`, in key order. */
export function* keysAt(view: View, key: Uint8Array, rangeEnd: Uint8Array | undefined, rev: number): Generator<Found> {
  if (!len(rangeEnd)) {
    const record = view.index(key);
    const at = record && visibleAt(view, key, record, rev);
    if (record && at) yield { key, record, at };
    return;
  }
  const unbounded = rangeEnd!.length === 1 && rangeEnd![0] === 0;
  for (const { key: k, value: record } of view.indexRange(key, unbounded ? undefined : rangeEnd)) {
    const at = visibleAt(view, k, record, rev);
    if (at) yield { key: k, record, at };
  }
}

/** KeyValue bytes for a found key; keys-only answers from the index when it holds the latest revision. */
function kvBytes(view: View, f: Found, keysOnly: boolean): Uint8Array {
  if (keysOnly && f.at === f.record.latest) {
    return encodeKeyValue({ key: f.key, create_revision: f.record.create, mod_revision: f.at.main, version: f.record.version, lease: f.record.lease });
  }
  const bytes = view.revision(f.at)!;
  return keysOnly ? withoutValue(bytes) : bytes;
}

const SORT_FIELD = ['key', 'version', 'create_revision', 'mod_revision', 'value'] as const;

export function range(view: View, req: Req, currentRev: number, compactRev: number): RangeOutcome {
  const rev = req.revision > 0 ? req.revision : currentRev;
  if (rev > currentRev) throw futureRev();
  if (rev < compactRev) throw compacted();
  const limit = req.limit > 0 ? req.limit : 0;
  const minMod = req.min_mod_revision ?? 0, maxMod = req.max_mod_revision ?? 0;
  const minCreate = req.min_create_revision ?? 0, maxCreate = req.max_create_revision ?? 0;
  const filtered = minMod || maxMod || minCreate || maxCreate;
  let order = req.sort_order ?? 0;
  const target = req.sort_target ?? 0;
  if (target !== 0 && order === 0) order = 1; // etcd sorts ascending when only a target is given
  const sorted = order !== 0 && !(target === 0 && order === 1); // key-ascending is the natural order
  // etcd reads every key only for an explicit sort order or a filter; a target with order NONE
  // sorts just the first limit+1 keys.
  const gatherAll = (req.sort_order ?? 0) !== 0 || filtered;

  let count = 0;
  const found: Found[] = [];
  for (const f of keysAt(view, req.key, req.range_end, rev)) {
    count++;
    if (req.count_only) continue;
    if (gatherAll || !limit || found.length <= limit) found.push(f);
  }
  if (req.count_only) return { kvs: [], more: false, count, revision: currentRev };

  let kvs: Uint8Array[];
  if (!sorted && !filtered) {
    kvs = found.slice(0, limit || found.length).map((f) => kvBytes(view, f, !!req.keys_only));
    return { kvs, more: limit > 0 && count > limit, count, revision: currentRev };
  }
  let full = found.map((f) => ({ f, kv: decodeKeyValue(view.revision(f.at)!) }));
  full = full.filter(({ kv }) =>
    (!minMod || kv.mod_revision >= minMod) && (!maxMod || kv.mod_revision <= maxMod) &&
    (!minCreate || kv.create_revision >= minCreate) && (!maxCreate || kv.create_revision <= maxCreate));
  if (order !== 0) {
    const field = SORT_FIELD[target]!;
    const cmp = (a: any, b: any) => (field === 'key' || field === 'value' ? Buffer.compare(Buffer.from(a ?? []), Buffer.from(b ?? [])) : a - b);
    // A stable sort on the target alone: ties keep key order, as etcd's results show.
    full.sort((x, y) => {
      const c = cmp((x.kv as any)[field], (y.kv as any)[field]);
      return order === 2 ? -c : c;
    });
  }
  const more = limit > 0 && full.length > limit;
  if (more) full = full.slice(0, limit);
  kvs = full.map(({ f }) => kvBytes(view, f, !!req.keys_only));
  return { kvs, more, count, revision: currentRev };
}
