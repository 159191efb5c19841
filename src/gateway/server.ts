// The client listener: @grpc/grpc-js serving kvd's services on every --listen-client-urls.
import * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { KV_SERVICE, kvHandlers } from './kv.js';
import { MAINTENANCE_SERVICE, maintenanceHandlers } from './maintenance.js';
import { CLUSTER_SERVICE, clusterHandlers } from './cluster.js';

// etcd accepts messages up to --max-request-bytes plus this allowance for gRPC framing.
const GRPC_OVERHEAD_BYTES = 512 * 1024;

export class Gateway {
  private readonly server: grpc.Server;

  constructor(private readonly member: Member) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': member.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.server.addService(KV_SERVICE, kvHandlers(member));
    this.server.addService(MAINTENANCE_SERVICE, maintenanceHandlers(member));
    this.server.addService(CLUSTER_SERVICE, clusterHandlers(member));
  }

  async listen(): Promise<string[]> {
    const bound: string[] = [];
    for (const url of this.member.config.listenClientUrls) {
      if (url.protocol !== 'http:') throw new Error(`kvd: ${url.href}: TLS client URLs are not supported yet`);
      const port = await new Promise<number>((resolve, reject) =>
        this.server.bindAsync(`${url.hostname}:${url.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      bound.push(`${url.protocol}//${url.hostname}:${port}`);
    }
    return bound;
  }

  /** Stops accepting calls and waits for the ones in flight (bounded), then closes. */
  async close(graceMs = 5000): Promise<void> {
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
