// Prometheus metrics (prom-client) with etcd's names, so that etcd's dashboards and alerts
// read kvd: server (leader, proposals), disk (WAL fsync, backend commit), mvcc (database
// size) and gRPC (calls started and handled), plus the process's and Node's own and kvd's
// (kvd_ prefix). Served at /metrics on the client port and on --listen-metrics-urls.
import http from 'node:http';
import https from 'node:https';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Member } from './member.js';
import { listenOptions, requireMaterial, type TlsMaterial } from './transport-security.js';
import { BUCKETS, type SharedHistogram } from './shared-histogram.js';
import { CLUSTER_VERSION, SERVER_VERSION } from './version.js';

const SAMPLE_MS = 10;
/** gRPC status codes by the names Go gives them (grpc_code labels). */
const GRPC_CODES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];

/** One gRPC method's calls: started, and handled by status code. */
interface MethodCalls { labels: Record<string, string>; started: number; handled: number[] }

export class Metrics {
  readonly registry = new Registry();
  private readonly servers: (http.Server | https.Server)[] = [];
  private readonly methodCalls = new Map<string, MethodCalls>();
  private readonly healthSuccess: Counter;
  private readonly healthFailures: Counter;

  constructor(member: Member) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const board = member.board;
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({ name, help, registers, collect() { this.set(value()); } });
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (board.get('leader') ? 1 : 0));
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (board.get('leader') === member.id ? 1 : 0));
    gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => board.get('commitIndex'));
    gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => board.get('appliedIndex'));
    gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => member.pendingProposals);
    gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => board.get('dbSize'));
    gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', () => board.get('dbSizeInUse'));
    gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => board.get('revision'));
    gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => board.get('compactRevision'));
    gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', () => board.get('keys'));
    gauge('etcd_debugging_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => board.get('dbSize'));
    gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => member.config.quotaBackendBytes);
    // Labels that say what runs, each with the value 1.
    const info = (name: string, help: string, label: string, value: string) =>
      new Gauge({ name, help, labelNames: [label], registers }).set({ [label]: value }, 1);
    info('etcd_server_version', "Which version is running. 1 for 'server_version' label with current version.", 'server_version', SERVER_VERSION);
    info('etcd_cluster_version', "Which version is running. 1 for 'cluster_version' label with current cluster version", 'cluster_version', CLUSTER_VERSION.split('.').slice(0, 2).join('.'));
    info('etcd_server_id', "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", 'server_id', member.id.toString(16));
    this.healthSuccess = new Counter({ name: 'etcd_server_health_success', help: 'The total number of successful health checks', registers });
    this.healthFailures = new Counter({ name: 'etcd_server_health_failures', help: 'The total number of failed health checks', registers });
    new Gauge({
      name: 'kvd_actor_queue_depth',
      help: 'Work waiting for each actor: proposals for consensus (raft), committed entries not yet applied (mvcc), watchers catching up (watch), ranges for a reader thread (reader).',
      labelNames: ['actor'],
      registers,
      collect() {
        this.set({ actor: 'raft' }, member.pendingProposals);
        this.set({ actor: 'mvcc' }, Math.max(0, board.get('commitIndex') - board.get('appliedIndex')));
        this.set({ actor: 'watch' }, board.get('watchersBehind'));
        this.set({ actor: 'reader' }, member.readsQueued);
      },
    });
    const failed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers });
    let failedSeen = 0;
    const leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers });
    let leader = 0;
    // Leadership and failures are sampled often enough to see every change a scrape would miss.
    setInterval(() => {
      const now = board.get('leader');
      if (now && now !== leader) leaderChanges.inc();
      if (now) leader = now;
      failed.inc(member.failedProposals - failedSeen);
      failedSeen = member.failedProposals;
    }, 100).unref();
    this.histogram('etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.', () => [{ labels: {}, histogram: member.walFsync.read() }]);
    this.histogram('etcd_disk_backend_commit_duration_seconds', 'The latency distributions of commit called by backend.', () => [{ labels: {}, histogram: member.backendCommit.read() }]);
    // As etcd's, by peer ("To", the member ID in hex): the leader's heartbeat round trips to each follower.
    this.histogram('etcd_network_peer_round_trip_time_seconds', 'Round-Trip-Time histogram between peers.', () =>
      member.peerRoundTrips.read().map(({ key, histogram }) => ({ labels: { To: key.toString(16) }, histogram })));

    // A call only counts in plain numbers; the counters take the totals when scraped (a
    // labelled counter's increment hashes its labels, on every call).
    const labels = ['grpc_type', 'grpc_service', 'grpc_method'];
    const calls = this.methodCalls;
    new Counter({
      name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames: labels, registers,
      collect() {
        this.reset();
        for (const m of calls.values()) this.inc(m.labels, m.started);
      },
    });
    new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.', labelNames: [...labels, 'grpc_code'], registers,
      collect() {
        this.reset();
        for (const m of calls.values()) m.handled.forEach((n, code) => n && this.inc({ ...m.labels, grpc_code: GRPC_CODES[code] ?? String(code) }, n));
      },
    });

    const delay = monitorEventLoopDelay({ resolution: SAMPLE_MS });
    delay.enable();
    // The sampler records whole intervals between its timer's runs: the delay is what exceeds one.
    const late = (ns: number) => Math.max(0, ns / 1e6 - SAMPLE_MS) / 1000;
    new Gauge({
      name: 'kvd_gateway_event_loop_delay_seconds',
      help: 'Delay of the gateway thread\'s event loop since the previous scrape.',
      labelNames: ['quantile'],
      registers,
      collect() {
        for (const q of [0.5, 0.99, 1]) this.set({ quantile: String(q) }, late(q === 1 ? delay.max : delay.percentile(q * 100)));
        delay.reset();
      },
    });
  }

  /** Counts a /health answer. */
  healthChecked(healthy: boolean): void {
    (healthy ? this.healthSuccess : this.healthFailures).inc();
  }

  /** Histograms the actors fill in shared memory (one per label set), shown in Prometheus's form. */
  private histogram(name: string, help: string, read: () => { labels: Record<string, string>; histogram: ReturnType<SharedHistogram['read']> }[]): void {
    this.registry.registerMetric({
      name, help,
      get: async () => ({
        name, help, type: 'histogram', aggregator: 'sum',
        values: read().flatMap(({ labels, histogram: h }) => [
          ...BUCKETS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: h.buckets[i]! })),
          { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count },
          { metricName: `${name}_sum`, labels, value: h.sum },
          { metricName: `${name}_count`, labels, value: h.count },
        ]),
      }),
    } as never);
  }

  /** Counts every gRPC call, started and handled (with its status), as go-grpc-prometheus does. */
  readonly grpcInterceptor: grpc.ServerInterceptor = (method, call) => {
    const calls = this.callsOf(method);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        calls.started++;
        next();
      },
      sendStatus: (status, next) => {
        calls.handled[status.code] = (calls.handled[status.code] ?? 0) + 1;
        next(status);
      },
    });
  };

  private callsOf(method: grpc.ServerMethodDefinition<unknown, unknown>): MethodCalls {
    let calls = this.methodCalls.get(method.path);
    if (calls) return calls;
    const [service, name] = method.path.slice(1).split('/') as [string, string];
    const type = method.requestStream ? (method.responseStream ? 'bidi_stream' : 'client_stream') : method.responseStream ? 'server_stream' : 'unary';
    calls = { labels: { grpc_type: type, grpc_service: service, grpc_method: name }, started: 0, handled: [] };
    this.methodCalls.set(method.path, calls);
    return calls;
  }

  /** Serves /metrics on each URL (https ones with the client URLs' TLS); resolves with the bound addresses. */
  async listen(urls: URL[], material: TlsMaterial | undefined): Promise<string[]> {
    const bound: string[] = [];
    for (const url of urls) {
      const tls = requireMaterial(url, material, '--cert-file, --key-file');
      const server = (tls ? https.createServer(listenOptions(tls)) : http.createServer()).on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end('404 page not found\n');
          return;
        }
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      this.servers.push(server);
      bound.push(`${url.protocol}//${url.hostname}:${(server.address() as { port: number }).port}`);
    }
    return bound;
  }

  close(): void {
    for (const s of this.servers) s.close();
  }
}
