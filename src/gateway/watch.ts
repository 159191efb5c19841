// The Watch service: each bidirectional stream's requests go to the watch actor, and the
// WatchResponses it encodes are written to the stream as they are. The gateway acknowledges
// the bytes the client has taken, which is how the actor knows a stream is slow.
import type * as grpc from '@grpc/grpc-js';
import type { MessagePort } from 'node:worker_threads';
import { serviceDefinition } from '../protocol/codec.js';
import { send, receive } from '../actors/channel.js';
import type { WatchOutput, WatchRequestItem, WatchRequests } from '../actors/watch/messages.js';
import type { Caller } from './auth-info.js';

/** Who may watch what: a create request is checked first when auth is on or the call carries credentials. */
export interface WatchPermission {
  required(call: Caller): boolean;
  /** Throws etcd's error when the stream's user may not read the watched range. */
  check(call: Caller, create: Req): Promise<void>;
  /** A refused create's answer: canceled, with the reason. */
  refusal(err: unknown): Uint8Array;
}

export const WATCH_SERVICE = serviceDefinition('etcdserverpb.Watch');

type Req = Record<string, any>;

const ACK_DELAY_MS = 5;
type WatchCall = grpc.ServerDuplexStream<Req, unknown>;

type Send = (bytes: Uint8Array, written: () => void) => void;

/**
 * How responses are written. The stream object of @grpc/grpc-js hands its call one message at a
 * time, each after the previous one reached the socket: one message per event-loop turn, which
 * caps a stream with many watchers. Its call underneath (the server-interceptor interface) takes
 * many at once, and HTTP/2 then writes them together. Where that call is not found (another
 * grpc-js), the stream object is used.
 */
function sender(call: WatchCall): Send {
  return directSender(call) ?? ((bytes, written) => call.write(bytes, written));
}

/** The call under a grpc-js stream object, when this grpc-js has it. */
export function directSender(call: grpc.ServerDuplexStream<any, any>): Send | undefined {
  const inner = (call as unknown as { call?: { sendMessage?: (message: unknown, done: () => void) => void } }).call;
  if (typeof inner?.sendMessage !== 'function') return undefined;
  return (bytes, written) => inner.sendMessage!(bytes, written);
}

export class WatchStreams {
  private readonly calls = new Map<number, WatchCall>();
  private nextStream = 1;
  private batch: WatchRequestItem[] = [];
  private readonly acks = new Map<number, number>();

  constructor(private readonly port: MessagePort, private readonly permission: WatchPermission) {
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
    const handle = (req: Req) => {
      if (req.create_request) this.queue({ t: 'create', s, req: req.create_request });
      else if (req.cancel_request) this.queue({ t: 'cancel', s, id: Number(req.cancel_request.watch_id ?? 0) });
      else if (req.progress_request) this.queue({ t: 'progress', s });
    };
    // Requests that wait for a permission check hold back the ones after them, to keep their order.
    let checking: Promise<void> | undefined;
    const checked = async (req: Req) => {
      if (!req.create_request) return handle(req);
      try {
        await this.permission.check(call, req.create_request);
        handle(req);
      } catch (err) {
        sender(call)(Buffer.from(this.permission.refusal(err)), () => undefined);
      }
    };
    call.on('data', (req: Req) => {
      if (!checking && !this.permission.required(call)) return handle(req);
      const next: Promise<void> = (checking ?? Promise.resolve()).then(() => checked(req));
      checking = next;
      void next.finally(() => {
        if (checking === next) checking = undefined;
      });
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

  // Requests go to the actor at the end of this event-loop turn; acknowledgements, which only
  // matter to a stream near its buffer limit, ride along or follow within ACK_DELAY_MS.
  private queue(item: WatchRequestItem): void {
    if (!this.batch.length) setImmediate(() => this.flush());
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
      const send = sender(call);
      for (const bytes of responses) send(bytes, () => this.acknowledge(s, bytes.length));
    }
  }

  private acknowledge(s: number, bytes: number): void {
    if (!this.acks.size) setTimeout(() => this.flush(), ACK_DELAY_MS);
    this.acks.set(s, (this.acks.get(s) ?? 0) + bytes);
  }
}
