// `check perf` and `check datascale`: etcdctl 3.4's workload models, pass criteria and output
// lines. Each model's clients have a connection each (spread over the endpoints) and put
// random keys under a prefix that must be empty before and is deleted after.
import { randomFillSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Client } from '../client/client.js';
import { connected, dial, dialDeadline, endpointList, FeatureError, InputError, output, program } from './context.js';
import { goQuote } from './printers.js';
import { ProgressBar } from './progress.js';
import { prefixEnd } from '../protocol/prefix-end.js';

type Opts = Record<string, any>;

interface PerfModel { limit: number; clients: number; durationSec: number }
const PERF_MODELS: Record<string, PerfModel> = {
  s: { limit: 150, clients: 50, durationSec: 60 },
  m: { limit: 1000, clients: 200, durationSec: 60 },
  l: { limit: 8000, clients: 500, durationSec: 60 },
  xl: { limit: 15000, clients: 1000, durationSec: 60 },
};

interface DatascaleModel { limit: number; kvSize: number; clients: number }
const DATASCALE_MODELS: Record<string, DatascaleModel> = {
  s: { limit: 10_000, kvSize: 1024, clients: 50 },
  m: { limit: 100_000, kvSize: 1024, clients: 200 },
  l: { limit: 1_000_000, kvSize: 1024, clients: 500 },
  xl: { limit: 3_000_000, kvSize: 1024, clients: 1000 },
};

const LOAD_ALIASES: Record<string, string> = { s: 's', small: 's', m: 'm', medium: 'm', l: 'l', large: 'l', xl: 'xl', xLarge: 'xl' };

function modelOf<T>(models: Record<string, T>, load: string): T {
  const name = LOAD_ALIASES[load];
  if (!name) throw new FeatureError(`unknown load option ${load}`);
  return models[name]!;
}


/**
 * One connection per client, as etcdctl makes one clientv3 client each, connected before the
 * check starts (clientv3 dials before use) so that no request's latency includes a handshake.
 */
async function openClients(count: number): Promise<Client[]> {
  const endpoints = endpointList();
  const clients = await Promise.all(Array.from({ length: count }, (_, i) => dial(endpoints[i % endpoints.length]!, { 'grpc.use_local_subchannel_pool': 1 })));
  const deadline = dialDeadline();
  if ((await Promise.all(clients.map((c) => connected(c, deadline)))).every(Boolean)) return clients;
  clients.forEach((c) => c.close());
  throw new Error('context deadline exceeded');
}

/** A key as etcdctl makes one: the prefix, then a buffer starting with a random int63 as a Go varint. */
function randomKey(prefix: Buffer, size: number): Buffer {
  const key = Buffer.alloc(prefix.length + size);
  prefix.copy(key);
  const random = Buffer.alloc(8);
  randomFillSync(random);
  let zigzag = (random.readBigUInt64BE() >> 1n) << 1n;
  let at = prefix.length;
  for (; zigzag >= 0x80n; zigzag >>= 7n) key[at++] = Number(zigzag & 0x7fn) | 0x80;
  key[at] = Number(zigzag);
  return key;
}

/** Errors as clientv3 names them: etcd's own messages as they are, others as gRPC status. */
function errorText(err: unknown): string {
  const e = err as grpc.ServiceError;
  if (e.details?.startsWith('etcdserver:')) return e.details;
  return e.code !== undefined ? `rpc error: code = ${grpc.status[e.code]} desc = ${e.details}` : String(e.message);
}

/** What etcd's pkg/report computes: requests per second, and latency spread in seconds. */
interface Report { rps: number; slowest: number; stddev: number; errors: Map<string, number> }

/**
 * Runs puts over the clients, each with one request in flight: `ops` requests in all, or as
 * many as `ratePerSec` allows until `untilMs` (etcdctl's rate limiter; a token waits while
 * every client is busy).
 */
async function drive(clients: Client[], run: { ops?: number; ratePerSec?: number; untilMs?: number }, request: () => { key: Buffer; value: Buffer }, done?: () => void): Promise<Report> {
  const started = performance.now();
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const idle = [...clients];
  let wakeIdle: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();
  const send = (client: Client) => {
    const req = request();
    const t0 = performance.now();
    const p = client.kv.Put!(req).then(
      () => void latencies.push((performance.now() - t0) / 1000),
      (err) => void errors.set(errorText(err), (errors.get(errorText(err)) ?? 0) + 1),
    ).finally(() => {
      inFlight.delete(p);
      idle.push(client);
      done?.();
      wakeIdle?.();
    });
    inFlight.add(p);
  };
  const nextIdle = async (): Promise<Client> => {
    while (!idle.length) await new Promise<void>((r) => (wakeIdle = r));
    return idle.pop()!;
  };
  for (let i = 0; run.ops === undefined || i < run.ops; i++) {
    if (run.ratePerSec) {
      const due = started + (i * 1000) / run.ratePerSec;
      if (due >= run.untilMs!) break;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    send(await nextIdle());
  }
  while (inFlight.size) await Promise.all([...inFlight]);
  const seconds = (performance.now() - started) / 1000;
  const average = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const stddev = Math.sqrt(latencies.reduce((s, l) => s + (l - average) ** 2, 0) / latencies.length);
  return { rps: latencies.length / seconds, slowest: latencies.reduce((a, b) => Math.max(a, b), 0), stddev, errors };
}

/** Refuses to run over keys already under the prefix, as etcdctl does. */
async function requireEmptyPrefix(client: Client, prefix: string, timeoutMs?: number): Promise<void> {
  const key = Buffer.from(prefix);
  const res = await client.kv.Range!({ key, range_end: prefixEnd(key), limit: 1 }, timeoutMs ? { deadlineMs: timeoutMs } : {});
  if (res.kvs?.length) throw new InputError(`prefix ${goQuote(key)} has keys. Delete with etcdctl del --prefix ${prefix} first`);
}


/** Deletes the check's keys, then compacts and defragments when asked (etcdctl's lines). */
async function cleanUp(client: Client, prefix: string, o: Opts, timeoutMs?: number): Promise<void> {
  const key = Buffer.from(prefix);
  const deleted = await client.kv.DeleteRange!({ key, range_end: prefixEnd(key) }, timeoutMs ? { deadlineMs: timeoutMs } : {});
  if (o.autoCompact) {
    const revision = Number(deleted.header?.revision ?? 0);
    output(`Compacting with revision ${revision}\n`);
    await client.kv.Compact!({ revision, physical: true }, { deadlineMs: 30_000 });
    output(`Compacted with revision ${revision}\n`);
  }
  if (o.autoDefrag) {
    for (const endpoint of endpointList()) {
      output(`Defragmenting ${goQuote(Buffer.from(endpoint))}\n`);
      const c = await dial(endpoint);
      try {
        await c.maintenance.Defragment!({}, { deadlineMs: 30_000 });
      } finally {
        c.close();
      }
      output(`Defragmented ${goQuote(Buffer.from(endpoint))}\n`);
    }
  }
}

const errorLines = (errors: Map<string, number>) => ['FAIL: too many errors\n', ...[...errors].map(([e, n]) => `FAIL: ERROR(${e}) -> ${n}\n`)].join('');

async function checkPerf(o: Opts): Promise<void> {
  const model = modelOf(PERF_MODELS, o.load);
  const clients = await openClients(model.clients);
  try {
    await requireEmptyPrefix(clients[0]!, o.prefix, model.durationSec * 1000);
    const prefix = Buffer.from(o.prefix);
    // Every client's first request, which in Node also compiles the client's code, is made
    // before the clock starts: the check measures the cluster, not the client warming up.
    await Promise.all(clients.map((c) => c.kv.Range!({ key: prefix, range_end: prefixEnd(prefix), limit: 1, serializable: true })));
    const value = Buffer.alloc(1024);
    const bar = ProgressBar.start(model.durationSec);
    const ticker = setInterval(() => bar?.add(), 1000);
    const report = await drive(clients, { ratePerSec: model.limit, untilMs: performance.now() + model.durationSec * 1000 }, () => ({ key: randomKey(prefix, 256), value }));
    clearInterval(ticker);
    bar?.finish();
    await cleanUp(clients[0]!, o.prefix, o, 30_000);

    let ok = true;
    if (report.errors.size) {
      output(errorLines(report.errors));
      ok = false;
    }
    const writes = Math.trunc(report.rps) + 1;
    if (report.rps / model.limit <= 0.9) {
      output(`FAIL: Throughput too low: ${writes} writes/s\n`);
      ok = false;
    } else output(`PASS: Throughput is ${writes} writes/s\n`);
    if (report.slowest > 0.5) {
      output(`Slowest request took too long: ${report.slowest.toFixed(6)}s\n`);
      ok = false;
    } else output(`PASS: Slowest request took ${report.slowest.toFixed(6)}s\n`);
    if (report.stddev > 0.1) {
      output(`Stddev too high: ${report.stddev.toFixed(6)}s\n`);
      ok = false;
    } else output(`PASS: Stddev is ${report.stddev.toFixed(6)}s\n`);
    output(ok ? 'PASS\n' : 'FAIL\n');
    if (!ok) process.exitCode = 1;
  } finally {
    clients.forEach((c) => c.close());
  }
}

/** The server's resident memory from its /metrics, or 0 (with etcdctl's line) when unreadable. */
async function residentMemory(endpoint: string): Promise<number> {
  const url = `${/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`}/metrics`;
  let text: string;
  try {
    text = await (await fetch(url)).text();
  } catch (err) {
    output(`fetch error: ${(err as Error).message}\n`);
    return 0;
  }
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
  if (!line) {
    output('could not find: process_resident_memory_bytes\n');
    return 0;
  }
  return Number(line.slice('process_resident_memory_bytes'.length).trim()) || 0;
}

async function checkDatascale(o: Opts): Promise<void> {
  const model = modelOf(DATASCALE_MODELS, o.load);
  const clients = await openClients(model.clients);
  const endpoint = endpointList()[0]!;
  try {
    await requireEmptyPrefix(clients[0]!, o.prefix);
    const before = await residentMemory(endpoint);
    if (!before) {
      output('FAIL: Could not read process_resident_memory_bytes before the put operations.\n');
      process.exitCode = 1;
      return;
    }
    output(`Start data scale check for work load [${model.limit} key-value pairs, ${model.kvSize} bytes per key-value, ${model.clients} concurrent clients].\n`);
    const prefix = Buffer.from(o.prefix);
    const value = Buffer.alloc(model.kvSize / 2);
    const bar = ProgressBar.start(model.limit);
    const report = await drive(clients, { ops: model.limit }, () => ({ key: randomKey(prefix, model.kvSize / 2), value }), () => bar?.add());
    bar?.finish();
    const after = await residentMemory(endpoint);
    if (!after) {
      output('FAIL: Could not read process_resident_memory_bytes after the put operations.\n');
      process.exitCode = 1;
      return;
    }
    await cleanUp(clients[0]!, o.prefix, o);
    if (report.errors.size) {
      output(errorLines(report.errors));
      process.exitCode = 1;
      return;
    }
    output(`PASS: Approximate system memory used : ${((after - before) / (1024 * 1024)).toFixed(2)} MB.\n`);
  } finally {
    clients.forEach((c) => c.close());
  }
}

export function registerCheckCommands(): void {
  const check = program.command('check').description('commands for checking properties of the etcd cluster');
  check.command('perf').description('Check the performance of the etcd cluster')
    .option('--load <model>', "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)", 's')
    .option('--prefix <prefix>', "The prefix for writing the performance check's keys.", '/etcdctl-check-perf/')
    .option('--auto-compact', 'Compact storage with last revision after test is finished.', false)
    .option('--auto-defrag', 'Defragment storage after test is finished.', false)
    .action(checkPerf);
  check.command('datascale').description('Check the memory usage of holding data for different workloads on a given server endpoint.')
    .option('--load <model>', "The datascale check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)", 's')
    .option('--prefix <prefix>', "The prefix for writing the datascale check's keys.", '/etcdctl-check-datascale/')
    .option('--auto-compact', 'Compact storage with last revision after test is finished.', false)
    .option('--auto-defrag', 'Defragment storage after test is finished.', false)
    .action(checkDatascale);
}
