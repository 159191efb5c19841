// Adapts promise-returning handlers to @grpc/grpc-js, answering failures with etcd's status.
import type * as grpc from '@grpc/grpc-js';
import { toServiceError } from '../protocol/errors.js';

export function unary<Req>(handler: (req: Req, call: grpc.ServerUnaryCall<Req, unknown>) => Promise<unknown>): grpc.handleUnaryCall<Req, unknown> {
  return (call, callback) => {
    handler(call.request, call).then(
      (res) => callback(null, res),
      (err) => callback(toServiceError(err)),
    );
  };
}
