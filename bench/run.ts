// Side-by-side benchmark: starts kvd and etcd (when installed) in the same shape — one member
// or a 3-member cluster on loopback — alternating them over several rounds, runs each workload
// (put, range linearizable and serializable, txn, mixed 90% reads / 10% puts) at each client
// count against both, bounded by --seconds and --requests per run, optionally `etcdctl check
// perf`, and reports medians and kvd/etcd ratios. `--warmup S` first runs each workload S
// seconds unmeasured, on both servers alike: kvd's JIT compiles its paths in the first seconds
// of load, and the measured run then shows the steady state a long-running member is in.
// `--write` appends the tables to BENCHMARKS.md.
import { runLoad, type LoadResult, type Workload } from './load.js';
import { startCluster, type Server } from '../test/e2e/harness/server.js';
import { agreedLeader } from '../test/e2e/harness/cluster-status.js';
import { etcdctl } from '../test/e2e/harness/etcdctl.js';
import { connect } from '../src/client/client.js';
import { cpuMeter } from './cpu.js';
import { Option } from 'commander';
import { benchCommand, countList, nameList, oneOf, option, wholeNumber } from './args.js';
import { appendToBenchmarks, commit, fmt, machine, median, push } from './report.js';

/** Clients of the priming load: enough to run every path hot. */
const PRIME_CLIENTS = 16;
const WORKLOADS = ['put', 'range-linearizable', 'range-serializable', 'txn', 'mixed'] as const satisfies readonly Workload[];
const values = benchCommand('bench', 'kvd against etcd, alternating, over the KV workloads (and etcdctl check perf).', 3)
  .addOption(option('--warmup <s>', 'seconds of each workload run unmeasured before its run', wholeNumber(0), '0'))
  .addOption(option('--prime <s>', `seconds of ${PRIME_CLIENTS}-client load over the workloads on each fresh server, unmeasured`, wholeNumber(0), '20'))
  .addOption(option('--requests <n>', 'at most this many requests per run', wholeNumber(1), '2000000'))
  .addOption(option('--clients <list>', 'concurrent clients per run, a run for each', countList, '64'))
  .addOption(option('--keys <n>', 'keys the workloads spread over', wholeNumber(1), '1000'))
  .addOption(option('--members <n>', 'members per server: 1, or a cluster', wholeNumber(1), '1'))
  .addOption(option('--workloads <list>', `among ${WORKLOADS.join(', ')}`, nameList(WORKLOADS), 'put,range-linearizable,range-serializable'))
  .addOption(new Option('--check-perf <loads>', 'also run check perf at these loads (s, m, l, xl)').argParser(nameList(['s', 'm', 'l', 'xl'] as const)).default([], 'none'))
  .addOption(option('--check-perf-tool <tool>', 'the check perf of etcdctl or tsctl', oneOf(['etcdctl', 'tsctl'] as const), 'etcdctl'))
  .parse()
  .opts();
const rounds: number = values.rounds;
const durationMs = values.seconds * 1000;
const warmupMs = values.warmup * 1000;
const primeMs = values.prime * 1000;
const clientCounts: number[] = values.clients;
const members: number = values.members;
const workloads: Workload[] = values.workloads;
const perfLoads: string[] = values.checkPerf;
const perfTool: 'etcdctl' | 'tsctl' = values.checkPerfTool;
const targets: ('kvd' | 'etcd')[] = values.targets;
const KEYS: number = values.keys;

/** A run's load figures and the servers' CPU per request (µs, all members together). */
type RunResult = LoadResult & { cpuUsPerOp: number };
const results = new Map<string, RunResult[]>();
/** `error`: why a run printed no figures (etcdctl deletes its keys before it reports, with a 30 s timeout). */
interface PerfResult { throughput: number; slowestMs: number; stddevMs: number; pass: boolean; error?: string }
const perf = new Map<string, PerfResult[]>();

async function prefill(endpoint: string) {
  const c = connect(endpoint);
  const value = Buffer.alloc(256, 'v');
  for (let i = 0; i < KEYS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => c.kv.Put!({ key: Buffer.from(`bench/${i + j}`), value })));
  }
  c.close();
}

/**
 * The endpoints from the leader's on: a load's clients take them in turn, so a single client talks
 * to the leader on both servers alike (which member leads differs between them, and a follower
 * adds a forward to every request).
 */
async function leaderFirst(members: Server[]): Promise<string[]> {
  const endpoints = members.map((m) => m.endpoint);
  if (members.length === 1) return endpoints;
  const at = members.indexOf(await agreedLeader(members));
  return [...endpoints.slice(at), ...endpoints.slice(0, at)];
}

/** `etcdctl check perf` output: throughput, slowest request, standard deviation, PASS/FAIL lines. */
async function checkPerf(endpoints: string[], load: string): Promise<PerfResult> {
  const r = await etcdctl(endpoints.join(','), ['check', 'perf', `--load=${load}`], { timeoutMs: 180_000, tool: perfTool });
  const num = (re: RegExp) => Number(r.stdout.match(re)?.[1] ?? NaN);
  const throughput = num(/Throughput (?:is|too low:) (\d+) writes\/s/);
  return {
    throughput,
    slowestMs: num(/Slowest request took (?:too long: )?([\d.]+)s/) * 1000,
    stddevMs: num(/Stddev (?:is|too high:) ([\d.]+)s/) * 1000,
    pass: r.code === 0 && !/FAIL/.test(r.stdout),
    ...(Number.isNaN(throughput) ? { error: (r.stderr.trim().split('\n').at(-1) ?? '') || `exit code ${r.code}` } : {}),
  };
}

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const kind of order) {
    const cluster = await startCluster({ kind, size: members });
    try {
      await prefill(cluster.endpoints[0]!);
      const specOf = (workload: Workload, clients: number) => ({ endpoints: cluster.endpoints, workload, clients, connections: 4, maxRequests: values.requests, valueSize: 256, keySpace: KEYS });
      // A fresh kvd compiles its hot paths (V8's optimizing JIT, on each of its threads) during
      // its first ~15 s of load; etcd is compiled ahead of time. Both are primed alike, so that
      // the runs measure servers in their steady state, as they run in production.
      for (const workload of workloads) if (primeMs) await runLoad({ ...specOf(workload, PRIME_CLIENTS), durationMs: primeMs / workloads.length });
      for (const workload of workloads) {
        for (const clients of clientCounts) {
          const spec = { ...specOf(workload, clients), endpoints: await leaderFirst(cluster.members) };
          if (warmupMs) await runLoad({ ...spec, durationMs: warmupMs });
          const cpu = cpuMeter(cluster.members.map((m) => m.pid()!));
          const load = await runLoad({ ...spec, durationMs });
          const r: RunResult = { ...load, cpuUsPerOp: (cpu() * 1e6) / load.ops };
          push(results, `${kind}|${workload}|${clients}`, r);
          console.log(`round ${round + 1} ${kind.padEnd(4)} ${workload.padEnd(19)} ${String(clients).padStart(4)} clients ${r.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  cpu ${r.cpuUsPerOp.toFixed(0)} µs/op  errors ${r.errors}`);
        }
      }
      for (const load of perfLoads) {
        const p = await checkPerf(cluster.endpoints, load);
        push(perf, `${kind}|${load}`, p);
        console.log(`round ${round + 1} ${kind.padEnd(4)} check perf --load=${load} ${p.error ? `no figures: ${p.error}` : `${p.throughput} writes/s, slowest ${p.slowestMs.toFixed(0)} ms`}, ${p.pass ? 'PASS' : 'FAIL'}`);
      }
    } finally {
      await cluster.stop();
    }
  }
}

const shape = members === 1 ? 'One member each' : `${members}-member clusters`;
const lines = [
  `### ${new Date().toISOString().slice(0, 10)} — commit ${commit} — ${shape}`,
  '',
  `Machine: ${machine}. ${shape} on loopback, clients spread over the members' endpoints from the leader's on (4+ connections; one client talks to the leader), 256-byte values, ${KEYS} keys, ${values.seconds} s (at most ${values.requests} requests) per run${warmupMs ? ` after ${values.warmup} s of the same load not measured` : ''}${primeMs ? `, each fresh server or cluster first primed with ${values.prime} s of ${PRIME_CLIENTS}-client load over the workloads, not measured` : ''}, ${rounds} alternating rounds; medians.${workloads.includes('txn') ? ' txn: one compare and a put.' : ''}${workloads.includes('mixed') ? ' mixed: 90% linearizable ranges, 10% puts.' : ''}`,
  '',
  '| workload | clients | kvd ops/s | kvd p50 ms | kvd p99 ms | kvd CPU µs/op | etcd ops/s | etcd p50 ms | etcd p99 ms | etcd CPU µs/op | kvd/etcd ops |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const w of workloads) {
  for (const clients of clientCounts) {
    const m = (kind: string, f: (r: RunResult) => number) => {
      const rs = results.get(`${kind}|${w}|${clients}`);
      return rs ? median(rs.map(f)) : NaN;
    };
    const ratio = m('kvd', (r) => r.opsPerSec) / m('etcd', (r) => r.opsPerSec);
    lines.push(`| ${w} | ${clients} | ${fmt(m('kvd', (r) => r.opsPerSec))} | ${fmt(m('kvd', (r) => r.p50Ms), 2)} | ${fmt(m('kvd', (r) => r.p99Ms), 2)} | ${fmt(m('kvd', (r) => r.cpuUsPerOp))} | ${fmt(m('etcd', (r) => r.opsPerSec))} | ${fmt(m('etcd', (r) => r.p50Ms), 2)} | ${fmt(m('etcd', (r) => r.p99Ms), 2)} | ${fmt(m('etcd', (r) => r.cpuUsPerOp))} | ${fmt(ratio, 2)} |`);
  }
}
if (perfLoads.length) {
  lines.push('', `\`${perfTool} check perf\` (medians of the rounds that printed figures; PASS counts the rounds that passed):`, '', '| load | kvd writes/s | kvd slowest ms | kvd PASS | etcd writes/s | etcd slowest ms | etcd PASS | kvd/etcd |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const load of perfLoads) {
    const p = (kind: string, f: (r: PerfResult) => number) => {
      const rs = perf.get(`${kind}|${load}`);
      return rs ? median(rs.filter((r) => !r.error).map(f)) : NaN;
    };
    const passes = (kind: string) => `${(perf.get(`${kind}|${load}`) ?? []).filter((r) => r.pass).length}/${(perf.get(`${kind}|${load}`) ?? []).length}`;
    lines.push(`| ${load} | ${fmt(p('kvd', (r) => r.throughput))} | ${fmt(p('kvd', (r) => r.slowestMs))} | ${passes('kvd')} | ${fmt(p('etcd', (r) => r.throughput))} | ${fmt(p('etcd', (r) => r.slowestMs))} | ${passes('etcd')} | ${fmt(p('kvd', (r) => r.throughput) / p('etcd', (r) => r.throughput), 2)} |`);
  }
}
const table = lines.join('\n');
console.log('\n' + table);
if (values.write) appendToBenchmarks(table);
