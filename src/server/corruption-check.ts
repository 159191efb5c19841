// Corruption checks as etcd's: members holding different data at the same revision (with the
// same compaction) have diverged. At start (--experimental-initial-corrupt-check) a member that
// disagrees with a peer refuses to serve; periodically (--experimental-corrupt-check-time) the
// leader compares every member's HashKV at its revision and raises the CORRUPT alarm on a
// mismatch, which stops the cluster from applying anything until an operator looks.
import { CORRUPT } from '../actors/mvcc/store.js';
import type { Member } from './member.js';

interface PeerHash { id: number; hash: number; compactRevision: number }

/** The other members' HashKV at `revision` (those that answer and have reached it). */
async function peerHashes(member: Member, revision: number): Promise<PeerHash[]> {
  const peers = member.members.filter((m) => m.id !== member.id && m.clientURLs.length && !m.isLearner);
  const answers = await Promise.all(peers.map(async (p) => {
    const client = member.connectTo(p.clientURLs[0]!);
    try {
      const r = await client.maintenance.HashKV!({ revision }, { deadlineMs: 5000 });
      return { id: p.id, hash: Number(r.hash), compactRevision: Number(r.compact_revision ?? 0) };
    } catch (err) {
      member.log.warn({ 'remote-peer-id': p.id.toString(16), error: (err as Error).message }, 'cannot fetch hash from remote peer');
      return undefined;
    } finally {
      client.close();
    }
  }));
  return answers.filter((a): a is PeerHash => !!a);
}

/** Peers whose data differ from this member's at its current revision. */
async function mismatches(member: Member): Promise<{ peer: PeerHash; local: { hash: number; compact_revision: number; hash_revision: number } }[]> {
  const local = await member.mvcc.hashKV(0);
  const peers = await peerHashes(member, local.hash_revision);
  return peers.filter((p) => p.compactRevision === local.compact_revision && p.hash !== local.hash).map((peer) => ({ peer, local }));
}

/** Throws when this member's data differ from a peer's (checked before serving). */
export async function initialCorruptCheck(member: Member): Promise<void> {
  const found = await mismatches(member);
  for (const { peer, local } of found) {
    member.log.error({ 'local-member-id': member.id.toString(16), 'local-member-hash': local.hash, 'remote-peer-id': peer.id.toString(16), 'remote-peer-hash': peer.hash, revision: local.hash_revision, 'compact-revision': local.compact_revision }, 'found data inconsistency with peers');
  }
  if (found.length) throw new Error(`found data inconsistency with peers (member ${member.id.toString(16)})`);
  member.log.info({ 'local-member-id': member.id.toString(16) }, 'initial corruption checking passed; no corruption was found');
}

/** The leader's periodic check; returns a function that stops it. */
export function startCorruptCheck(member: Member, everyMs: number): () => void {
  let running = false;
  const timer = setInterval(async () => {
    if (running || member.board.get('leader') !== member.id || member.alarms.some((a) => a.alarm === CORRUPT)) return;
    running = true;
    try {
      const found = await mismatches(member);
      for (const { peer, local } of found) {
        member.log.warn({ revision: local.hash_revision, 'compact-revision': local.compact_revision, 'local-member-hash': local.hash, 'remote-peer-id': peer.id.toString(16), 'remote-peer-hash': peer.hash }, 'found hash mismatch');
      }
      // As etcd: which side is corrupt is not known, so the alarm names no member.
      if (found.length) await member.propose({ type: 'alarm', req: { action: 1, memberID: 0, alarm: CORRUPT } });
    } catch (err) {
      member.log.warn({ error: (err as Error).message }, 'corruption check failed');
    } finally {
      running = false;
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
