// The Watch service: each bidirectional stream's requests go to the watch actor, and the
// WatchResponses it encodes are written to the stream as they are. The gateway acknowledges
// the bytes the client has taken, which is how the actor knows a stream is slow.
import type * as grpc from '@grpc/grpc-js';
import type { MessagePort } from 'node:worker_threads';
import { serviceDefinition } from '../protocol/codec.js';
import { FRAME_PREFIX_BYTES, joinFrames, payloadBytes, splitFrames } from '../protocol/grpc-frames.js';
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

/**
 * Writes a stream's responses, in order, given as joined gRPC frames holding `count` of them;
 * `written` gets their size (without the frames' prefixes) once they reached the socket.
 */
type Send = (frames: Uint8Array, count: number, written: (bytes: number) => void) => void;

/**
 * How responses are written. The stream object of @grpc/grpc-js hands its call one message at a
 * time, each after the previous one reached the socket: one message per event-loop turn, which
 * caps a stream with many watchers. Underneath, its call (the server-interceptor interface)
 * takes many at once, and under that the HTTP/2 stream takes them framed and joined in one
 * write, which saves a write and its callbacks per response when a revision reaches many
 * watchers. Where these are not found (another grpc-js), the stream object is used.
 */
function sender(call: WatchCall): Send {
  return directSender(call) ?? ((frames, _count, written) => {
    for (const bytes of splitFrames(frames)) call.write(bytes, () => written(bytes.length));
  });
}

interface GrpcServerCall {
  sendMessage(message: unknown, done: () => void): void;
  nextCall?: GrpcServerCall;
  /** The innermost call's own: its HTTP/2 stream, and whether its headers went out. */
  stream?: { write(bytes: Uint8Array, done: () => void): boolean; destroyed: boolean; writableEnded: boolean };
  metadataSent?: boolean;
}

/** The calls under a grpc-js stream object, when this grpc-js has them. */
export function directSender(call: grpc.ServerDuplexStream<any, any>): Send | undefined {
  const top = (call as unknown as { call?: GrpcServerCall }).call;
  if (typeof top?.sendMessage !== 'function') return undefined;
  let base: GrpcServerCall | undefined = top;
  while (base && !base.stream) base = base.nextCall;
  const stream = base?.stream;
  const raw = stream && typeof stream.write === 'function' && typeof base!.metadataSent === 'boolean' ? base : undefined;
  return (frames, count, written) => {
    let rest = frames;
    // The headers go out with the first message through the interceptors.
    if (!raw?.metadataSent) {
      let at = 0;
      for (const bytes of splitFrames(frames)) {
        if (raw?.metadataSent) break;
        top.sendMessage(bytes, () => written(bytes.length));
        at += FRAME_PREFIX_BYTES + bytes.length;
        count--;
      }
      if (at === frames.length) return;
      rest = frames.subarray(at);
    }
    if (stream!.destroyed || stream!.writableEnded) return;
    stream!.write(rest, () => written(payloadBytes(rest, count)));
  };
}

export class WatchStreams {
  private readonly calls = new Map<number, { call: WatchCall; send: Send }>();
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
    for (const { call } of this.calls.values()) call.end();
  }

  private open(call: WatchCall): void {
    const s = this.nextStream++;
    const send = sender(call);
    this.calls.set(s, { call, send });
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
        send(joinFrames([this.permission.refusal(err)]), 1, () => undefined);
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
    for (const { s, frames, count } of m.streams) {
      this.calls.get(s)?.send(frames, count, (bytes) => this.acknowledge(s, bytes));
    }
  }

  private acknowledge(s: number, bytes: number): void {
    if (!this.acks.size) setTimeout(() => this.flush(), ACK_DELAY_MS);
    this.acks.set(s, (this.acks.get(s) ?? 0) + bytes);
  }
}
