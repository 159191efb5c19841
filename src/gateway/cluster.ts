// The Cluster service. Membership changes need the multi-member raft; until then they are
// answered as unimplemented rather than pretending to succeed.
import * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { serviceDefinition } from '../protocol/codec.js';
import { unary } from './unary.js';

export const CLUSTER_SERVICE = serviceDefinition('etcdserverpb.Cluster');

export function clusterHandlers(member: Member): grpc.UntypedServiceImplementation {
  const unimplemented = (name: string) => (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: `unknown method ${name} for service etcdserverpb.Cluster` });
  return {
    MemberList: unary(async () => ({
      header: member.header(0), // etcd answers member list with a header that carries no revision
      members: member.members.map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: false })),
    })),
    MemberAdd: unimplemented('MemberAdd'),
    MemberRemove: unimplemented('MemberRemove'),
    MemberUpdate: unimplemented('MemberUpdate'),
    MemberPromote: unimplemented('MemberPromote'),
  };
}
