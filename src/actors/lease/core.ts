// The lease clock, pure: every member knows every lease (from the store), but only the leader
// (the primary) runs their clocks. A new primary gives each lease its whole TTL again plus an
// extension (etcd's Promote), or the remaining TTL of its last checkpoint. Expired leases are
// handed out to be revoked through consensus; the clock never deletes anything itself.
import type { LeaseChange, LeaseRecord } from '../mvcc/leases.js';

interface Lease { id: number; ttl: number; remaining: number; expiry: number; revokeAskedAt?: number }

/** How long an expired lease waits before its revoke is asked for again (the first was lost). */
const REVOKE_RETRY_MS = 3000;

/** `checkpointed`: the lease had a checkpoint, which the other members must now forget too. */
export type Renewal = { ttl: number; checkpointed?: true } | { notFound: true } | { notPrimary: true };

export class LeaseClock {
  private readonly leases = new Map<number, Lease>();
  private primary = false;

  constructor(records: LeaseRecord[] = []) {
    this.reload(records);
  }

  get isPrimary(): boolean { return this.primary; }

  /** All leases from the store (at start, after a snapshot); clocks restart if primary. */
  reload(records: LeaseRecord[], now = 0): void {
    this.leases.clear();
    for (const r of records) this.leases.set(r.id, { ...r, expiry: Infinity });
    if (this.primary) this.promote(now, 0);
  }

  applied(changes: LeaseChange[], now: number): void {
    for (const c of changes) {
      if (c.t === 'granted') this.leases.set(c.id, { id: c.id, ttl: c.ttl, remaining: 0, expiry: this.primary ? now + c.ttl * 1000 : Infinity });
      else if (c.t === 'revoked') this.leases.delete(c.id);
      else {
        const l = this.leases.get(c.id);
        if (l) l.remaining = c.remaining;
      }
    }
  }

  /** This member became the leader: every lease's clock starts, `extendMs` later than its TTL. */
  promote(now: number, extendMs: number): void {
    this.primary = true;
    for (const l of this.leases.values()) {
      l.expiry = now + (l.remaining > 0 ? l.remaining : l.ttl) * 1000 + extendMs;
      l.revokeAskedAt = undefined;
    }
  }

  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiry = Infinity;
  }

  renew(id: number, now: number): Renewal {
    if (!this.primary) return { notPrimary: true };
    const l = this.leases.get(id);
    if (!l || l.expiry <= now) return { notFound: true }; // an expired lease is as good as revoked
    l.expiry = now + l.ttl * 1000;
    const checkpointed = l.remaining > 0;
    l.remaining = 0;
    return checkpointed ? { ttl: l.ttl, checkpointed } : { ttl: l.ttl };
  }

  /** Whole seconds left, as etcd reports them (-1 once expired); undefined for an unknown lease. */
  timeToLive(id: number, now: number): { ttl: number; grantedTTL: number } | undefined {
    const l = this.leases.get(id);
    if (!l) return undefined;
    const left = l.expiry === Infinity ? l.ttl : Math.floor((l.expiry - now) / 1000);
    return { ttl: left < 0 ? -1 : left, grantedTTL: l.ttl };
  }

  ids(): number[] {
    return [...this.leases.keys()];
  }

  exists(id: number): boolean {
    return this.leases.has(id);
  }

  /** Expired leases whose revoke should be proposed now (each again only after a while). */
  expired(now: number, max: number): number[] {
    const out: number[] = [];
    if (!this.primary) return out;
    for (const l of this.leases.values()) {
      if (out.length >= max) break;
      if (l.expiry > now) continue;
      if (l.revokeAskedAt !== undefined && now - l.revokeAskedAt < REVOKE_RETRY_MS) continue;
      l.revokeAskedAt = now;
      out.push(l.id);
    }
    return out;
  }

  /** Remaining TTLs of the running clocks, to checkpoint through consensus. */
  checkpoints(now: number): { ID: number; remaining_TTL: number }[] {
    if (!this.primary) return [];
    return [...this.leases.values()]
      .filter((l) => l.expiry !== Infinity && l.expiry > now)
      .map((l) => ({ ID: l.id, remaining_TTL: Math.ceil((l.expiry - now) / 1000) }));
  }
}
