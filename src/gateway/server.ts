// The client listener: @grpc/grpc-js serving kvd's services on every --listen-client-urls.
// Connections are accepted here and handed to grpc-js through the authority front.
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { AuthorityFront } from './authority-front.js';
import type { Member } from '../server/member.js';
import { KV_SERVICE, kvHandlers } from './kv.js';
import { MAINTENANCE_SERVICE, maintenanceHandlers } from './maintenance.js';
import { CLUSTER_SERVICE, clusterHandlers } from './cluster.js';
import { WATCH_SERVICE, WatchStreams } from './watch.js';
import { LEASE_SERVICE, leaseHandlers } from './lease.js';
import { LOCK_SERVICE, lockHandlers } from './lock.js';
import { ELECTION_SERVICE, electionHandlers } from './election.js';
import { connect, type Client } from '../client/client.js';
import { GRPC_OVERHEAD_BYTES } from '../server/config.js';


export class Gateway {
  private readonly server: grpc.Server;
  private readonly listeners: net.Server[] = [];
  private readonly watches: WatchStreams;
  private bound: string[] = [];
  private selfClient?: Client;
  /** A client of this member itself, for the services etcd also builds on its own client. */
  private readonly self = () => (this.selfClient ??= connect(new URL(this.bound[0]!).host));

  constructor(private readonly member: Member) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.server.addService(KV_SERVICE, kvHandlers(member));
    this.server.addService(MAINTENANCE_SERVICE, maintenanceHandlers(member));
    this.server.addService(CLUSTER_SERVICE, clusterHandlers(member));
    this.server.addService(LEASE_SERVICE, leaseHandlers(member));
    this.server.addService(LOCK_SERVICE, lockHandlers(this.self));
    this.server.addService(ELECTION_SERVICE, electionHandlers(this.self));
    this.watches = new WatchStreams(member.watchPort);
    this.server.addService(WATCH_SERVICE, this.watches.handlers());
  }

  async listen(): Promise<string[]> {
    const bound: string[] = [];
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    for (const url of this.member.config.listenClientUrls) {
      if (url.protocol !== 'http:') throw new Error(`kvd: ${url.href}: TLS client URLs are not supported yet`);
      const listener = net.createServer((socket) => {
        socket.setNoDelay(true);
        injector.injectConnection(new AuthorityFront(socket));
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
    this.selfClient?.close();
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
