// The load generator: worker threads, each driving its share of concurrent clients in a
// closed loop (one request in flight per client), so the client side is not the bottleneck.
// Returns completed operations and latency percentiles for one workload against one endpoint.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { connect } from '../src/client/client.js';
import { mergeSorted, percentile } from './report.js';

export type Workload = 'put' | 'range-linearizable' | 'range-serializable' | 'txn' | 'mixed';

// Txn compare results and targets (etcdserverpb.Compare).
const GREATER = 1;
const MOD = 2;

export interface LoadSpec {
  /** The clients' connections are spread over these (the members of a cluster). */
  endpoints: string[];
  workload: Workload;
  clients: number;
  connections: number;   // gRPC channels shared by the clients
  durationMs: number;
  maxRequests: number;   // a bound on the whole run, whatever the speed
  valueSize: number;
  keySpace: number;
}

export interface LoadResult { ops: number; errors: number; seconds: number; opsPerSec: number; p50Ms: number; p99Ms: number }

interface WorkerShare extends LoadSpec { firstClient: number; clientCount: number; requestBudget: number }


async function runShare(share: WorkerShare): Promise<{ latencies: Float64Array; errors: number }> {
  const channels = Array.from({ length: Math.max(1, share.connections, share.endpoints.length) }, (_, i) =>
    connect(share.endpoints[i % share.endpoints.length]!, { 'grpc.use_local_subchannel_pool': 1, 'kvd.channel': i }));
  const value = Buffer.alloc(share.valueSize, 'v');
  const latencies: number[] = [];
  let errors = 0;
  let budget = share.requestBudget;
  const deadline = performance.now() + share.durationMs;
  const one = async (c: number) => {
    const client = channels[c % channels.length]!;
    for (let i = 0; budget > 0 && performance.now() < deadline; i++) {
      budget--;
      const key = Buffer.from(`bench/${(c * 7919 + i) % share.keySpace}`);
      const t0 = performance.now();
      try {
        switch (share.workload) {
          case 'put': await client.kv.Put!({ key, value }); break;
          // A compare-and-put: the key exists (prefilled), so the put is taken.
          case 'txn': await client.kv.Txn!({ compare: [{ key, result: GREATER, target: MOD, mod_revision: 0 }], success: [{ request_put: { key, value } }], failure: [{ request_range: { key } }] }); break;
          // 90% linearizable reads, 10% puts.
          case 'mixed': await (i % 10 === 0 ? client.kv.Put!({ key, value }) : client.kv.Range!({ key })); break;
          default: await client.kv.Range!({ key, serializable: share.workload === 'range-serializable' });
        }
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: share.clientCount }, (_, i) => one(share.firstClient + i)));
  channels.forEach((c) => c.close());
  return { latencies: Float64Array.from(latencies), errors };
}

export async function runLoad(spec: LoadSpec, threads = 2): Promise<LoadResult> {
  const perThread = Math.ceil(spec.clients / threads);
  const t0 = performance.now();
  const shares = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const share: WorkerShare = {
        ...spec,
        firstClient: t * perThread,
        clientCount: Math.max(0, Math.min(perThread, spec.clients - t * perThread)),
        connections: Math.max(1, Math.round(spec.connections / threads)),
        requestBudget: Math.ceil(spec.maxRequests / threads),
      };
      return new Promise<{ latencies: Float64Array; errors: number }>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: share });
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const all = mergeSorted(shares.map((s) => s.latencies));
  return {
    ops: all.length,
    errors: shares.reduce((n, s) => n + s.errors, 0),
    seconds,
    opsPerSec: all.length / seconds,
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
  };
}

if (!isMainThread && workerData?.requestBudget !== undefined) {
  runShare(workerData as WorkerShare).then((r) => parentPort!.postMessage(r, [r.latencies.buffer as ArrayBuffer]));
}
