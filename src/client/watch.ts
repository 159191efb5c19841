// A Watch stream on kvd's shipped protos: create and cancel watchers, ask for progress, and
// receive every WatchResponse as decoded. Many watchers share one stream, as in etcd's clients.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Client } from './client.js';

type Req = Record<string, any>;

export interface WatchStream {
  create(req: Req): void;
  cancel(watchId: number): void;
  requestProgress(): void;
  /** Stops reading responses (the server sees a slow client) until resume(). */
  pause(): void;
  resume(): void;
  /** Every response in arrival order; 'error' and 'end' as the call's. */
  readonly events: EventEmitter;
  close(): void;
}

export function openWatch(client: Client, metadata = new grpc.Metadata()): WatchStream {
  const raw = client.raw('etcdserverpb.Watch') as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<Req, Req> };
  const call = raw.Watch(metadata);
  const events = new EventEmitter();
  call.on('data', (res: Req) => events.emit('response', res));
  call.on('error', (err: Error) => {
    // A stream closed by close() ends with CANCELLED: that is not a failure.
    if ((err as grpc.ServiceError).code !== grpc.status.CANCELLED) events.emit('error', err);
  });
  call.on('end', () => events.emit('end'));
  return {
    create: (req) => call.write({ create_request: req }),
    cancel: (watch_id) => call.write({ cancel_request: { watch_id } }),
    requestProgress: () => call.write({ progress_request: {} }),
    pause: () => call.pause(),
    resume: () => call.resume(),
    events,
    close: () => call.cancel(),
  };
}
