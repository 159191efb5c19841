// The key index, in two databases so that a write costs the same however long a key's history:
//   index   : user key → IndexRecord, the key's current state (a few numbers)
//   history : key length ‖ user key ‖ main ‖ sub → tombstone flag, one entry per revision a
//             newer one superseded (stores written before also hold the latest there)
// The latest revision is answered from the record alone; a read at an older revision seeks the
// key's history, whose entries lie together and in revision order. Creating a key writes no
// history entry: with random keys, each entry is an insert into a random page.
import { pack, unpack } from 'msgpackr';

export interface KeyRevision { main: number; sub: number; tombstone: boolean }

export interface IndexRecord {
  latest: KeyRevision;
  create: number;       // latest generation's create revision (0 after a delete)
  version: number;      // latest version (0 after a delete)
  lease: number;        // latest lease
}

export const encodeIndex = (r: IndexRecord): Buffer =>
  pack([r.create, r.version, r.lease, r.latest.main, r.latest.sub, r.latest.tombstone ? 1 : 0]);

export function decodeIndex(bytes: Uint8Array): IndexRecord {
  const [create, version, lease, main, sub, tombstone] = unpack(bytes) as number[];
  return { create: create!, version: version!, lease: lease!, latest: { main: main!, sub: sub!, tombstone: tombstone === 1 } };
}

const writeU64 = (b: Buffer, value: number, at: number) => {
  b.writeUInt32BE(Math.floor(value / 2 ** 32), at);
  b.writeUInt32BE(value >>> 0, at + 4);
};
const readU64 = (b: Uint8Array, at: number) => {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return v.readUInt32BE(at) * 2 ** 32 + v.readUInt32BE(at + 4);
};

/** Revision keys in the revisions database: main and sub as big-endian u64, so they sort by revision. */
export function revKey(main: number, sub: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  writeU64(b, main, 0);
  writeU64(b, sub, 8);
  return b;
}

/** The main revision of a revision key. */
export const revKeyMain = (key: Uint8Array): number => readU64(key, 0);

/** The longest key LMDB stores (lmdb-js's limit): no key of the index is longer. */
export const LMDB_MAX_KEY_BYTES = 1978;
const HISTORY_KEY_OVERHEAD = 4 + 16;
/** The longest user key: its history entries must fit in LMDB's keys too. */
export const MAX_KEY_BYTES = LMDB_MAX_KEY_BYTES - HISTORY_KEY_OVERHEAD;

/**
 * Whether a key's superseded revisions can have history entries. Not those of a longer key,
 * which a store written when the limit was LMDB's own may hold: only its latest revision is kept.
 */
export const keepsHistory = (key: Uint8Array): boolean => key.length <= MAX_KEY_BYTES;

/**
 * [start, end) as bounds LMDB accepts, over keys no longer than its limit. A key equal to a
 * longer start cut to the limit sorts before that start: `skip` it. A key equal to a longer end
 * cut to the limit sorts before that end: go `through` it (no `end` then).
 */
export interface IndexBounds { start: Buffer; end?: Buffer; skip?: Buffer; through?: Buffer }

export function indexBounds(start: Uint8Array, end: Uint8Array | undefined): IndexBounds {
  const cut = (k: Uint8Array) => Buffer.from(k.subarray(0, LMDB_MAX_KEY_BYTES));
  const b: IndexBounds = start.length > LMDB_MAX_KEY_BYTES ? { start: cut(start), skip: cut(start) } : { start: Buffer.from(start) };
  if (end && end.length > LMDB_MAX_KEY_BYTES) b.through = cut(end);
  else if (end) b.end = Buffer.from(end);
  return b;
}

/** Whether `key`, from a range over `b`'s cut bounds, lies outside [start, end): skip it, or stop. */
export const outsideBounds = (b: IndexBounds, key: Buffer): 'skip' | 'stop' | undefined =>
  b.skip?.equals(key) ? 'skip' : b.through && Buffer.compare(key, b.through) > 0 ? 'stop' : undefined;

/**
 * A history key. The length first makes one key's entries a contiguous run that no other key's
 * can interleave (a key that extends another sorts by its length, not inside the shorter's run).
 */
export function historyKey(key: Uint8Array, main: number, sub: number): Buffer {
  const b = Buffer.allocUnsafe(4 + key.length + 16);
  b.writeUInt32BE(key.length, 0);
  b.set(key, 4);
  writeU64(b, main, 4 + key.length);
  writeU64(b, sub, 12 + key.length);
  return b;
}

/** The revision a history entry stands for. */
export function historyRevision(entryKey: Uint8Array, flag: Uint8Array): KeyRevision {
  const at = entryKey.length - 16;
  return { main: readU64(entryKey, at), sub: readU64(entryKey, at + 8), tombstone: flag[0] === 1 };
}

export const historyFlag = (tombstone: boolean): Buffer => Buffer.of(tombstone ? 1 : 0);
