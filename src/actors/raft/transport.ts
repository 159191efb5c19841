// Peer transport of the raft actor: one persistent outbound TCP connection per peer carrying
// framed batches of raft messages (each member dials every other, so a connection carries
// one direction). Every connection opens with a hello that names the cluster and both
// members; a wrong cluster or member is refused and logged. Snapshots travel on their own
// short-lived connection so that a large transfer never delays heartbeats. Connections are
// re-dialled with exponential backoff; messages for an unreachable peer are dropped, which
// raft tolerates. On https peer URLs every connection is TLS: a peer whose certificate the
// trusted CA did not sign fails the handshake, and the refusal is logged.
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { FrameReader, MAX_FRAME_BYTES, frame } from './frames.js';
import { fsyncPath } from '../fsync.js';
import { dialOptions, handshakeFailure, listenOptions, requireMaterial, type TlsMaterial } from '../../server/transport-security.js';
import { peerAddressMismatch } from '../../server/peer-address.js';
import type { Message, SnapshotMeta } from './types.js';

/** `urls`: the sender's peer URLs, so that a member that has not yet applied its addition can answer it. */
type Hello = { cluster: number; from: number; to: number; urls: string[] };
type Inbound =
  | { hello: Hello }
  | { join: { peerURLs: string[] } }
  | { snapshot: Hello & { message: Message; size: number } };
type Reply = { ok: true } | { error: string } | { members: PeerInfo[]; cluster: number };

export interface PeerInfo { id: number; peerURLs: string[] }

export interface TransportEvents {
  messages(batch: Message[]): void;
  /** A received snapshot, stored in `file`; resolve once installed. */
  snapshot(message: Message, file: string): Promise<void>;
  /** The cluster's members, for a member that joins with --initial-cluster-state existing. */
  members(): PeerInfo[];
  /** Whether `id` was removed from the cluster: its connections are refused. */
  removed(id: number): boolean;
  /** A member connected that this one does not know yet (it has not applied its addition). */
  discovered(peer: PeerInfo): void;
  log(level: 'info' | 'warn' | 'debug', fields: Record<string, unknown>, msg: string): void;
}

const MAX_BACKOFF_MS = 2000;
const HANDSHAKE_TIMEOUT_MS = 2000;
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** A hello or a snapshot's header: a few hundred bytes. */
const MAX_FIRST_FRAME_BYTES = 64 * 1024;

class Outbound {
  private socket?: net.Socket;
  ready = false;
  private backoffMs = 50;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly t: PeerTransport, readonly peer: PeerInfo) {
    this.dial();
  }

  private dial(): void {
    if (this.closed) return;
    const hello: Inbound = { hello: { cluster: this.t.clusterId, from: this.t.id, to: this.peer.id, urls: this.t.urls } };
    const socket = dial(new URL(this.peer.peerURLs[0]!), this.t.tls, () => socket.write(frame(hello)));
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader();
    // A peer that accepts but never answers the hello (e.g. behind a broken link) is dialled again.
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy());
    socket.on('data', (chunk) => {
      try {
        reader.push(chunk, (value) => {
          const reply = value as Reply;
          if ('ok' in reply) {
            socket.setTimeout(0);
            this.ready = true;
            this.backoffMs = 50;
            this.t.events.log('info', { 'remote-peer-id': hex(this.peer.id) }, 'established a connection to peer');
          } else if ('error' in reply) {
            this.t.events.log('warn', { 'remote-peer-id': hex(this.peer.id), error: reply.error }, 'peer refused the connection');
            socket.destroy();
          }
        });
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.ready) this.t.events.log('warn', { 'remote-peer-id': hex(this.peer.id) }, 'lost the connection to peer');
      this.ready = false;
      this.socket = undefined;
      if (this.closed) return;
      this.timer = setTimeout(() => this.dial(), this.backoffMs);
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    });
  }

  send(batch: Message[]): void {
    const s = this.socket;
    if (!s || !this.ready || s.writableLength > MAX_QUEUED_BYTES) return;
    s.write(frame(batch));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}

export class PeerTransport {
  private readonly servers: net.Server[] = [];
  private readonly outbound = new Map<number, Outbound>();
  private readonly inbound = new Set<net.Socket>();

  constructor(
    readonly id: number,
    readonly urls: string[],
    readonly clusterId: number,
    readonly snapDir: string,
    readonly events: TransportEvents,
    readonly tls?: TlsMaterial,
  ) {}

  async listen(urls: URL[]): Promise<void> {
    for (const url of urls) {
      const material = requireMaterial(url, this.tls, '--peer-cert-file, --peer-key-file');
      const server = material ? tls.createServer(listenOptions(material), (socket) => this.acceptSecure(socket)) : net.createServer((socket) => this.accept(socket));
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.events.log('warn', { error: handshakeFailure(err, socket) }, 'refused a peer connection');
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      this.servers.push(server);
    }
  }

  /** Dials every peer in `peers` (not this member) and drops connections to the others. */
  setPeers(peers: PeerInfo[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.id && p.peerURLs.length).map((p) => [p.id, p]));
    for (const [id, out] of this.outbound) {
      const p = wanted.get(id);
      if (!p || p.peerURLs.join() !== out.peer.peerURLs.join()) {
        out.close();
        this.outbound.delete(id);
      }
    }
    for (const [id, p] of wanted) if (!this.outbound.has(id)) this.outbound.set(id, new Outbound(this, p));
  }

  /** Peers with an established outbound connection. */
  connected(): number[] {
    return [...this.outbound.values()].filter((o) => o.ready).map((o) => o.peer.id);
  }

  send(messages: Message[]): void {
    const byPeer = new Map<number, Message[]>();
    for (const m of messages) {
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, batch] of byPeer) this.outbound.get(to)?.send(batch);
  }

  /** Streams the state machine file to a peer on a connection of its own; resolves when installed there. */
  sendSnapshot(message: Message & { snapshot: SnapshotMeta }, file: string): Promise<void> {
    const peer = this.outbound.get(message.to)?.peer;
    if (!peer) return Promise.reject(new Error('unknown peer'));
    const size = fs.statSync(file).size;
    const header: Inbound = { snapshot: { cluster: this.clusterId, from: this.id, to: peer.id, urls: this.urls, message, size } };
    return exchange(new URL(peer.peerURLs[0]!), this.tls, header, (socket) => fs.createReadStream(file).pipe(socket, { end: false })).then((reply) => {
      if (!('ok' in reply)) throw new Error('error' in reply ? reply.error : 'unexpected reply');
    });
  }

  /** A TLS peer is accepted once its certificate allows the address it connects from. */
  private acceptSecure(socket: tls.TLSSocket): void {
    socket.on('error', () => {});
    void peerAddressMismatch(socket).then((mismatch) => {
      if (!mismatch) return this.accept(socket);
      this.events.log('warn', { 'remote-addr': socket.remoteAddress, error: mismatch }, 'refused a peer connection');
      socket.destroy();
    });
  }

  private accept(socket: net.Socket): void {
    this.inbound.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.inbound.delete(socket));
    socket.on('error', () => {});
    // Until it has said who it is, a connection gets a little time and room for its first frame.
    const reader = new FrameReader(MAX_FIRST_FRAME_BYTES);
    socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy());
    let peer = 0;
    const onData = (chunk: Buffer) => {
      try {
        reader.push(chunk, (value) => {
          if (peer) return this.events.messages(value as Message[]);
          const first = value as Inbound;
          if ('join' in first) {
            socket.end(frame({ members: this.events.members(), cluster: this.clusterId } satisfies Reply));
            return;
          }
          const hello = 'hello' in first ? first.hello : 'snapshot' in first ? first.snapshot : undefined;
          const refusal = this.check(hello);
          if (refusal) {
            this.events.log('warn', { 'remote-peer-id': hello ? hex(hello.from) : 'unknown', error: refusal }, 'refused a peer connection');
            socket.end(frame({ error: refusal } satisfies Reply));
            return;
          }
          socket.setTimeout(0);
          if ('snapshot' in first) {
            socket.off('data', onData);
            this.receiveSnapshot(socket, first.snapshot, reader).catch(() => socket.destroy());
            return;
          }
          peer = hello!.from;
          reader.maxBytes = MAX_FRAME_BYTES;
          socket.write(frame({ ok: true } satisfies Reply));
        });
      } catch {
        socket.destroy();
      }
    };
    socket.on('data', onData);
  }

  private check(hello: Hello | undefined): string | undefined {
    if (!wellFormed(hello)) return 'unexpected first frame';
    if (hello.cluster !== this.clusterId) return 'cluster ID mismatch';
    if (hello.to !== this.id) return 'member ID mismatch';
    if (this.events.removed(hello.from)) return 'the member has been permanently removed from the cluster';
    this.events.discovered({ id: hello.from, peerURLs: hello.urls });
    return undefined;
  }

  private async receiveSnapshot(socket: net.Socket, req: Hello & { message: Message; size: number }, reader: FrameReader): Promise<void> {
    fs.mkdirSync(this.snapDir, { recursive: true });
    const file = `${this.snapDir}/${req.message.snapshot!.index.toString(16).padStart(16, '0')}.snap.tmp`;
    const out = fs.createWriteStream(file);
    // Bytes that arrived with the header frame belong to the file.
    const rest = reader.drain();
    let received = 0;
    const write = (chunk: Buffer) => {
      const take = chunk.subarray(0, req.size - received);
      received += take.length;
      out.write(take);
      if (received === req.size) {
        socket.off('data', write);
        out.end();
      }
    };
    if (rest.length) write(rest);
    if (received < req.size) socket.on('data', write);
    try {
      await new Promise<void>((resolve, reject) => {
        out.on('finish', resolve);
        out.on('error', reject);
        socket.on('close', () => received < req.size && reject(new Error('snapshot truncated')));
      });
      fsyncPath(file);
      await this.events.snapshot(req.message, file);
      socket.end(frame({ ok: true } satisfies Reply));
    } catch (err) {
      this.events.log('warn', { 'remote-peer-id': hex(req.from), error: (err as Error).message }, 'failed to receive a snapshot');
      socket.end(frame({ error: (err as Error).message } satisfies Reply));
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  close(): void {
    for (const out of this.outbound.values()) out.close();
    this.outbound.clear();
    for (const s of this.inbound) s.destroy();
    for (const server of this.servers) server.close();
  }
}

/** Asks the members at `urls` for the cluster's membership (to join with --initial-cluster-state existing). */
export async function fetchMembers(urls: string[], peerURLs: string[], material?: TlsMaterial): Promise<{ members: PeerInfo[]; cluster: number }> {
  let lastError: Error = new Error('no peer URLs to ask');
  for (const u of urls) {
    try {
      const reply = await exchange(new URL(u), material, { join: { peerURLs } }, undefined, 2000);
      if ('members' in reply) return reply;
      lastError = new Error('unexpected reply');
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError;
}

/** A one-off connection to a peer: the first frame (then `body`, if any), and the one reply frame. */
function exchange(url: URL, material: TlsMaterial | undefined, first: Inbound, body?: (socket: net.Socket) => void, timeoutMs?: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = dial(url, material, () => {
      socket.write(frame(first));
      body?.(socket);
    });
    const reader = new FrameReader();
    if (timeoutMs) socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk) => {
      try {
        reader.push(chunk, (value) => {
          resolve(value as Reply);
          socket.destroy();
        });
      } catch (err) {
        reject(err as Error);
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed')));
  });
}

/** Connects to a peer URL, over TLS for https; `connected` runs once frames may be written. */
function dial(url: URL, material: TlsMaterial | undefined, connected: () => void): net.Socket {
  const target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
  if (url.protocol !== 'https:') return net.connect(target, connected);
  return tls.connect({ ...target, ...(material ? dialOptions(material) : {}) }, connected);
}

const hex = (id: number) => id.toString(16);

/** A hello (or a snapshot's header) as a member sends it: IDs, URLs that parse, and a snapshot's index and size. */
function wellFormed(hello: unknown): hello is Hello {
  const h = hello as Partial<Hello & { message: Message; size: number }> | undefined;
  if (typeof h !== 'object' || !h || typeof h.cluster !== 'number' || typeof h.from !== 'number' || typeof h.to !== 'number') return false;
  if (!Array.isArray(h.urls) || !h.urls.every((u) => typeof u === 'string' && URL.canParse(u))) return false;
  if ('message' in h || 'size' in h) return Number.isSafeInteger(h.size) && h.size! >= 0 && typeof h.message?.snapshot?.index === 'number';
  return true;
}
