// HTTP/1.1 on the client port, as etcd serves it: the JSON gateway at /v3/* (each call relayed
// to this member's own gRPC services, as etcd's grpc-gateway does; streams as newline-separated
// {"result": …} objects), /health, /version and /metrics.
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { root } from '../protocol/codec.js';
import { decodeJson, encodeJson } from '../protocol/json.js';
import { fromServiceError, EtcdError } from '../protocol/errors.js';
import { CLUSTER_VERSION, SERVER_VERSION } from '../server/version.js';
import { memberCredentials } from '../server/member-credentials.js';
import type { Member } from '../server/member.js';
import type { Metrics } from '../server/metrics.js';
import { GATEWAY_MARK } from './auth-info.js';
import { JsonObjects } from './json-objects.js';

const ROUTES: Record<string, [service: string, method: string]> = {
  '/v3/kv/range': ['etcdserverpb.KV', 'Range'],
  '/v3/kv/put': ['etcdserverpb.KV', 'Put'],
  '/v3/kv/deleterange': ['etcdserverpb.KV', 'DeleteRange'],
  '/v3/kv/txn': ['etcdserverpb.KV', 'Txn'],
  '/v3/kv/compaction': ['etcdserverpb.KV', 'Compact'],
  '/v3/watch': ['etcdserverpb.Watch', 'Watch'],
  '/v3/lease/grant': ['etcdserverpb.Lease', 'LeaseGrant'],
  '/v3/lease/revoke': ['etcdserverpb.Lease', 'LeaseRevoke'],
  '/v3/kv/lease/revoke': ['etcdserverpb.Lease', 'LeaseRevoke'],
  '/v3/lease/keepalive': ['etcdserverpb.Lease', 'LeaseKeepAlive'],
  '/v3/lease/timetolive': ['etcdserverpb.Lease', 'LeaseTimeToLive'],
  '/v3/kv/lease/timetolive': ['etcdserverpb.Lease', 'LeaseTimeToLive'],
  '/v3/lease/leases': ['etcdserverpb.Lease', 'LeaseLeases'],
  '/v3/kv/lease/leases': ['etcdserverpb.Lease', 'LeaseLeases'],
  '/v3/cluster/member/add': ['etcdserverpb.Cluster', 'MemberAdd'],
  '/v3/cluster/member/remove': ['etcdserverpb.Cluster', 'MemberRemove'],
  '/v3/cluster/member/update': ['etcdserverpb.Cluster', 'MemberUpdate'],
  '/v3/cluster/member/list': ['etcdserverpb.Cluster', 'MemberList'],
  '/v3/cluster/member/promote': ['etcdserverpb.Cluster', 'MemberPromote'],
  '/v3/maintenance/alarm': ['etcdserverpb.Maintenance', 'Alarm'],
  '/v3/maintenance/status': ['etcdserverpb.Maintenance', 'Status'],
  '/v3/maintenance/defragment': ['etcdserverpb.Maintenance', 'Defragment'],
  '/v3/maintenance/hash': ['etcdserverpb.Maintenance', 'Hash'],
  '/v3/maintenance/snapshot': ['etcdserverpb.Maintenance', 'Snapshot'],
  '/v3/maintenance/transfer-leadership': ['etcdserverpb.Maintenance', 'MoveLeader'],
  '/v3/auth/enable': ['etcdserverpb.Auth', 'AuthEnable'],
  '/v3/auth/disable': ['etcdserverpb.Auth', 'AuthDisable'],
  '/v3/auth/authenticate': ['etcdserverpb.Auth', 'Authenticate'],
  '/v3/auth/user/add': ['etcdserverpb.Auth', 'UserAdd'],
  '/v3/auth/user/get': ['etcdserverpb.Auth', 'UserGet'],
  '/v3/auth/user/list': ['etcdserverpb.Auth', 'UserList'],
  '/v3/auth/user/delete': ['etcdserverpb.Auth', 'UserDelete'],
  '/v3/auth/user/changepw': ['etcdserverpb.Auth', 'UserChangePassword'],
  '/v3/auth/user/grant': ['etcdserverpb.Auth', 'UserGrantRole'],
  '/v3/auth/user/revoke': ['etcdserverpb.Auth', 'UserRevokeRole'],
  '/v3/auth/role/add': ['etcdserverpb.Auth', 'RoleAdd'],
  '/v3/auth/role/get': ['etcdserverpb.Auth', 'RoleGet'],
  '/v3/auth/role/list': ['etcdserverpb.Auth', 'RoleList'],
  '/v3/auth/role/delete': ['etcdserverpb.Auth', 'RoleDelete'],
  '/v3/auth/role/grant': ['etcdserverpb.Auth', 'RoleGrantPermission'],
  '/v3/auth/role/revoke': ['etcdserverpb.Auth', 'RoleRevokePermission'],
  '/v3/lock/lock': ['v3lockpb.Lock', 'Lock'],
  '/v3/lock/unlock': ['v3lockpb.Lock', 'Unlock'],
  '/v3/election/campaign': ['v3electionpb.Election', 'Campaign'],
  '/v3/election/proclaim': ['v3electionpb.Election', 'Proclaim'],
  '/v3/election/leader': ['v3electionpb.Election', 'Leader'],
  '/v3/election/observe': ['v3electionpb.Election', 'Observe'],
  '/v3/election/resign': ['v3electionpb.Election', 'Resign'],
};

// grpc-gateway's HTTP status for each gRPC code.
const HTTP_STATUS = [200, 408, 500, 400, 504, 404, 409, 403, 429, 412, 409, 400, 501, 500, 503, 500, 401];

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
};

interface Method { path: string; req: protobuf.Type; res: protobuf.Type; clientStream: boolean; serverStream: boolean }

function methodOf(service: string, name: string): Method {
  const m = root.lookupService(service).methods[name]!;
  m.resolve();
  return { path: `/${service}/${name}`, req: m.resolvedRequestType!, res: m.resolvedResponseType!, clientStream: !!m.requestStream, serverStream: !!m.responseStream };
}

const bytes = (b: Buffer) => b;

export class JsonGateway {
  private client?: grpc.Client;

  /** `selfUrl`: the member's first client URL, which the gateway's gRPC calls go to. */
  constructor(private readonly member: Member, private readonly metrics: Metrics, private readonly selfUrl: () => string) {}

  close(): void {
    this.client?.close();
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // etcd still answers the beta prefix; etcd3gw and older clients default to the alpha one.
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v3(beta|alpha)\//, '/v3/');
    if (path === '/health') return void this.health(req, res);
    // etcd 3.5's probes: alive while the process serves; ready when /health would say true.
    if (path === '/livez') return void res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
    if (path === '/readyz') return void this.healthy().then((ok) => res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(ok ? 'ok' : 'not ok'));
    if (path === '/version') return this.json(res, 200, { etcdserver: SERVER_VERSION, etcdcluster: CLUSTER_VERSION });
    if (path === '/metrics') return void this.metrics.registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(text));
    const route = ROUTES[path];
    if (!route) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...(path.startsWith('/v3/') ? CORS : {}) }).end(path.startsWith('/v3/') ? 'Not Found\n' : '404 page not found\n');
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', ...CORS }).end('Method Not Allowed\n');
      return;
    }
    const method = methodOf(...route);
    if (method.clientStream || method.serverStream) return this.stream(method, req, res);
    void this.unary(method, req, res);
  }

  private raw(): grpc.Client {
    return (this.client ??= new grpc.Client(new URL(this.selfUrl()).host, memberCredentials(this.selfUrl(), this.member.clientTls), { 'grpc.max_receive_message_length': -1 }));
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...CORS }).end(JSON.stringify(body));
  }

  private error(res: http.ServerResponse, err: unknown): void {
    const e = fromServiceError(err);
    const code = e instanceof EtcdError ? e.code : grpc.status.UNKNOWN;
    const message = e instanceof Error ? e.message : String(e);
    this.json(res, HTTP_STATUS[code] ?? 500, { error: message, message, code });
  }

  private async body(req: http.IncomingMessage): Promise<string> {
    let text = '';
    for await (const chunk of req) text += chunk;
    return text;
  }

  private async unary(m: Method, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let request: Uint8Array;
    try {
      const text = await this.body(req);
      request = encodeJson(m.req, text.trim() ? JSON.parse(text) : {});
    } catch (err) {
      return this.error(res, new EtcdError(grpc.status.INVALID_ARGUMENT, (err as Error).message));
    }
    this.raw().makeUnaryRequest(m.path, bytes, bytes, Buffer.from(request), credentials(req), (err, reply) => {
      if (err) this.error(res, err);
      else this.json(res, 200, decodeJson(m.res, reply!));
    });
  }

  /**
   * A streaming method: each response as one {"result": …} line, an error as {"error": …}. As
   * etcd's gateway, a body that cannot be read as the request is refused before the stream
   * starts; a later message of a bidirectional call that cannot be read ends the body.
   */
  private stream(m: Method, req: http.IncomingMessage, res: http.ServerResponse): void {
    const start = () => {
      if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', ...CORS });
    };
    const fail = (code: number, message: string) => {
      start();
      const status = HTTP_STATUS[code] ?? 500;
      res.end(JSON.stringify({ error: { grpc_code: code, http_code: status, message, http_status: httpStatusText(status) } }) + '\n');
    };
    const relay = (call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>) => {
      call.on('data', (reply: Buffer) => {
        start();
        res.write(JSON.stringify({ result: decodeJson(m.res, reply) }) + '\n');
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (res.writableEnded) return; // ended here already (a body that could not be read)
        if (err.code === grpc.status.CANCELLED) (start(), res.end());
        else fail(err.code, err.details);
      });
      call.on('end', () => (start(), res.end()));
      // The client went away: so does the call.
      res.on('close', () => call.cancel());
      return call;
    };
    const encode = (json: unknown) => Buffer.from(encodeJson(m.req, json));
    if (!m.clientStream) {
      void this.body(req).then((text) => {
        let request: Buffer;
        try {
          request = encode(text.trim() ? JSON.parse(text) : {});
        } catch (err) {
          return this.error(res, new EtcdError(grpc.status.INVALID_ARGUMENT, (err as Error).message));
        }
        relay(this.raw().makeServerStreamRequest(m.path, bytes, bytes, request, credentials(req)));
      }, () => res.destroy()); // the client went away before its body ended
      return;
    }
    const call = relay(this.raw().makeBidiStreamRequest(m.path, bytes, bytes, credentials(req))) as grpc.ClientDuplexStream<Buffer, Buffer>;
    const objects = new JsonObjects();
    let sent = 0;
    req.setEncoding('utf8');
    // The body's end half-closes the call: a keep-alive then ends, a watch goes on (as etcd's).
    req.on('end', () => call.end());
    req.on('data', (chunk: string) => {
      try {
        objects.feed(chunk, (json) => {
          call.write(encode(json));
          sent++;
        });
      } catch (err) {
        req.removeAllListeners('data');
        // A later message: as at the body's end, the call is half-closed (a watch goes on).
        if (sent) return void call.end();
        // Not one message read: the call never started, and etcd answers as for a failed one (Unknown).
        const message = (err as Error).message;
        this.json(res, HTTP_STATUS[grpc.status.UNKNOWN]!, { error: message, message, code: grpc.status.UNKNOWN });
        call.cancel();
      }
    });
  }

  /** etcd's health: a leader, no alarm, and a linearizable read answered within a second. */
  private async healthy(): Promise<boolean> {
    if (this.member.board.get('leader') === 0 || this.member.alarms.length) return false;
    return Promise.race([
      this.member.linearizableRead().then(() => true, () => false),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref()),
    ]);
  }

  private async health(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const healthy = await this.healthy();
    this.metrics.healthChecked(healthy);
    const body = JSON.stringify({ health: String(healthy) });
    if (healthy) res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', ...CORS }).end(body);
    else res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body + '\n');
  }
}

/**
 * A request's token goes on as the gRPC call's "authorization" metadata, as etcd's gateway
 * passes it; its mark keeps the relay's own certificate from standing for the client.
 */
function credentials(req: http.IncomingMessage): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (req.headers.authorization) metadata.set('authorization', req.headers.authorization);
  metadata.set(GATEWAY_MARK, req.headers.accept ?? '*/*');
  return metadata;
}

const httpStatusText = (status: number) => ({ 400: 'Bad Request', 404: 'Not Found', 412: 'Precondition Failed', 500: 'Internal Server Error', 503: 'Service Unavailable' } as Record<number, string>)[status] ?? String(status);
