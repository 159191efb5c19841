// A minimal etcd v3 client on kvd's shipped protos: unary calls as promises. Used by the
// benchmarks and tests; any etcd v3 client works the same way against kvd or etcd.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../protocol/codec.js';
import './ip-servername-warning.js';

type Req = Record<string, any>;
export interface CallOptions { deadlineMs?: number; metadata?: grpc.Metadata }
type Unary = (req: Req, options?: CallOptions) => Promise<Req>;

export interface ServiceClient {
  [method: string]: Unary;
}

export interface Client {
  kv: ServiceClient;
  maintenance: ServiceClient;
  cluster: ServiceClient;
  /** The unary calls of any service by its full name. */
  service(name: string): ServiceClient;
  /** The raw gRPC client of a service, for streaming calls or raw bytes. */
  raw(service: string): grpc.Client;
  /** Sends `token` (etcd's auth token) with every call from now on, streams included. */
  setToken(token: string | undefined): void;
  /** Sends this metadata entry with every call from now on (undefined: no longer). */
  setMetadata(name: string, value: string | undefined): void;
  close(): void;
}

const SERVICES = { kv: 'etcdserverpb.KV', maintenance: 'etcdserverpb.Maintenance', cluster: 'etcdserverpb.Cluster' } as const;

export function connect(endpoint: string, channelOptions: grpc.ChannelOptions = {}, credentials = grpc.credentials.createInsecure()): Client {
  const clients = new Map<string, grpc.Client>();
  const sent = new Map<string, string>();
  const withMetadata: grpc.Interceptor = (opts, next) => new grpc.InterceptingCall(next(opts), {
    start: (metadata, listener, start) => {
      for (const [name, value] of sent) if (!metadata.get(name).length) metadata.set(name, value);
      start(metadata, listener);
    },
  });
  const options = { 'grpc.max_receive_message_length': -1, 'grpc.enable_channelz': 0, ...channelOptions };
  const raw = (service: string) => {
    let c = clients.get(service);
    if (!c) {
      const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
      c = new Ctor(endpoint, credentials, sent.size ? { ...options, interceptors: [withMetadata] } : options);
      clients.set(service, c);
    }
    return c;
  };
  const wrap = (service: string): ServiceClient => {
    const def = serviceDefinition(service);
    return new Proxy({} as ServiceClient, {
      get: (_t, method: string) => {
        if (!def[method] || def[method]!.requestStream || def[method]!.responseStream) return undefined;
        return (req: Req, opts: CallOptions = {}) =>
          new Promise<Req>((resolve, reject) => {
            const c = raw(service) as unknown as Record<string, Function>;
            const callOpts = opts.deadlineMs ? { deadline: Date.now() + opts.deadlineMs } : {};
            c[method]!.call(c, req, opts.metadata ?? new grpc.Metadata(), callOpts, (err: Error | null, res: Req) => (err ? reject(err) : resolve(res)));
          });
      },
    });
  };
  const client: Client = {
    kv: wrap(SERVICES.kv),
    maintenance: wrap(SERVICES.maintenance),
    cluster: wrap(SERVICES.cluster),
    service: wrap,
    raw,
    // Clients made before do not send it: they are replaced (the interceptor costs every call, so only clients that send metadata have it).
    setMetadata: (name, value) => {
      if (value === undefined) sent.delete(name);
      else sent.set(name, value);
      clients.forEach((c) => c.close());
      clients.clear();
    },
    setToken: (token) => client.setMetadata('token', token),
    close: () => clients.forEach((c) => c.close()),
  };
  return client;
}
