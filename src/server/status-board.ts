// The status board: a SharedArrayBuffer of counters that every thread reads without a
// message round trip. Each slot has one owner that writes it (rule: one owner per state).
export const Slot = {
  term: 0,            // raft actor
  leader: 1,          // raft actor
  commitIndex: 2,     // raft actor
  lastIndex: 3,       // raft actor
  appliedIndex: 4,    // mvcc actor
  revision: 5,        // mvcc actor
  compactRevision: 6, // mvcc actor
  dbSize: 7,          // mvcc actor
  dbSizeInUse: 8,     // mvcc actor
  appliedWanted: 9,   // gateway: the lowest applied index a read waits for (0: none)
  watching: 10,       // watch actor: 1 while any watcher exists (the mvcc actor sends events only then)
  keys: 11,           // mvcc actor: live keys
  watchersBehind: 12, // watch actor: watchers catching up from history
  leaderElectedAt: 13, // raft actor: when this member last became leader (ms since the epoch)
  linkedSince: 14,    // raft actor: since when it has been linked to its leader, or leading to a quorum (ms; 0: not)
} as const;

export type SlotName = keyof typeof Slot;
const SLOTS = Object.keys(Slot).length;

export class StatusBoard {
  private readonly cells: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 8)) {
    this.cells = new BigInt64Array(buffer);
  }

  get(name: SlotName): number {
    return Number(Atomics.load(this.cells, Slot[name]));
  }

  set(name: SlotName, value: number): void {
    Atomics.store(this.cells, Slot[name], BigInt(value));
  }

  snapshot(): Record<SlotName, number> {
    const out = {} as Record<SlotName, number>;
    for (const name of Object.keys(Slot) as SlotName[]) out[name] = this.get(name);
    return out;
  }
}
