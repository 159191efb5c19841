// Auto-compaction as etcd's compactors decide it, pure (the caller supplies time and revision):
//  - periodic: keep `retention` of history; every tenth of it (at most 6 min) the current
//    revision is sampled, and once a retention (then every min(retention, 1 h)) has passed the
//    revision sampled a retention ago is compacted;
//  - revision: every 5 minutes, compact to the current revision minus `retention`.
export type CompactionPolicy = { mode: 'periodic'; retentionMs: number } | { mode: 'revision'; retention: number };

const HOUR_MS = 3_600_000;
/** etcd's revision compactor's interval. */
export const REVISION_CHECK_MS = 5 * 60_000;

export class AutoCompactor {
  private readonly samples: number[] = [];
  private lastSuccess: number;
  private waitMs: number;
  private lastCompacted = 0;

  constructor(private readonly policy: CompactionPolicy, now: number) {
    this.lastSuccess = now;
    this.waitMs = policy.mode === 'periodic' ? policy.retentionMs : REVISION_CHECK_MS;
  }

  /** How often step() should run. */
  get intervalMs(): number {
    return this.policy.mode === 'periodic' ? Math.min(this.policy.retentionMs, HOUR_MS) / 10 : REVISION_CHECK_MS;
  }

  /** Called every intervalMs with the current revision: the revision to compact now, if any. */
  step(now: number, currentRev: number): number | undefined {
    if (this.policy.mode === 'revision') {
      const rev = currentRev - this.policy.retention;
      return rev > 0 && rev !== this.lastCompacted ? rev : undefined;
    }
    this.samples.push(currentRev);
    const keep = Math.floor(this.policy.retentionMs / this.intervalMs) + 1;
    if (this.samples.length > keep) this.samples.shift(); // samples[0]: the revision a retention ago
    if (now - this.lastSuccess < this.waitMs) return undefined;
    return this.samples[0];
  }

  /** The compaction of `rev` went through (or was already done). */
  compacted(rev: number, now: number): void {
    this.lastCompacted = rev;
    this.lastSuccess = now;
    if (this.policy.mode === 'periodic') this.waitMs = Math.min(this.policy.retentionMs, HOUR_MS);
  }
}
