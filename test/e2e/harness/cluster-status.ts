// What a test asks a running member or cluster: its status, the leader they agree on, and a
// bounded wait for a condition.
import { connect } from '../../../src/client/client.js';
import type { Server } from './server.js';

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs a member add until the cluster takes it: etcd, and kvd as etcd, refuse one as "unhealthy
 * cluster" until every voter has been connected for 5 s (--strict-reconfig-check).
 */
export function memberAdd<R extends { stderr: string }>(run: () => Promise<R>): Promise<R> {
  return waitFor('the cluster to take a member', async () => {
    const r = await run();
    return /etcdserver: unhealthy cluster/.test(r.stderr) ? undefined : r;
  });
}

export interface EndpointStatus { endpoint: string; memberId: number; leader: number; raftIndex: number; appliedIndex: number; revision: number }

export async function status(endpoint: string): Promise<EndpointStatus> {
  const c = connect(endpoint);
  try {
    const s = await c.maintenance.Status!({}, { deadlineMs: 2000 });
    return { endpoint, memberId: s.header.member_id, leader: s.leader, raftIndex: s.raftIndex, appliedIndex: s.raftAppliedIndex, revision: s.header.revision };
  } finally {
    c.close();
  }
}

/** The leader all reachable `members` agree on, once they do. */
export function agreedLeader(members: Server[]): Promise<Server> {
  return waitFor('one agreed leader', async () => {
    const all = await Promise.all(members.map((m) => status(m.endpoint)));
    const leader = all[0]!.leader;
    if (!leader || all.some((s) => s.leader !== leader)) return undefined;
    const at = all.findIndex((s) => s.memberId === leader);
    return at >= 0 ? members[at] : undefined;
  });
}
