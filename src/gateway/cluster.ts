// The Cluster service: membership changes go through raft as ConfChange entries and answer
// with the membership after they are applied; the checks and errors are etcd's, including
// --strict-reconfig-check's: enough started (published) voters for the new quorum, and this
// member connected to every voter (to add one) or, without the one removed, to a quorum of
// them (to remove a running one).
import * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import type { MemberRecord } from '../actors/mvcc/members.js';
import { serviceDefinition } from '../protocol/codec.js';
import { Errors } from '../protocol/errors.js';
import { memberIdOf } from '../server/identity.js';
import { unary } from './unary.js';
import { requireAdmin } from './auth-info.js';
import { forwardToLeader } from './forward.js';

type Req = Record<string, any>;

export const CLUSTER_SERVICE = serviceDefinition('etcdserverpb.Cluster');

/** etcd allows one learner at a time. */
const MAX_LEARNERS = 1;
/** etcd's HealthInterval: a peer counts as active once connected this long. */
const HEALTH_INTERVAL_MS = 5000;

const quorum = (voters: number) => Math.floor(voters / 2) + 1;

const wire = (m: MemberRecord) => ({ ID: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner });

function validPeerURLs(urls: unknown): string[] {
  if (!Array.isArray(urls) || !urls.length) throw Errors.memberBadURLs;
  for (const u of urls) {
    try {
      const url = new URL(String(u));
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port) throw new Error();
    } catch {
      throw Errors.memberBadURLs;
    }
  }
  return urls.map(String);
}

export function clusterHandlers(member: Member): grpc.UntypedServiceImplementation {
  const header = () => member.header(0); // etcd's membership answers carry no revision
  const members = () => member.members.map(wire);
  const find = (id: number) => member.members.find((m) => m.id === id);

  type RaftStatus = Awaited<ReturnType<Member['raftStatus']>>;
  /** This member and the peers it has been connected to for the last HEALTH_INTERVAL_MS, as etcd counts active members. */
  const active = (status: RaftStatus) => {
    const cutoff = Date.now() - HEALTH_INTERVAL_MS;
    return new Set([member.id, ...status.linkedSince.filter(([, since]) => since <= cutoff).map(([id]) => id)]);
  };

  return {
    MemberList: unary(async () => ({ header: header(), members: members() })),

    MemberAdd: unary<Req>(async (req, call) => {
      await requireAdmin(member, call);
      const peerURLs = validPeerURLs(req.peerURLs);
      const isLearner = !!req.isLearner;
      // etcd checks the cluster's health before the change itself, for a learner too.
      if (member.config.strictReconfigCheck) {
        const voters = member.members.filter((m) => !m.isLearner);
        const started = voters.filter((m) => m.name !== '').length;
        if (!isLearner && started < quorum(voters.length + 1)) throw Errors.memberNotEnoughStarted;
        const up = active(await member.raftStatus());
        if (!voters.every((m) => up.has(m.id))) throw Errors.unhealthy;
      }
      if (member.members.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) throw Errors.peerURLExist;
      if (isLearner && member.members.filter((m) => m.isLearner).length >= MAX_LEARNERS) throw Errors.tooManyLearners;
      const id = memberIdOf(peerURLs, member.config.initialClusterToken, String(Date.now()));
      if (member.membership.removed.includes(id) || find(id)) throw Errors.memberExist;
      await member.changeMembership({ type: isLearner ? 'addLearner' : 'addVoter', id, member: { peerURLs } });
      return { header: header(), member: { ID: id, name: '', peerURLs, clientURLs: [], isLearner }, members: members() };
    }),

    MemberRemove: unary<Req>(async (req, call) => {
      await requireAdmin(member, call);
      const id = Number(req.ID ?? 0);
      const target = find(id);
      if (!target) throw Errors.memberNotFound;
      if (!target.isLearner && member.config.strictReconfigCheck) {
        const voters = member.members.filter((m) => !m.isLearner);
        const remaining = voters.filter((m) => m.id !== id);
        if (remaining.filter((m) => m.name !== '').length < quorum(remaining.length)) throw Errors.memberNotEnoughStarted;
        // A member that is down is not part of the active quorum: removing it is safe.
        const status = await member.raftStatus();
        if (id === member.id || status.connected.includes(id)) {
          const up = active(status);
          if (voters.filter((m) => up.has(m.id)).length - 1 < quorum(voters.length - 1)) throw Errors.unhealthy;
        }
      }
      await member.changeMembership({ type: 'remove', id });
      return { header: header(), members: members() };
    }),

    MemberUpdate: unary<Req>(async (req, call) => {
      await requireAdmin(member, call);
      const id = Number(req.ID ?? 0);
      const peerURLs = validPeerURLs(req.peerURLs);
      if (!find(id)) throw Errors.memberNotFound;
      if (member.members.some((m) => m.id !== id && m.peerURLs.some((u) => peerURLs.includes(u)))) throw Errors.peerURLExist;
      await member.changeMembership({ type: 'update', id, member: { peerURLs } });
      return { header: header(), members: members() };
    }),

    // Only the leader knows how far a learner has caught up: a follower forwards the call.
    MemberPromote: unary<Req>(async (req, call) => {
      await requireAdmin(member, call);
      const id = Number(req.ID ?? 0);
      const target = find(id);
      if (!target) throw Errors.memberNotFound;
      if (!target.isLearner) throw Errors.memberNotLearner;
      const status = await member.raftStatus();
      if (status.role !== 'leader') return forwardToLeader(member, 'etcdserverpb.Cluster', 'MemberPromote', req, call);
      if (!status.readyLearners.includes(id)) throw Errors.learnerNotReady;
      await member.changeMembership({ type: 'promote', id });
      return { header: header(), members: members() };
    }),
  };
}
