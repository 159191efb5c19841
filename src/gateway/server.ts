// The client side: @grpc/grpc-js serving kvd's services on every --listen-client-urls, and
// HTTP/1.1 on the same port. Connections are accepted by the client listeners: gRPC ones are
// handed to grpc-js, others to the HTTP server.
import type net from 'node:net';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { listenClientUrl } from './client-listener.js';
import { requireMaterial } from '../server/transport-security.js';
import type { Member } from '../server/member.js';
import { KV_SERVICE, kvHandlers } from './kv.js';
import { MAINTENANCE_SERVICE, maintenanceHandlers } from './maintenance.js';
import { CLUSTER_SERVICE, clusterHandlers } from './cluster.js';
import { WATCH_SERVICE, WatchStreams } from './watch.js';
import { LEASE_SERVICE, leaseHandlers } from './lease.js';
import { AUTH_SERVICE, authHandlers } from './auth.js';
import { watchPermission } from './watch-permission.js';
import { credentialsOf, ON_BEHALF_OF, type Caller } from './auth-info.js';
import { LOCK_SERVICE, lockHandlers } from './lock.js';
import { ELECTION_SERVICE, electionHandlers } from './election.js';
import type { Client } from '../client/client.js';
import { learnerGate } from './learner.js';
import { JsonGateway } from './json-gateway.js';
import type { Metrics } from '../server/metrics.js';
import { GRPC_OVERHEAD_BYTES } from '../server/config.js';


const MAX_SELF_CLIENTS = 64;

export class Gateway {
  private readonly server: grpc.Server;
  private readonly listeners: net.Server[] = [];
  private readonly watches: WatchStreams;
  private readonly http: http.Server;
  private readonly json: JsonGateway;
  private bound: string[] = [];
  /** Clients of this member itself, for the services etcd also builds on its own client: one per client credentials. */
  private readonly selfClients = new Map<string, Client>();
  private readonly self = async (call: Caller): Promise<Client> => {
    const credentials = await credentialsOf(this.member, call);
    const sent = (['token', 'authorization', ON_BEHALF_OF] as const).map((name) => [name, credentials.get(name)[0]?.toString()] as const).filter(([, v]) => v !== undefined);
    const key = JSON.stringify(sent);
    let client = this.selfClients.get(key);
    if (!client) {
      // Tokens expire: the oldest client with credentials goes once there are many.
      if (this.selfClients.size >= MAX_SELF_CLIENTS) {
        const oldest = [...this.selfClients.keys()].find((k) => k !== '[]');
        if (oldest !== undefined) {
          this.selfClients.get(oldest)!.close();
          this.selfClients.delete(oldest);
        }
      }
      client = this.member.connectTo(this.bound[0]!);
      for (const [name, value] of sent) client.setMetadata(name, value);
      this.selfClients.set(key, client);
    }
    return client;
  };

  constructor(private readonly member: Member, metrics: Metrics) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      'grpc.keepalive_permit_without_calls': 1,
      // Channelz's per-call bookkeeping serves a debugging service kvd does not offer.
      'grpc.enable_channelz': 0,
      interceptors: [metrics.grpcInterceptor],
    });
    const serve = (service: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation) => this.server.addService(service, learnerGate(member, service, handlers));
    serve(KV_SERVICE, kvHandlers(member));
    serve(MAINTENANCE_SERVICE, maintenanceHandlers(member));
    serve(CLUSTER_SERVICE, clusterHandlers(member));
    serve(LEASE_SERVICE, leaseHandlers(member));
    serve(AUTH_SERVICE, authHandlers(member));
    serve(LOCK_SERVICE, lockHandlers(this.self));
    serve(ELECTION_SERVICE, electionHandlers(this.self));
    this.watches = new WatchStreams(member.watchPort, watchPermission(member));
    serve(WATCH_SERVICE, this.watches.handlers());
    this.json = new JsonGateway(member, metrics, () => this.bound[0]!);
    this.http = http.createServer((req, res) => this.json.handle(req, res));
  }

  async listen(): Promise<string[]> {
    const bound: string[] = [];
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    for (const url of this.member.config.listenClientUrls) {
      const material = requireMaterial(url, this.member.clientTls, '--cert-file, --key-file');
      const listener = await listenClientUrl(url, material, {
        grpc: (connection) => injector.injectConnection(connection),
        http: (socket) => this.http.emit('connection', socket),
        refused: (reason) => this.member.log.warn({ error: reason }, 'rejected connection'),
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
