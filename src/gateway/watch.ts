// The Watch service: each bidirectional stream's requests go to the watch actor, and the
// WatchResponses it encodes are written to the stream as they are. The gateway acknowledges
// the bytes the client has taken, which is how the actor knows a stream is slow.
import type * as grpc from '@grpc/grpc-js';
import type { MessagePort } from 'node:worker_threads';
import { serviceDefinition } from '../protocol/codec.js';
import { send, receive } from '../actors/channel.js';
import type { WatchOutput, WatchRequestItem, WatchRequests } from '../actors/watch/messages.js';

export const WATCH_SERVICE = serviceDefinition('etcdserverpb.Watch');

type Req = Record<string, any>;
type WatchCall = grpc.ServerDuplexStream<Req, unknown>;

export class WatchStreams {
  private readonly calls = new Map<number, WatchCall>();
  private nextStream = 1;
  private batch: WatchRequestItem[] = [];
  private readonly acks = new Map<number, number>();

  constructor(private readonly port: MessagePort) {
    receive<WatchOutput>(port, (m) => this.write(m));
  }

  handlers(): grpc.UntypedServiceImplementation {
    return { Watch: (call: WatchCall) => this.open(call) };
  }

  /** Ends every open stream (at shutdown): a watch never finishes by itself. */
  endAll(): void {
    for (const call of this.calls.values()) call.end();
  }

  private open(call: WatchCall): void {
    const s = this.nextStream++;
    this.calls.set(s, call);
    call.on('data', (req: Req) => {
      if (req.create_request) this.queue({ t: 'create', s, req: req.create_request });
      else if (req.cancel_request) this.queue({ t: 'cancel', s, id: Number(req.cancel_request.watch_id ?? 0) });
      else if (req.progress_request) this.queue({ t: 'progress', s });
    });
    // As etcd, a client that half-closes keeps receiving events until it cancels the call.
    const close = () => {
      if (!this.calls.delete(s)) return;
      this.queue({ t: 'close', s });
    };
    call.on('cancelled', close);
    call.on('error', close);
    call.on('close', close);
  }

  private queue(item: WatchRequestItem): void {
    if (!this.batch.length && !this.acks.size) setImmediate(() => this.flush());
    this.batch.push(item);
  }

  private flush(): void {
    const items = this.batch;
    this.batch = [];
    for (const [s, bytes] of this.acks) items.push({ t: 'ack', s, bytes });
    this.acks.clear();
    if (items.length) send(this.port, { items } satisfies WatchRequests);
  }

  private write(m: WatchOutput): void {
    for (const { s, responses } of m.streams) {
      const call = this.calls.get(s);
      if (!call) continue;
      for (const bytes of responses) call.write(bytes, () => this.acknowledge(s, bytes.length));
    }
  }

  private acknowledge(s: number, bytes: number): void {
    if (!this.batch.length && !this.acks.size) setImmediate(() => this.flush());
    this.acks.set(s, (this.acks.get(s) ?? 0) + bytes);
  }
}
