// The lease clock's shell on the main thread: it follows this member's leadership (the leader
// is the primary), proposes the revoke of expired leases, checkpoints remaining TTLs when asked
// to, and answers renewals. The clock's work is a few map operations per tick, and renewals
// arrive on this thread, so it runs here rather than on a thread of its own.
import { LeaseClock, type Renewal } from '../actors/lease/core.js';
import type { LeaseChange, LeaseRecord } from '../actors/mvcc/leases.js';
import type { Member } from './member.js';

const TICK_MS = 250;
/** At most this many revokes are proposed per tick (etcd: 1,000 per second). */
const REVOKES_PER_TICK = 250;

export class Leases {
  readonly clock: LeaseClock;
  private timer?: NodeJS.Timeout;
  private lastCheckpoint = 0;

  constructor(private readonly member: Member, records: LeaseRecord[]) {
    this.clock = new LeaseClock(records);
  }

  start(): void {
    this.followLeadership();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  applied(changes: LeaseChange[]): void {
    // A leader that has not ticked since it was elected takes up the clocks first: a lease it
    // grants now must run from now, not from the next tick.
    this.followLeadership();
    this.clock.applied(changes, Date.now());
  }

  reload(records: LeaseRecord[]): void {
    this.clock.reload(records, Date.now());
  }

  /** Renews on the leader; `notPrimary` elsewhere (the caller forwards). */
  renew(id: number): Renewal {
    this.followLeadership();
    const r = this.clock.renew(id, Date.now());
    // As etcd: a renewed lease's checkpoint is cleared everywhere, or a later leader would cut it short.
    if ('checkpointed' in r) this.member.propose({ type: 'leaseCheckpoint', req: { checkpoints: [{ ID: id, remaining_TTL: 0 }] } }).catch(() => undefined);
    return r;
  }

  /** Takes up or gives up the clocks as this member gains or loses the leadership. */
  followLeadership(): void {
    const leading = this.member.board.get('leader') === this.member.id;
    if (leading && !this.clock.isPrimary) this.clock.promote(Date.now(), this.member.config.electionTimeoutMs);
    else if (!leading && this.clock.isPrimary) this.clock.demote();
  }

  private tick(): void {
    this.followLeadership();
    const now = Date.now();
    for (const id of this.clock.expired(now, REVOKES_PER_TICK)) {
      this.member.propose({ type: 'leaseRevoke', req: { ID: id } }).catch(() => undefined); // retried while it stays expired
    }
    const every = this.member.config.leaseCheckpointIntervalMs;
    if (this.member.config.leaseCheckpoint && this.clock.isPrimary && now - this.lastCheckpoint >= every) {
      this.lastCheckpoint = now;
      const checkpoints = this.clock.checkpoints(now);
      if (checkpoints.length) this.member.propose({ type: 'leaseCheckpoint', req: { checkpoints } }).catch(() => undefined);
    }
  }
}
