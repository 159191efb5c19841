// The mvcc store on LMDB, owned by the mvcc actor (the only writer). Databases in one env:
//   rev     : main ‖ sub (u64 BE each) → flag (1 = tombstone) ‖ mvccpb.KeyValue bytes
//   index   : user key → IndexRecord, the key's current state (key-index.ts)
//   history : each key's superseded revisions (key-index.ts)
//   meta    : consistentIndex (and its term), revision, compactRevision, membership, alarms, auth,
//             scheduledCompact / finishedCompact (the physical compaction's progress)
// A batch of committed entries is applied in one write transaction that also stores the
// consistent index; LMDB runs without fsync because the WAL replays anything past it.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { open, type Database, type RootDatabase } from 'lmdb';
import { MvccError, keyNotFound, compacted, futureRev, leaseNotFound, leaseExists, noSpace, corrupt } from './errors.js';
import { decodeIndex, encodeIndex, historyFlag, historyKey, historyRevision, indexBounds, keepsHistory, LMDB_MAX_KEY_BYTES, outsideBounds, revKey, type IndexRecord, type KeyRevision } from './key-index.js';
import { upgradeKeyIndex } from './key-index-upgrade.js';
import { encodeKeyValue, decodeKeyValue } from './keyvalue.js';
import { keysAt, range, type Found, type View } from './range.js';
import { applyMemberChange, type MemberRecord, type Membership } from './members.js';
import type { ConfChange } from '../raft/confchange.js';
import { LeaseTable, type LeaseChange, type LeaseRecord } from './leases.js';
import { applyAuth, type AuthCall } from './auth.js';
import { checkDeleteRange, checkPut, checkTxn, checkWrite, emptyAuthState, packAuth, unpackAuth, type AuthInfo, type AuthState } from './permissions.js';
import { EtcdError } from '../../protocol/errors.js';

type Req = Record<string, any>;

export type WriteOp =
  | { type: 'put'; req: Req }
  | { type: 'deleteRange'; req: Req }
  | { type: 'txn'; req: Req }
  | { type: 'compact'; req: Req }
  | { type: 'member'; change: ConfChange }
  | { type: 'leaseGrant'; req: Req }
  | { type: 'leaseRevoke'; req: Req }
  | { type: 'leaseCheckpoint'; req: Req }
  | { type: 'alarm'; req: Req }
  | { type: 'auth'; call: AuthCall }
  | { type: 'noop' };

/** A committed entry to apply; `auth` is who sent a client's request (internal ones have none). */
export interface ApplyItem { index: number; term: number; op: WriteOp; auth?: AuthInfo }

/** An active alarm: which member raised it and what it is (etcdserverpb.AlarmType: 1 NOSPACE, 2 CORRUPT). */
export interface AlarmMember { memberID: number; alarm: number }
export const NOSPACE = 1;
export const CORRUPT = 2;

/** A change for watchers: the new KeyValue (a tombstone for a delete) and the one it replaced. */
export interface WatchEvent { type: 0 | 1; kv: Uint8Array; prev_kv?: Uint8Array }
export type ApplyResult = { revision: number; response: any; events: WatchEvent[] } | { error: MvccError };

export const DB_FILE = 'data.mdb';

export interface Databases {
  root: RootDatabase;
  rev: Database<Buffer, Buffer>;
  index: Database<Buffer, Buffer>;
  history: Database<Buffer, Buffer>;
  meta: Database<any, string>;
  leases: LeaseTable;
  /** Every named database, for the pages they use. */
  named: { getStats(): unknown }[];
}

export function openDatabases(dir: string, file = DB_FILE): Databases {
  // The live database is written through a writable map: a commit copies no dirty pages, which
  // halves a put's cost once random keys spread writes over many pages. Not copies: such a
  // file grows to the whole map's size, and a snapshot would send it.
  const useWritemap = file === DB_FILE;
  const root = open({ path: path.join(dir, file), noSync: true, noMetaSync: true, compression: false, maxDbs: 8, useWritemap });
  const named: { getStats(): unknown }[] = [];
  const db = <T extends { getStats(): unknown }>(opened: T) => (named.push(opened), opened);
  return {
    root,
    rev: db(root.openDB({ name: 'rev', encoding: 'binary', keyEncoding: 'binary' }) as unknown as Database<Buffer, Buffer>),
    index: db(root.openDB({ name: 'index', encoding: 'binary', keyEncoding: 'binary' }) as unknown as Database<Buffer, Buffer>),
    history: db(root.openDB({ name: 'history', encoding: 'binary', keyEncoding: 'binary' }) as unknown as Database<Buffer, Buffer>),
    meta: db(root.openDB({ name: 'meta', encoding: 'msgpack' }) as unknown as Database<any, string>),
    leases: new LeaseTable(
      db(root.openDB({ name: 'lease', encoding: 'msgpack', keyEncoding: 'binary' }) as unknown as Database<any, Buffer>),
      db(root.openDB({ name: 'leaseKeys', encoding: 'binary', keyEncoding: 'binary' }) as unknown as Database<Buffer, Buffer>),
    ),
    named,
  };
}

/** A View over the databases, optionally pinned to one read transaction. */
export function viewOf(dbs: Databases, transaction?: unknown): View {
  const opts = transaction ? { transaction } : undefined;
  return {
    index: (key) => {
      if (key.length > LMDB_MAX_KEY_BYTES) return undefined; // LMDB holds no such key, and takes none
      const b = (dbs.index as any).getBinary(Buffer.from(key), opts) as Buffer | undefined;
      return b ? decodeIndex(b) : undefined;
    },
    *indexRange(start, end) {
      const b = indexBounds(start, end);
      for (const { key, value } of dbs.index.getRange({ start: b.start, end: b.end, ...(opts ?? {}) } as never)) {
        const outside = outsideBounds(b, key as Buffer);
        if (outside === 'stop') return;
        if (!outside) yield { key: key as Buffer, value: decodeIndex(value as Buffer) };
      }
    },
    revision: (r) => {
      const b = (dbs.rev as any).getBinary(revKey(r.main, r.sub), opts) as Buffer | undefined;
      return b ? b.subarray(1) : undefined;
    },
    revisionBefore: (key, main) => {
      if (!keepsHistory(key)) return undefined;
      // Newest first from (main, 0), which is inclusive and so skipped when present.
      for (const { key: k, value } of dbs.history.getRange({ start: historyKey(key, main, 0), end: historyKey(key, 0, 0), reverse: true, limit: 2, ...(opts ?? {}) } as never)) {
        const r = historyRevision(k as Buffer, value as Buffer);
        if (r.main < main) return r;
      }
      return undefined;
    },
  };
}

/** Every stored revision of `key` up to and including main `upTo`, oldest first; `latest` is the index record's. */
function revisionsUpTo(dbs: Databases, key: Uint8Array, latest: KeyRevision, upTo: number): KeyRevision[] {
  const out: KeyRevision[] = [];
  if (keepsHistory(key)) for (const { key: k, value } of dbs.history.getRange({ start: historyKey(key, 0, 0), end: historyKey(key, upTo + 1, 0) })) {
    out.push(historyRevision(k as Buffer, value as Buffer));
  }
  if (latest.main <= upTo) out.push(latest);
  return out;
}


interface TxnPath { succeeded: boolean; nested: (TxnPath | undefined)[] }

/** One write request's revision in progress: main is taken once, subs per change. */
class RevisionWriter {
  sub = 0;
  events: WatchEvent[] = [];
  /**
   * `withEvents` false: nobody watches, so no events are kept and no previous value is read for
   * them. `busy` is called at every key of a long write (see applyBatch).
   */
  constructor(readonly main: number, readonly withEvents: boolean, readonly busy: () => void) {}
  get changed() { return this.sub > 0; }
}

export class MvccStore {
  private readonly view: View;
  private readonly pageSize: number;
  private rev: number;
  private compactRev: number;
  private ci: number;
  private ciTerm: number;
  private membership: Membership;
  private leaseChanges: LeaseChange[] = [];
  private alarmList: AlarmMember[];
  private authState: AuthState;
  /** Live keys (not deleted), kept up to date by every write. */
  private keys: number;
  /**
   * A compaction whose revisions are not all removed yet: the revision, and the last key done.
   * As etcd's, it is applied at once (reads below it are refused) and removes the old revisions
   * a batch of keys at a time, so that no single transaction holds the thread for long.
   */
  private pendingCompaction: { rev: number; after?: Buffer } | undefined;
  private finishedCompactRev: number;

  private constructor(readonly dir: string, private readonly dbs: Databases) {
    upgradeKeyIndex(dbs);
    this.view = viewOf(dbs);
    this.pageSize = (dbs.root.getStats() as { pageSize: number }).pageSize;
    this.rev = dbs.meta.get('revision') ?? 1; // as etcd: an empty store is at revision 1
    this.compactRev = dbs.meta.get('compactRevision') ?? 0;
    this.ci = dbs.meta.get('consistentIndex') ?? 0;
    this.ciTerm = dbs.meta.get('consistentTerm') ?? 0;
    this.membership = dbs.meta.get('membership') ?? { members: [], removed: [] };
    this.alarmList = dbs.meta.get('alarms') ?? [];
    const storedAuth = dbs.meta.get('auth');
    this.authState = storedAuth ? unpackAuth(storedAuth) : emptyAuthState();
    this.keys = dbs.meta.get('keys') ?? this.countKeys();
    const scheduled = dbs.meta.get('scheduledCompact') ?? 0;
    // A database from before finishedCompact was kept set compactRevision only once a compaction was done.
    const finished = dbs.meta.get('finishedCompact') ?? this.compactRev;
    this.finishedCompactRev = finished;
    if (scheduled > finished) {
      this.compactRev = Math.max(this.compactRev, scheduled);
      this.pendingCompaction = { rev: scheduled };
    }
  }

  static open(dir: string, file = DB_FILE): MvccStore {
    fs.mkdirSync(dir, { recursive: true });
    return new MvccStore(dir, openDatabases(dir, file));
  }

  /** Lease changes applied since the last call, for the lease clock. */
  takeLeaseChanges(): LeaseChange[] {
    const out = this.leaseChanges;
    this.leaseChanges = [];
    return out;
  }

  leases(): LeaseRecord[] { return this.dbs.leases.all(); }
  alarms(): AlarmMember[] { return this.alarmList; }
  auth(): AuthState { return this.authState; }
  keyCount(): number { return this.keys; }

  /** Live keys counted from the key index (once, for a database written before the count was kept). */
  private countKeys(): number {
    let n = 0;
    for (const { value } of this.dbs.index.getRange({})) if (!decodeIndex(value as Buffer).latest.tombstone) n++;
    return n;
  }

  consistentIndex(): number { return this.ci; }
  consistentTerm(): number { return this.ciTerm; }
  members(): Membership { return this.membership; }
  currentRevision(): number { return this.rev; }
  compactRevision(): number { return this.compactRev; }

  /**
   * Applies committed entries in one transaction; `withEvents` false leaves each result's events
   * empty. `busy` is called after every entry and at every key a delete goes through, so that
   * the thread's owner can signal it is alive while a large batch or delete holds it.
   */
  applyBatch(items: ApplyItem[], withEvents = true, busy: () => void = () => {}): (ApplyResult | undefined)[] {
    const results: (ApplyResult | undefined)[] = [];
    this.dbs.root.transactionSync(() => {
      for (const { index, term, op, auth } of items) {
        if (index <= this.ci) {
          results.push(undefined);
          continue;
        }
        results.push(this.applyOne(op, auth, index, withEvents, busy));
        this.ci = index;
        this.ciTerm = term;
        busy();
      }
      this.dbs.meta.putSync('consistentIndex', this.ci);
      this.dbs.meta.putSync('consistentTerm', this.ciTerm);
      this.dbs.meta.putSync('revision', this.rev);
      this.dbs.meta.putSync('keys', this.keys);
    });
    return results;
  }

  private applyOne(op: WriteOp, auth: AuthInfo | undefined, index: number, withEvents: boolean, busy: () => void): ApplyResult | undefined {
    if (op.type === 'noop') return undefined;
    if (op.type === 'member') {
      this.membership = applyMemberChange(this.membership, op.change);
      this.dbs.meta.putSync('membership', this.membership);
      return { revision: this.rev, response: this.membership, events: [] };
    }
    const w = new RevisionWriter(this.rev + 1, withEvents, busy);
    try {
      // As etcd's corrupt applier: a cluster found inconsistent applies nothing but alarms.
      if (op.type !== 'alarm' && this.alarmList.some((a) => a.alarm === CORRUPT)) throw corrupt();
      // As etcd's capped applier: with the space alarm raised, nothing that adds data applies.
      if (this.alarmList.some((a) => a.alarm === NOSPACE) && addsData(op)) throw noSpace();
      // As etcd's auth applier: a client's write is checked against the permissions in force when it applies.
      if (auth && this.authState.enabled) this.checkPermission(op, auth);
      let response: any;
      switch (op.type) {
        case 'put': response = this.put(w, op.req); break;
        case 'deleteRange': response = this.deleteRange(w, op.req); break;
        case 'txn': {
          const path = this.txnPath(w, op.req);
          this.checkTxn(op.req, path, 'put');
          this.checkTxn(op.req, path, 'range');
          response = this.txn(w, op.req, path);
          break;
        }
        case 'compact': response = this.compact(op.req.revision ?? 0); break;
        case 'leaseGrant': response = this.leaseGrant(op.req); break;
        case 'leaseRevoke': response = this.leaseRevoke(w, op.req); break;
        case 'leaseCheckpoint': response = this.leaseCheckpoint(op.req); break;
        case 'alarm': response = this.alarm(op.req); break;
        case 'auth': response = this.authCall(op.call, auth, index); break;
      }
      if (w.changed) this.rev = w.main;
      return { revision: this.rev, response, events: w.events };
    } catch (err) {
      if (err instanceof MvccError) return { error: err };
      if (err instanceof EtcdError) return { error: new MvccError(err) };
      throw err;
    }
  }

  private checkPermission(op: WriteOp, ai: AuthInfo): void {
    const leaseKeys = (id: number) => this.dbs.leases.keysOf(id);
    switch (op.type) {
      case 'put': return checkPut(this.authState, ai, op.req, leaseKeys);
      case 'deleteRange': return checkDeleteRange(this.authState, ai, op.req);
      case 'txn': return checkTxn(this.authState, ai, op.req);
      // Revoking deletes the lease's keys: the user must be allowed to write every one.
      case 'leaseRevoke': return leaseKeys(Number(op.req.ID)).forEach((key) => checkWrite(this.authState, ai, key));
    }
  }

  private authCall(call: AuthCall, ai: AuthInfo | undefined, index: number) {
    const { state, response } = applyAuth(this.authState, call, ai, index);
    if (state !== this.authState) {
      this.authState = state;
      this.dbs.meta.putSync('auth', packAuth(state));
    }
    return response;
  }

  /** The revision a read inside a write request sees: its own changes included. */
  private readRev(w: RevisionWriter) { return w.changed ? w.main : this.rev; }

  private put(w: RevisionWriter, req: Req) {
    const key = Buffer.from(req.key);
    const record = this.view.index(key);
    const exists = !!record && !record.latest.tombstone;
    const prevWanted = w.withEvents || req.prev_kv || req.ignore_value || req.ignore_lease;
    const prev = exists && prevWanted ? this.view.revision(record!.latest)! : undefined;
    // Only a top-level put can fail here, before it writes: a txn checked its puts up front.
    if ((req.ignore_value || req.ignore_lease) && !exists && !w.changed) throw keyNotFound();
    if (req.lease && !req.ignore_lease && !this.dbs.leases.get(req.lease)) throw leaseNotFound();
    const prevKv = prev && (req.ignore_value || req.ignore_lease) ? decodeKeyValue(prev) : undefined;
    const kv = encodeKeyValue({
      key,
      create_revision: exists ? record!.create : w.main,
      mod_revision: w.main,
      version: exists ? record!.version + 1 : 1,
      value: req.ignore_value ? prevKv?.value : req.value,
      lease: req.ignore_lease ? prevKv?.lease ?? 0 : req.lease || 0,
    });
    const at = { main: w.main, sub: w.sub++, tombstone: false };
    this.appendRevision(at, kv);
    if (record) this.supersede(key, record.latest);
    const next: IndexRecord = {
      latest: at,
      create: exists ? record!.create : w.main,
      version: exists ? record!.version + 1 : 1,
      lease: req.ignore_lease ? prevKv?.lease ?? 0 : req.lease || 0,
    };
    this.dbs.index.putSync(key, encodeIndex(next));
    if (!exists) this.keys++;
    const heldBy = exists ? record!.lease : 0;
    if (heldBy !== next.lease) {
      if (heldBy) this.dbs.leases.detach(heldBy, key);
      if (next.lease) this.dbs.leases.attach(next.lease, key);
    }
    if (w.withEvents) w.events.push({ type: 0, kv, ...(prev ? { prev_kv: prev } : {}) });
    return { prev_kv: req.prev_kv ? prev : undefined, revision: w.main };
  }

  /**
   * Revisions only grow, so each goes at the end of its table (MDB_APPEND): a full page then stays
   * full instead of being split in half, as etcd fills its revision pages to 90%. With 1 KiB
   * values that is three revisions per page instead of two.
   */
  private appendRevision(at: KeyRevision, kv: Uint8Array): void {
    this.dbs.rev.putSync(revKey(at.main, at.sub), Buffer.concat([Buffer.of(at.tombstone ? 1 : 0), kv]), { append: true });
  }

  /**
   * A key's revision that a newer one replaces goes to its history. The latest stays in the index
   * record only, so that creating a key writes no history entry.
   */
  private supersede(key: Uint8Array, previous: KeyRevision): void {
    if (keepsHistory(key)) this.dbs.history.putSync(historyKey(key, previous.main, previous.sub), historyFlag(previous.tombstone));
  }

  private deleteRange(w: RevisionWriter, req: Req) {
    const found: Found[] = [];
    for (const f of keysAt(this.view, req.key, req.range_end, this.readRev(w))) {
      found.push(f);
      w.busy();
    }
    const prevKvs: Uint8Array[] = [];
    for (const f of found) {
      w.busy();
      const prev = w.withEvents || req.prev_kv ? this.view.revision(f.at)! : undefined;
      if (req.prev_kv) prevKvs.push(prev!);
      const at = { main: w.main, sub: w.sub++, tombstone: true };
      const tomb = encodeKeyValue({ key: f.key, create_revision: 0, mod_revision: w.main, version: 0, lease: 0 });
      this.appendRevision(at, tomb);
      this.supersede(f.key, f.record.latest);
      this.dbs.index.putSync(Buffer.from(f.key), encodeIndex({ latest: at, create: 0, version: 0, lease: 0 }));
      if (f.record.lease) this.dbs.leases.detach(f.record.lease, f.key);
      this.keys--;
      if (w.withEvents) w.events.push({ type: 1, kv: tomb, prev_kv: prev });
    }
    return { deleted: found.length, prev_kvs: req.prev_kv ? prevKvs : undefined, revision: this.readRev(w) };
  }

  private compareHolds(w: RevisionWriter, c: Req): boolean {
    const found = [...keysAt(this.view, c.key, c.range_end, this.readRev(w))];
    const target = c.target ?? 0;
    // No key (in the range): a value compare fails; others compare against a zero KeyValue.
    if (!found.length) {
      if (target === 3) return false;
      return holds(c.result ?? 0, Math.sign(0 - (targetValue(c, target) as number)));
    }
    return found.every((f) => {
      const kv = decodeKeyValue(this.view.revision(f.at)!);
      const actual = [kv.version, kv.create_revision, kv.mod_revision, kv.value, kv.lease][target];
      const wanted = targetValue(c, target);
      const cmp = target === 3 ? Buffer.compare(Buffer.from((actual as Uint8Array) ?? []), Buffer.from((wanted as Uint8Array) ?? [])) : Math.sign((actual as number) - (wanted as number));
      return holds(c.result ?? 0, cmp);
    });
  }

  // As etcd, every compare of a txn and of its nested txns is decided on the state before the
  // txn writes anything: the branch taken at each level is fixed up front.
  private txnPath(w: RevisionWriter, req: Req): TxnPath {
    const succeeded = (req.compare ?? []).every((c: Req) => this.compareHolds(w, c));
    const ops: Req[] = (succeeded ? req.success : req.failure) ?? [];
    return { succeeded, nested: ops.map((op) => (op.request_txn ? this.txnPath(w, op.request_txn) : undefined)) };
  }

  // What can fail in a txn is checked before it writes anything, in etcd's order (every put,
  // then every range, on the branches taken), so a failed txn leaves no partial writes.
  private checkTxn(req: Req, path: TxnPath, kind: 'put' | 'range'): void {
    const ops: Req[] = (path.succeeded ? req.success : req.failure) ?? [];
    ops.forEach((op, i) => {
      if (kind === 'put' && op.request_put && (op.request_put.ignore_value || op.request_put.ignore_lease)) {
        if (!keysAt(this.view, op.request_put.key, undefined, this.rev).next().value) throw keyNotFound();
      }
      if (kind === 'put' && op.request_put?.lease && !op.request_put.ignore_lease && !this.dbs.leases.get(op.request_put.lease)) throw leaseNotFound();
      if (kind === 'range' && op.request_range?.revision > 0) {
        if (op.request_range.revision > this.rev) throw futureRev();
        if (op.request_range.revision < this.compactRev) throw compacted();
      }
      if (op.request_txn) this.checkTxn(op.request_txn, path.nested[i]!, kind);
    });
  }

  private txn(w: RevisionWriter, req: Req, path: TxnPath): any {
    const { succeeded } = path;
    const ops: Req[] = (succeeded ? req.success : req.failure) ?? [];
    const responses = ops.map((op, i) => {
      if (op.request_range) {
        const r = range(this.view, op.request_range, this.readRev(w), this.compactRev);
        return { response_range: r };
      }
      if (op.request_put) return { response_put: this.put(w, op.request_put) };
      if (op.request_delete_range) return { response_delete_range: this.deleteRange(w, op.request_delete_range) };
      return { response_txn: this.txn(w, op.request_txn, path.nested[i]!) };
    });
    return { succeeded, responses, revision: this.readRev(w) };
  }

  private leaseGrant(req: Req) {
    const id = Number(req.ID);
    if (this.dbs.leases.get(id)) throw leaseExists();
    this.dbs.leases.put({ id, ttl: Number(req.TTL), remaining: 0 });
    this.leaseChanges.push({ t: 'granted', id, ttl: Number(req.TTL) });
    return { ID: id, TTL: Number(req.TTL) };
  }

  // As etcd: every key the lease holds is deleted in one revision, in key order.
  private leaseRevoke(w: RevisionWriter, req: Req) {
    const id = Number(req.ID);
    if (!this.dbs.leases.get(id)) throw leaseNotFound();
    for (const key of this.dbs.leases.keysOf(id)) this.deleteRange(w, { key });
    this.dbs.leases.remove(id);
    this.leaseChanges.push({ t: 'revoked', id });
    return {};
  }

  private leaseCheckpoint(req: Req) {
    for (const c of req.checkpoints ?? []) {
      const lease = this.dbs.leases.get(Number(c.ID));
      if (!lease) continue;
      this.dbs.leases.put({ ...lease, remaining: Number(c.remaining_TTL ?? 0) });
      this.leaseChanges.push({ t: 'checkpoint', id: lease.id, remaining: Number(c.remaining_TTL ?? 0) });
    }
    return {};
  }

  /** ACTIVATE (1) adds an alarm, DEACTIVATE (2) removes it; the answer lists the one changed. */
  private alarm(req: Req) {
    const member: AlarmMember = { memberID: Number(req.memberID ?? 0), alarm: Number(req.alarm ?? 0) };
    const same = (a: AlarmMember) => a.memberID === member.memberID && a.alarm === member.alarm;
    const exists = this.alarmList.some(same);
    if (req.action === 1 && !exists && member.alarm) this.alarmList = [...this.alarmList, member];
    else if (req.action === 2 && exists) this.alarmList = this.alarmList.filter((a) => !same(a));
    else return { alarms: [] };
    this.dbs.meta.putSync('alarms', this.alarmList);
    return { alarms: [member] };
  }

  private compact(rev: number) {
    if (rev > this.rev) throw futureRev();
    if (rev <= this.compactRev) throw compacted();
    this.dbs.meta.putSync('scheduledCompact', rev);
    this.dbs.meta.putSync('finishedCompact', this.finishedCompactRev);
    this.compactRev = rev;
    this.dbs.meta.putSync('compactRevision', rev);
    // A newer compaction starts over: the keys already done may hold more to remove.
    this.pendingCompaction = { rev };
    return {};
  }

  /** Whether old revisions of a compaction remain to be removed (compactStep does it). */
  compacting(): boolean {
    return this.pendingCompaction !== undefined;
  }

  /**
   * Removes about `limit` compacted revisions (or looks at `limit` keys), in a transaction of its
   * own: every revision older than the compaction's except each key's newest at it (itself
   * removed when it is a tombstone). LMDB reuses the freed pages. Returns whether more remains.
   */
  compactStep(limit: number): boolean {
    const c = this.pendingCompaction;
    if (!c) return false;
    this.dbs.root.transactionSync(() => {
      // From the smallest key after the last one done.
      const after = c.after && indexBounds(Buffer.concat([c.after, Buffer.of(0)]), undefined);
      const keys = [...this.dbs.index.getRange({ ...(after ? { start: after.start } : {}), limit: limit + 1 })]
        .filter(({ key }) => !after || !outsideBounds(after, key as Buffer)).slice(0, limit);
      let removed = 0;
      let done = 0;
      for (const { key, value } of keys) {
        const latest = decodeIndex(value as Buffer).latest;
        const upTo = revisionsUpTo(this.dbs, key as Buffer, latest, c.rev);
        const atRev = upTo.at(-1);
        const drop = atRev && !atRev.tombstone ? upTo.slice(0, -1) : upTo;
        for (const r of drop) {
          this.dbs.rev.removeSync(revKey(r.main, r.sub));
          if (keepsHistory(key as Buffer)) this.dbs.history.removeSync(historyKey(key as Buffer, r.main, r.sub));
        }
        if (latest.tombstone && latest.main <= c.rev) this.dbs.index.removeSync(key as Buffer);
        done++;
        removed += drop.length;
        if (removed >= limit) break;
      }
      if (done < keys.length || keys.length === limit) c.after = Buffer.from(keys[done - 1]!.key as Buffer);
      else {
        this.finishedCompactRev = c.rev;
        this.dbs.meta.putSync('finishedCompact', c.rev);
        this.pendingCompaction = undefined;
      }
    });
    return this.compacting();
  }

  /** CRC32 of the stored revisions in (compacted, rev]: equal stores give equal hashes. */
  hashKV(rev: number): { hash: number; compact_revision: number; hash_revision: number } {
    const upTo = rev > 0 ? rev : this.rev;
    if (upTo > this.rev) throw futureRev();
    if (upTo < this.compactRev) throw compacted();
    let crc = 0;
    for (const { key, value } of this.dbs.rev.getRange({ start: revKey(0, 0), end: revKey(upTo + 1, 0) })) {
      crc = zlib.crc32(value as Buffer, zlib.crc32(key as Buffer, crc));
    }
    // etcd reports -1 until the first compaction.
    return { hash: crc, compact_revision: this.compactRev || -1, hash_revision: upTo };
  }

  /** CRC32 of every stored revision and the key index. */
  hash(): { hash: number; revision: number } {
    let crc = 0;
    for (const db of [this.dbs.rev, this.dbs.index, this.dbs.history]) {
      for (const { key, value } of db.getRange({})) crc = zlib.crc32(value as Buffer, zlib.crc32(key as Buffer, crc));
    }
    return { hash: crc, revision: this.rev };
  }

  /** Up to the last page written, as etcd counts its file: a writable map makes the file itself longer. */
  dbSize(): number {
    const { lastPageNumber } = (this.dbs.root as unknown as { env: { info(): { lastPageNumber: number } } }).env.info();
    return (lastPageNumber + 1) * this.pageSize;
  }

  /**
   * The pages the trees use (every named database's, the main one's and the free list's) and
   * the two meta pages: the rest of the file is free pages LMDB reuses, as etcd's in-use size
   * leaves out bbolt's.
   */
  dbSizeInUse(): number {
    type TreeStats = { treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number };
    const pages = (t: TreeStats | undefined) => (t ? t.treeBranchPageCount + t.treeLeafPageCount + t.overflowPages : 0);
    const root = this.dbs.root.getStats() as TreeStats & { free?: TreeStats };
    const used = 2 + pages(root) + pages(root.free) + this.dbs.named.reduce((n, db) => n + pages(db.getStats() as TreeStats), 0);
    return Math.min(used * this.pageSize, this.dbSize());
  }

  /** A consistent copy of the database (compacted when asked), for snapshots and defragmentation. */
  backup(file: string, compact = false): Promise<void> {
    return (this.dbs.root as unknown as { backup(p: string, c: boolean): Promise<void> }).backup(file, compact);
  }

  /**
   * Makes this store (restored from a snapshot) the state of a new cluster: its data stays,
   * its membership becomes `membership` and it stands at raft index `at`, where the new
   * cluster's log begins.
   */
  startNewCluster(membership: MemberRecord[], at: { index: number; term: number }): void {
    this.dbs.root.transactionSync(() => {
      this.membership = { members: membership, removed: [] };
      this.ci = at.index;
      this.ciTerm = at.term;
      this.dbs.meta.putSync('membership', this.membership);
      this.dbs.meta.putSync('consistentIndex', this.ci);
      this.dbs.meta.putSync('consistentTerm', this.ciTerm);
    });
  }

  /** Flushes every committed transaction to disk; resolves with the index and term it covers. */
  flush(): Promise<{ index: number; term: number }> {
    const covered = { index: this.ci, term: this.ciTerm };
    return new Promise((resolve, reject) =>
      (this.dbs.root as unknown as { sync(cb: (err?: Error) => void): void }).sync((err) => (err ? reject(err) : resolve(covered))),
    );
  }

  close(): Promise<void> {
    return this.dbs.root.close();
  }
}

/** Puts (alone or in a txn) and lease grants: what a full database refuses. */
function addsData(op: WriteOp): boolean {
  if (op.type === 'put' || op.type === 'leaseGrant') return true;
  if (op.type !== 'txn') return false;
  const hasPut = (r: Req): boolean => [...(r.success ?? []), ...(r.failure ?? [])].some((o: Req) => o.request_put || (o.request_txn && hasPut(o.request_txn)));
  return hasPut(op.req);
}

const holds = (result: number, cmp: number) =>
  result === 0 ? cmp === 0 : result === 1 ? cmp > 0 : result === 2 ? cmp < 0 : cmp !== 0;

function targetValue(c: Req, target: number): number | Uint8Array {
  switch (target) {
    case 0: return c.version ?? 0;
    case 1: return c.create_revision ?? 0;
    case 2: return c.mod_revision ?? 0;
    case 3: return c.value ?? Buffer.alloc(0);
    default: return c.lease ?? 0;
  }
}

