// What a learner serves, as etcd 3.4's: its own status and serializable reads. Every other call,
// streams included, gets "rpc not supported for learner": a learner votes in nothing, and what
// it has applied may lag the cluster.
import type * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { Errors, toServiceError } from '../protocol/errors.js';
import { failStream } from './unary.js';

const servedByLearner = (path: string, req: Record<string, any>) =>
  path === '/etcdserverpb.Maintenance/Status' || (path === '/etcdserverpb.KV/Range' && !!req.serializable);

export function learnerGate(member: Member, service: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const gated: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const method = service[name]!;
    if (method.requestStream || method.responseStream) {
      const stream = handler as (call: grpc.ServerWritableStream<any, unknown>) => void;
      gated[name] = (call: grpc.ServerWritableStream<any, unknown>) => (member.isLearner() ? failStream(call, Errors.notSupportedForLearner) : stream(call));
    } else {
      const unary = handler as grpc.handleUnaryCall<any, unknown>;
      gated[name] = ((call, callback) => {
        if (member.isLearner() && !servedByLearner(method.path, call.request)) callback(toServiceError(Errors.notSupportedForLearner));
        else unary(call, callback);
      }) as grpc.handleUnaryCall<any, unknown>;
    }
  }
  return gated;
}
