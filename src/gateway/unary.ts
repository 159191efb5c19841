// Adapts handlers to @grpc/grpc-js, answering failures with etcd's status.
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

/**
 * Ends a streaming call with etcd's status for `err`. (Destroying the stream would not: grpc-js
 * sends a stream's status when it ends, and a destroyed stream never ends.)
 */
export function failStream(call: grpc.ServerWritableStream<any, unknown> | grpc.ServerDuplexStream<any, unknown>, err: unknown): void {
  const status = toServiceError(err);
  call.emit('error', Object.assign(new Error(status.details), status));
}
