// The simulated network: every message gets a random delay (which also reorders), may be
// lost or duplicated, and is dropped while its endpoints are on different sides of a partition.
import { between, chance, type Rand } from './prng.js';

export interface NetworkFaults { loss: number; duplication: number; maxDelay: number }

interface InFlight<T> { at: number; order: number; from: number; to: number; payload: T }

export class Network<T> {
  private inflight: InFlight<T>[] = [];
  private order = 0;
  private side = new Map<number, number>();
  faults: NetworkFaults;

  constructor(private readonly rand: Rand, faults: NetworkFaults) {
    this.faults = { ...faults };
  }

  /**
   * `duplicable` is false for what the real transport never repeats (a stream does not);
   * `reported` traffic is never lost silently: its sender learns of a failure (at delivery).
   */
  send(now: number, from: number, to: number, payload: T, opts: { duplicable: boolean; reported?: boolean }): void {
    if (!opts.reported && chance(this.rand, this.faults.loss)) return;
    const duplicable = opts.duplicable;
    const copies = duplicable && chance(this.rand, this.faults.duplication) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.inflight.push({ at: now + between(this.rand, 0, this.faults.maxDelay), order: this.order++, from, to, payload });
  }

  /** Messages due at `now`, in delivery order; `cut` ones cross a partition and must be dropped. */
  due(now: number): { from: number; to: number; payload: T; cut: boolean }[] {
    const ready = this.inflight.filter((m) => m.at <= now).sort((a, b) => a.at - b.at || a.order - b.order);
    this.inflight = this.inflight.filter((m) => m.at > now);
    return ready.map((m) => ({ from: m.from, to: m.to, payload: m.payload, cut: !this.connected(m.from, m.to) }));
  }

  connected(a: number, b: number): boolean {
    return (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0);
  }

  /** Puts `isolated` on one side and everyone else on the other. */
  partition(isolated: number[]): void {
    this.side = new Map(isolated.map((id) => [id, 1]));
  }

  heal(): void {
    this.side.clear();
  }
}
