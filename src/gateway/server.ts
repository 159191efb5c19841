// The client listener: @grpc/grpc-js serving kvd's services on every --listen-client-urls, and
// HTTP/1.1 on the same port. Connections are accepted here: gRPC ones are handed to grpc-js
// through the authority front, others to the HTTP server.
import net from 'node:net';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { AuthorityFront } from './authority-front.js';
import type { Member } from '../server/member.js';
import { KV_SERVICE, kvHandlers } from './kv.js';
import { MAINTENANCE_SERVICE, maintenanceHandlers } from './maintenance.js';
import { CLUSTER_SERVICE, clusterHandlers } from './cluster.js';
import { WATCH_SERVICE, WatchStreams } from './watch.js';
import { LEASE_SERVICE, leaseHandlers } from './lease.js';
import { AUTH_SERVICE, authHandlers } from './auth.js';
import { watchPermission } from './watch-permission.js';
import { LOCK_SERVICE, lockHandlers } from './lock.js';
import { ELECTION_SERVICE, electionHandlers } from './election.js';
import { connect, type Client } from '../client/client.js';
import { JsonGateway } from './json-gateway.js';
import type { Metrics } from '../server/metrics.js';
import { GRPC_OVERHEAD_BYTES } from '../server/config.js';


/**
 * One port for gRPC and HTTP/1.1, as etcd: a connection that starts with the HTTP/2 preface
 * goes to gRPC, any other to the HTTP server (JSON gateway, /health, /version, /metrics).
 */
function routeConnection(socket: net.Socket, route: (http2: boolean) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < PREFACE_START.length && PREFACE_START.subarray(0, head.length).equals(head)) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(head);
    route(head.subarray(0, PREFACE_START.length).equals(PREFACE_START));
    socket.resume();
  };
  socket.on('data', onData);
}

const PREFACE_START = Buffer.from('PRI ');

const MAX_SELF_CLIENTS = 64;

export class Gateway {
  private readonly server: grpc.Server;
  private readonly listeners: net.Server[] = [];
  private readonly watches: WatchStreams;
  private readonly http: http.Server;
  private readonly json: JsonGateway;
  private bound: string[] = [];
  /** Clients of this member itself, for the services etcd also builds on its own client: one per caller's token. */
  private readonly selfClients = new Map<string, Client>();
  private readonly self = (metadata: grpc.Metadata): Client => {
    const token = String(metadata.get('token')[0] ?? metadata.get('authorization')[0] ?? '');
    let client = this.selfClients.get(token);
    if (!client) {
      // Tokens expire: the oldest tokened client goes once there are many.
      if (this.selfClients.size >= MAX_SELF_CLIENTS) {
        const oldest = [...this.selfClients.keys()].find((t) => t !== '');
        if (oldest !== undefined) {
          this.selfClients.get(oldest)!.close();
          this.selfClients.delete(oldest);
        }
      }
      client = connect(new URL(this.bound[0]!).host);
      if (token) client.setToken(token);
      this.selfClients.set(token, client);
    }
    return client;
  };

  constructor(private readonly member: Member, metrics: Metrics) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      'grpc.keepalive_permit_without_calls': 1,
      interceptors: [metrics.grpcInterceptor],
    });
    this.server.addService(KV_SERVICE, kvHandlers(member));
    this.server.addService(MAINTENANCE_SERVICE, maintenanceHandlers(member));
    this.server.addService(CLUSTER_SERVICE, clusterHandlers(member));
    this.server.addService(LEASE_SERVICE, leaseHandlers(member));
    this.server.addService(AUTH_SERVICE, authHandlers(member));
    this.server.addService(LOCK_SERVICE, lockHandlers(this.self));
    this.server.addService(ELECTION_SERVICE, electionHandlers(this.self));
    this.watches = new WatchStreams(member.watchPort, watchPermission(member));
    this.server.addService(WATCH_SERVICE, this.watches.handlers());
    this.json = new JsonGateway(member, metrics, () => new URL(this.bound[0]!).host);
    this.http = http.createServer((req, res) => this.json.handle(req, res));
  }

  async listen(): Promise<string[]> {
    const bound: string[] = [];
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    for (const url of this.member.config.listenClientUrls) {
      if (url.protocol !== 'http:') throw new Error(`kvd: ${url.href}: TLS client URLs are not supported yet`);
      const listener = net.createServer((socket) => {
        socket.setNoDelay(true);
        routeConnection(socket, (http2) => {
          if (http2) injector.injectConnection(new AuthorityFront(socket));
          else this.http.emit('connection', socket);
        });
      });
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      this.listeners.push(listener);
      bound.push(`${url.protocol}//${url.hostname}:${(listener.address() as net.AddressInfo).port}`);
    }
    this.bound = bound;
    return bound;
  }

  /** Stops accepting calls and waits for the ones in flight (bounded), then closes. */
  async close(graceMs = 5000): Promise<void> {
    for (const l of this.listeners) l.close();
    this.watches.endAll();
    this.selfClients.forEach((c) => c.close());
    this.json.close();
    this.http.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
