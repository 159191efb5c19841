// The watch core: the registry of watchers of every client stream, pure (no timers, threads or
// files). Synced watchers get each applied revision's events as they arrive; watchers behind
// (a start revision in the past, a blocked stream, a replaced store) catch up from history in
// bounded chunks, then join the synced group. Output is encoded WatchResponse bytes per stream.
import { keyOfKeyValue } from '../mvcc/keyvalue.js';
import type { WatchEvent } from '../mvcc/store.js';
import { encodeEvents, encodeWatchResponse, eventField } from './response.js';

/** The events of one revision (one write request), in the order it made them. */
export interface RevisionEvents { rev: number; events: WatchEvent[] }

/** A consistent read of the store's history, released with done(). */
export interface HistoryView {
  currentRev: number;
  compactRev: number;
  /**
   * The events of revisions from..to in order; it stops after a whole revision once `maxBytes`
   * or `maxRevs` revisions are read; `through` is the last revision covered. Previous KeyValues
   * are looked up only `withPrev`.
   */
  read(from: number, to: number, limits: { maxBytes: number; maxRevs: number; withPrev: boolean }): { revisions: RevisionEvents[]; through: number };
  done(): void;
}

export interface History { view(): HistoryView }

export interface WatchLimits {
  /** Unacknowledged response bytes a stream may hold before its watchers fall back to history. */
  streamBufferBytes: number;
  /** Responses of watchers that asked for fragments are split below this size (as etcd: --max-request-bytes + gRPC allowance). */
  maxResponseBytes: number;
  /** Bytes of history read in one catch-up step. */
  catchUpBytes: number;
}

/**
 * A revision's responses to many watchers go out in parts of about this size, so that the
 * gateway writes the first streams while the rest are encoded. The first stream's go out alone,
 * so that the fan-out starts as soon as it can.
 */
const OUTPUT_CHUNK_BYTES = 16 * 1024;

// As etcd: at most this many revisions of history go in one catch-up response.
const MAX_REVS_PER_RESPONSE = 1000;
const NOPUT = 0;
const NODELETE = 1;
/** etcd's clientv3.InvalidWatchID: a response that belongs to no watcher. */
const INVALID_WATCH_ID = -1;

export const WatchErrors = {
  emptyRange: 'mvcc: watcher range is empty',
  duplicateId: 'mvcc: duplicate watch ID provided on the WatchStream',
} as const;

interface Watcher {
  stream: Stream;
  id: number;
  key: Buffer;
  /** undefined: the key alone; empty: every key from `key` on; else [key, end). */
  end?: Buffer;
  /** The first revision this watcher has not been sent yet. */
  minRev: number;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  fragment: boolean;
  progressNotify: boolean;
  /** A progress notification is due at the next tick unless events go out before it. */
  progressDue: boolean;
  synced: boolean;
}

interface Stream {
  id: number;
  watchers: Map<number, Watcher>;
  nextId: number;
  /** Bytes handed out and not yet acknowledged as written to the client. */
  unacked: number;
  unsynced: number;
  /** The client asked for progress while some of its watchers were catching up. */
  progressWanted: boolean;
}

type Req = Record<string, any>;

/** A revision's events prepared once for every watcher: keys extracted, fields encoded lazily. */
class PreparedRevision {
  readonly keys: string[];
  private readonly fields: (Buffer | undefined)[][];
  constructor(readonly r: RevisionEvents) {
    this.keys = r.events.map((e) => Buffer.from(keyOfKeyValue(e.kv)).toString('latin1'));
    this.fields = r.events.map(() => [undefined, undefined]);
  }
  field(i: number, withPrev: boolean): Buffer {
    const slot = this.fields[i]!;
    return (slot[withPrev ? 1 : 0] ??= eventField(this.r.events[i]!, withPrev));
  }
}

export class WatchCore {
  private readonly streams = new Map<number, Stream>();
  /** Synced watchers of a single key, by key (latin1). */
  private readonly byKey = new Map<string, Set<Watcher>>();
  /**
   * Synced watchers of a range, by range (key and end, latin1): an event's key is compared once
   * per distinct range, however many watchers share it. Latin1 strings compare as the bytes do.
   */
  private readonly ranges = new Map<string, { key: string; end: string; watchers: Set<Watcher> }>();
  private readonly behind = new Set<Watcher>();
  private count = 0;
  /** The newest revision seen, live or in history: where a new watcher starts. */
  private rev = 0;
  /** The newest revision whose events reached the synced watchers. */
  private liveRev = 0;
  private out = new Map<number, Buffer[]>();
  private outBytes = 0;

  constructor(
    private readonly history: History,
    private readonly header: (revision: number) => Buffer,
    private readonly limits: WatchLimits,
    /** Told when the first watcher comes and the last goes: events are only needed in between. */
    private readonly onWatching: (watching: boolean) => void = () => {},
    /** Told when a fan-out has produced OUTPUT_CHUNK_BYTES, between two streams: the output may be taken. */
    private readonly onOutput: () => void = () => {},
  ) {}

  get watchers(): number { return this.count; }

  /** Watchers catching up from history (their stream's or the store's lag). */
  get behindCount(): number { return this.behind.size; }

  /** Watchers catching up whose stream can take more. */
  get catchingUp(): boolean {
    for (const w of this.behind) if (!this.blocked(w.stream)) return true;
    return false;
  }

  /** Responses produced since the last call, by stream. */
  takeOutput(): Map<number, Buffer[]> {
    const out = this.out;
    this.out = new Map();
    this.outBytes = 0;
    return out;
  }

  create(streamId: number, req: Req): void {
    const s = this.stream(streamId);
    const key = req.key?.length ? Buffer.from(req.key) : Buffer.of(0); // \x00 is the smallest key
    let end: Buffer | undefined = req.range_end?.length ? Buffer.from(req.range_end) : undefined;
    if (end?.length === 1 && end[0] === 0) end = Buffer.alloc(0); // every key from `key` on
    if (!this.count) this.onWatching(true); // before the current revision is read: no event may fall between
    this.refreshRevision();
    const refuse = (reason: string) => {
      this.emit(s, encodeWatchResponse(this.header(this.rev), { watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: reason }));
      if (!this.count) this.onWatching(false);
    };
    if (end?.length && Buffer.compare(key, end) >= 0) return refuse(WatchErrors.emptyRange);
    let id = Number(req.watch_id ?? 0);
    if (id && s.watchers.has(id)) return refuse(WatchErrors.duplicateId);
    if (!id) {
      while (s.watchers.has(s.nextId)) s.nextId++;
      id = s.nextId++;
    }
    const start = Number(req.start_revision ?? 0);
    const filters: number[] = req.filters ?? [];
    const w: Watcher = {
      stream: s, id, key, end,
      minRev: start === 0 || start > this.rev ? Math.max(this.rev + 1, start) : start,
      noPut: filters.includes(NOPUT), noDelete: filters.includes(NODELETE),
      prevKv: !!req.prev_kv, fragment: !!req.fragment, progressNotify: !!req.progress_notify,
      progressDue: true, synced: false,
    };
    s.watchers.set(id, w);
    this.count++;
    this.emit(s, encodeWatchResponse(this.header(this.rev), { watchId: id, created: true }));
    if (w.minRev > this.rev) this.join(w);
    else this.fallBehind(w);
  }

  cancel(streamId: number, id: number): void {
    const s = this.streams.get(streamId);
    const w = s?.watchers.get(id);
    if (!s || !w) return; // as etcd: cancelling an unknown watcher answers nothing
    this.remove(w);
    this.emit(s, encodeWatchResponse(this.header(this.rev), { watchId: id, canceled: true }));
    this.progressIfCaughtUp(s);
  }

  closeStream(streamId: number): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    for (const w of [...s.watchers.values()]) this.remove(w);
    this.streams.delete(streamId);
  }

  /**
   * A client's RequestProgress: a response with no watcher (watch_id -1) at a revision every
   * watcher of the stream has reached; deferred while some of them are still catching up.
   */
  requestProgress(streamId: number): void {
    const s = this.stream(streamId);
    if (s.unsynced) {
      s.progressWanted = true;
      return;
    }
    this.emitStreamProgress(s);
  }

  /** A revision every watcher of the stream has seen, as a watcher-less progress response. */
  private emitStreamProgress(s: Stream): void {
    let rev: number;
    // A loop, not Math.min(...): a spread of hundreds of thousands of watchers overflows the stack.
    if (s.watchers.size) rev = [...s.watchers.values()].reduce((min, w) => Math.min(min, this.seen(w)), Infinity);
    else {
      this.refreshRevision();
      rev = this.rev;
    }
    this.emit(s, encodeWatchResponse(this.header(rev), { watchId: INVALID_WATCH_ID }));
  }

  /**
   * The revision a synced watcher has been brought up to; never past the newest revision, though
   * a watcher waiting for a future start revision has minRev beyond it.
   */
  private seen(w: Watcher): number {
    return Math.min(this.rev, Math.max(this.liveRev, w.minRev - 1));
  }

  /** A deferred progress request goes out once no watcher of the stream is behind. */
  private progressIfCaughtUp(s: Stream): void {
    if (!s.progressWanted || s.unsynced) return;
    s.progressWanted = false;
    this.emitStreamProgress(s);
  }

  /** The client has written `bytes` of this stream's responses. */
  acknowledge(streamId: number, bytes: number): void {
    const s = this.streams.get(streamId);
    if (s) s.unacked -= bytes;
  }

  /** Events of newly applied revisions, in order: each revision goes out as one response per watcher. */
  applied(revisions: RevisionEvents[]): void {
    // Only a batch's first revision starts with a part of its own: a long batch stays in few parts.
    let startFanOut = true;
    for (const r of revisions) {
      // No revision is skipped here: a watcher that joined from a newer view has a higher minRev.
      this.liveRev = Math.max(this.liveRev, r.rev);
      this.rev = Math.max(this.rev, r.rev);
      if (!this.count) continue;
      const p = new PreparedRevision(r);
      // By stream, so that output can go out between streams (each stream's responses whole).
      const matched = new Map<Stream, Map<Watcher, number[]>>();
      p.keys.forEach((k, i) => {
        const add = (w: Watcher) => {
          if (!this.accepts(w, r.events[i]!)) return;
          let ofStream = matched.get(w.stream);
          if (!ofStream) matched.set(w.stream, (ofStream = new Map()));
          let list = ofStream.get(w);
          if (!list) ofStream.set(w, (list = []));
          list.push(i);
        };
        this.byKey.get(k)?.forEach(add);
        for (const range of this.ranges.values()) if (k >= range.key && (!range.end || k < range.end)) range.watchers.forEach(add);
      });
      if (!matched.size) continue;
      const header = this.header(r.rev);
      for (const ofStream of matched.values()) {
        for (const [w, indexes] of ofStream) {
          if (r.rev < w.minRev) continue;
          if (this.blocked(w.stream)) {
            // A slow client: stop pushing; it reads this revision and the rest from history later.
            w.minRev = r.rev;
            this.leave(w);
            this.fallBehind(w);
            continue;
          }
          this.sendEvents(w, header, indexes.map((i) => p.field(i, w.prevKv)));
          w.minRev = r.rev + 1;
        }
        if (this.outBytes >= OUTPUT_CHUNK_BYTES || (startFanOut && matched.size > 1)) this.onOutput();
        startFanOut = false;
      }
    }
  }

  /**
   * One bounded step of catching up: reads history from the lowest revision a runnable watcher
   * needs, sends each its events, and moves those that reach the present to the synced group.
   */
  catchUp(): void {
    const runnable = [...this.behind].filter((w) => !this.blocked(w.stream));
    if (!runnable.length) return;
    const view = this.history.view();
    try {
      this.rev = Math.max(this.rev, view.currentRev);
      const waiting: Watcher[] = [];
      for (const w of runnable) {
        if (w.minRev < view.compactRev) {
          // As etcd: its start is compacted away; the watcher is cancelled, header revision 0.
          this.remove(w);
          this.emit(w.stream, encodeWatchResponse(this.header(0), { watchId: w.id, canceled: true, compactRevision: view.compactRev }));
          this.progressIfCaughtUp(w.stream);
        } else if (w.minRev > view.currentRev) this.join(w);
        else waiting.push(w);
      }
      if (!waiting.length) return;
      const from = Math.max(1, waiting.reduce((min, w) => Math.min(min, w.minRev), Infinity));
      const { revisions, through } = view.read(from, view.currentRev, {
        maxBytes: this.limits.catchUpBytes, maxRevs: MAX_REVS_PER_RESPONSE, withPrev: waiting.some((w) => w.prevKv),
      });
      const prepared = revisions.map((r) => new PreparedRevision(r));
      const header = this.header(view.currentRev);
      for (const w of waiting) {
        if (w.minRev > through) continue;
        const fields: Buffer[] = [];
        for (const p of prepared) {
          if (p.r.rev < w.minRev) continue;
          p.keys.forEach((k, i) => {
            if (this.accepts(w, p.r.events[i]!) && matches(w, Buffer.from(k, 'latin1'))) fields.push(p.field(i, w.prevKv));
          });
        }
        if (fields.length) this.sendEvents(w, header, fields);
        w.minRev = through + 1;
        if (through >= view.currentRev) this.join(w);
      }
    } finally {
      view.done();
    }
  }

  /** The progress interval elapsed: synced watchers that asked for it and got no events hear the revision. */
  progressTick(): void {
    for (const s of this.streams.values()) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.progressDue && w.synced && !this.blocked(s)) {
          this.emit(s, encodeWatchResponse(this.header(this.seen(w)), { watchId: w.id }));
        }
        w.progressDue = true;
      }
    }
  }

  /**
   * Revisions were applied that the live feed did not deliver (the store replaced by a snapshot
   * from the leader, or a batch applied without events as the first watcher came): every synced
   * watcher re-reads history from the first revision it was not sent.
   */
  missedRevisions(): void {
    for (const s of this.streams.values()) {
      for (const w of s.watchers.values()) {
        if (!w.synced) continue;
        // Not seen(): a watcher waiting for a future start revision keeps it.
        w.minRev = Math.max(this.liveRev + 1, w.minRev);
        this.leave(w);
        this.fallBehind(w);
      }
    }
  }

  private sendEvents(w: Watcher, header: Buffer, fields: Buffer[]): void {
    for (const bytes of encodeEvents(header, w.id, fields, w.fragment ? this.limits.maxResponseBytes : undefined)) this.emit(w.stream, bytes);
    w.progressDue = false;
  }

  private accepts(w: Watcher, e: WatchEvent): boolean {
    return e.type === 0 ? !w.noPut : !w.noDelete;
  }

  private blocked(s: Stream): boolean {
    return s.unacked > this.limits.streamBufferBytes;
  }

  private refreshRevision(): void {
    const view = this.history.view();
    this.rev = Math.max(this.rev, view.currentRev);
    view.done();
  }

  private stream(id: number): Stream {
    let s = this.streams.get(id);
    if (!s) this.streams.set(id, (s = { id, watchers: new Map(), nextId: 0, unacked: 0, unsynced: 0, progressWanted: false }));
    return s;
  }

  private emit(s: Stream, bytes: Buffer): void {
    s.unacked += bytes.length;
    this.outBytes += bytes.length;
    let list = this.out.get(s.id);
    if (!list) this.out.set(s.id, (list = []));
    list.push(bytes);
  }

  private join(w: Watcher): void {
    if (this.behind.delete(w)) w.stream.unsynced--;
    w.synced = true;
    if (w.end === undefined) {
      const k = w.key.toString('latin1');
      let set = this.byKey.get(k);
      if (!set) this.byKey.set(k, (set = new Set()));
      set.add(w);
    } else {
      const id = rangeId(w);
      let range = this.ranges.get(id);
      if (!range) this.ranges.set(id, (range = { key: w.key.toString('latin1'), end: w.end.toString('latin1'), watchers: new Set() }));
      range.watchers.add(w);
    }
    this.progressIfCaughtUp(w.stream);
  }

  private leave(w: Watcher): void {
    w.synced = false;
    if (w.end !== undefined) {
      const id = rangeId(w);
      const range = this.ranges.get(id);
      range?.watchers.delete(w);
      if (range && !range.watchers.size) this.ranges.delete(id);
      return;
    }
    const k = w.key.toString('latin1');
    const set = this.byKey.get(k);
    set?.delete(w);
    if (set && !set.size) this.byKey.delete(k);
  }

  private fallBehind(w: Watcher): void {
    if (!this.behind.has(w)) w.stream.unsynced++;
    this.behind.add(w);
  }

  private remove(w: Watcher): void {
    if (w.synced) this.leave(w);
    if (this.behind.delete(w)) w.stream.unsynced--;
    w.stream.watchers.delete(w.id);
    this.count--;
    if (!this.count) this.onWatching(false);
  }
}

/** A range's identity: its key, then its end, each length-prefixed. */
function rangeId(w: Watcher): string {
  return `${w.key.length}:${w.key.toString('latin1')}${w.end!.toString('latin1')}`;
}

function inRange(w: Watcher, key: Buffer): boolean {
  return Buffer.compare(key, w.key) >= 0 && (!w.end!.length || Buffer.compare(key, w.end!) < 0);
}

function matches(w: Watcher, key: Buffer): boolean {
  return w.end === undefined ? key.equals(w.key) : inRange(w, key);
}
