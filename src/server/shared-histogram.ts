// A histogram in a SharedArrayBuffer: the thread that times something (the WAL's fsync in the
// raft actor, the LMDB commit in the mvcc actor) records into it with Atomics; the metrics
// endpoint on the main thread reads it. Buckets are etcd's: 1 ms doubling 14 times.
export const BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);

const CELLS = BUCKETS.length + 2;

export class SharedHistogram {
  private readonly cells: BigInt64Array;

  /** Slots: one per bucket, then the count of all observations and their sum in nanoseconds; at `offset` cells into `buffer`. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(CELLS * 8), offset = 0) {
    this.cells = new BigInt64Array(buffer, offset * 8, CELLS);
  }

  observe(seconds: number): void {
    const i = BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) Atomics.add(this.cells, i, 1n);
    Atomics.add(this.cells, BUCKETS.length, 1n);
    Atomics.add(this.cells, BUCKETS.length + 1, BigInt(Math.round(seconds * 1e9)));
  }

  /** Cumulative bucket counts (as Prometheus wants them), total count, and sum in seconds. */
  read(): { buckets: number[]; count: number; sum: number } {
    let running = 0;
    const buckets = BUCKETS.map((_, i) => (running += Number(Atomics.load(this.cells, i))));
    return { buckets, count: Number(Atomics.load(this.cells, BUCKETS.length)), sum: Number(Atomics.load(this.cells, BUCKETS.length + 1)) / 1e9 };
  }
}

/** Peers a keyed histogram tells apart; more share the last slot's key 0 ("others"). */
const KEYED_SLOTS = 16;

/**
 * One histogram per key (e.g. per peer) in one SharedArrayBuffer: slot i holds its key, then
 * a histogram. The recording thread claims a free slot for a new key with a compare-and-swap.
 */
export class SharedHistograms {
  private readonly keys: BigInt64Array;
  private readonly histograms: SharedHistogram[];

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(KEYED_SLOTS * (CELLS + 1) * 8)) {
    this.keys = new BigInt64Array(buffer, 0, KEYED_SLOTS);
    this.histograms = Array.from({ length: KEYED_SLOTS }, (_, i) => new SharedHistogram(buffer, KEYED_SLOTS + i * CELLS));
  }

  observe(key: number, seconds: number): void {
    const k = BigInt(key);
    for (let i = 0; i < KEYED_SLOTS; i++) {
      const held = Atomics.load(this.keys, i);
      if (held === k || (held === 0n && (Atomics.compareExchange(this.keys, i, 0n, k) === 0n || Atomics.load(this.keys, i) === k))) {
        return this.histograms[i]!.observe(seconds);
      }
    }
  }

  /** Every key seen, with its histogram as SharedHistogram.read gives it. */
  read(): { key: number; histogram: ReturnType<SharedHistogram['read']> }[] {
    const out: { key: number; histogram: ReturnType<SharedHistogram['read']> }[] = [];
    for (let i = 0; i < KEYED_SLOTS; i++) {
      const k = Atomics.load(this.keys, i);
      if (k !== 0n) out.push({ key: Number(k), histogram: this.histograms[i]!.read() });
    }
    return out;
  }
}
