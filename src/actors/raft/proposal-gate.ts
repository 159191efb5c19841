// A leader's proposals (its own and those forwarded to it) that arrive while its WAL fsync runs
// wait for it and then enter the log together, as in etcd's raft loop: under load, entries
// travel and apply in larger batches. Later ones queue behind them until they are released.
export class ProposalGate<Item, Forward> {
  private items: Item[] = [];
  private forwards: Forward[] = [];

  /** `fsyncHolds`: whether this member leads and its WAL fsync runs. */
  constructor(private readonly fsyncHolds: () => boolean) {}

  /** Whether a proposal arriving now must wait. */
  holding(): boolean {
    return this.fsyncHolds() || this.items.length > 0 || this.forwards.length > 0;
  }

  holdItems(items: Item[]): void {
    this.items = this.items.concat(items);
  }

  holdForward(message: Forward): void {
    this.forwards.push(message);
  }

  /** What waited, each kind in its arrival order, once no fsync holds it; nothing otherwise. */
  release(): { items: Item[]; forwards: Forward[] } | undefined {
    if (this.fsyncHolds() || (!this.items.length && !this.forwards.length)) return undefined;
    const released = { items: this.items, forwards: this.forwards };
    this.items = [];
    this.forwards = [];
    return released;
  }
}
