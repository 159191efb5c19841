// A histogram in a SharedArrayBuffer: the thread that times something (the WAL's fsync in the
// raft actor, the LMDB commit in the mvcc actor) records into it with Atomics; the metrics
// endpoint on the main thread reads it. Buckets are etcd's: 1 ms doubling 14 times.
export const BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);

export class SharedHistogram {
  private readonly cells: BigInt64Array;

  /** Slots: one per bucket, then the count of all observations and their sum in nanoseconds. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer((BUCKETS.length + 2) * 8)) {
    this.cells = new BigInt64Array(buffer);
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
