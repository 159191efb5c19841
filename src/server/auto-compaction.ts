// Runs the auto-compactor (--auto-compaction-mode, --auto-compaction-retention) on the leader,
// as etcd: revisions are sampled on every member, compactions are proposed by the leader.
import { AutoCompactor, type CompactionPolicy } from '../actors/compactor/core.js';
import { Errors, EtcdError } from '../protocol/errors.js';
import type { Member } from './member.js';

export function startAutoCompaction(member: Member, policy: CompactionPolicy): () => void {
  const compactor = new AutoCompactor(policy, Date.now());
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const rev = compactor.step(Date.now(), member.board.get('revision'));
    if (rev === undefined || member.board.get('leader') !== member.id) return;
    busy = true;
    const started = Date.now();
    member.log.info({ revision: rev, ...describe(policy) }, 'starting auto compaction');
    member.propose({ type: 'compact', req: { revision: rev } }).then(
      () => {
        compactor.compacted(rev, Date.now());
        member.log.info({ revision: rev, took: `${Date.now() - started}ms` }, 'completed auto compaction');
      },
      (err: Error) => {
        if (err instanceof EtcdError && err.message === Errors.compacted.message) compactor.compacted(rev, Date.now());
        else member.log.warn({ revision: rev, error: err.message }, 'failed auto compaction');
      },
    ).finally(() => (busy = false));
  }, compactor.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const describe = (p: CompactionPolicy) =>
  p.mode === 'periodic' ? { 'compact-period': `${p.retentionMs}ms` } : { 'revision-compaction-retention': p.retention };
