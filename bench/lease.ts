// Lease and lock benchmark: lease grants by concurrent clients, keep-alives for 1,000 and 10,000
// leases over a few streams, and lock acquire/release by contenders of one lock. kvd and etcd
// alternate over the rounds; medians and kvd/etcd ratios go to stdout (BENCHMARKS.md with --write).
import * as grpc from '@grpc/grpc-js';
import { startServer } from '../test/e2e/harness/server.js';
import { connect, type Client } from '../src/client/client.js';
import { benchCommand, countList, option } from './args.js';
import { appendToBenchmarks, commit, fmt, machine, median, percentile, push } from './report.js';

interface Rate { perSec: number; p50Ms: number; p99Ms: number }

const b = (s: string) => Buffer.from(s);

// Client-chosen lease IDs: etcd's own are 63-bit, beyond what this client keeps exact.
let nextLeaseId = 1 + Math.floor(Math.random() * 2 ** 40);
const grantLease = async (client: Client) => Number((await client.service('etcdserverpb.Lease').LeaseGrant!({ ID: nextLeaseId++, TTL: 600 })).ID);

/** Runs `one` in `workers` closed loops for `seconds`; each call's latency is recorded. */
async function closedLoops(workers: number, seconds: number, one: (worker: number) => Promise<void>): Promise<Rate> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (performance.now() < deadline) {
      const start = performance.now();
      await one(w);
      latencies.push(performance.now() - start);
    }
  }));
  latencies.sort((x, y) => x - y);
  return { perSec: latencies.length / ((performance.now() - t0) / 1000), p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

async function grants(client: Client, clients: number, seconds: number): Promise<Rate> {
  const lease = client.service('etcdserverpb.Lease');
  return closedLoops(clients, seconds, async () => {
    await lease.LeaseGrant!({ TTL: 600 });
  });
}

/** Keep-alives for `count` leases over `streams` streams, each stream renewing its leases in turn. */
async function keepAlives(client: Client, count: number, streams: number, seconds: number): Promise<Rate> {
  const ids: number[] = [];
  for (let i = 0; i < count; i += 200) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => grantLease(client)))));
  }
  const raw = client.raw('etcdserverpb.Lease') as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<any, any> };
  const calls = Array.from({ length: streams }, () => raw.LeaseKeepAlive());
  const pending = calls.map(() => [] as ((r: unknown) => void)[]);
  calls.forEach((c, s) => {
    c.on('data', () => pending[s]!.shift()?.(undefined));
    c.on('error', () => undefined); // cancelled at the end
  });
  // Each stream keeps a window of renewals in flight; answers come back in order.
  const window = 16;
  const rate = await closedLoops(streams * window, seconds, async (w) => {
    const s = w % streams;
    const id = ids[Math.floor(Math.random() * ids.length)]!;
    await new Promise((resolve) => {
      pending[s]!.push(resolve);
      calls[s]!.write({ ID: id });
    });
  });
  calls.forEach((c) => c.cancel());
  return rate;
}

async function locks(client: Client, contenders: number, seconds: number): Promise<Rate> {
  const lock = client.service('v3lockpb.Lock');
  const leases = await Promise.all(Array.from({ length: contenders }, () => grantLease(client)));
  return closedLoops(contenders, seconds, async (w) => {
    const held = await lock.Lock!({ name: b('bench-lock'), lease: leases[w]! });
    await lock.Unlock!({ key: held.key });
  });
}

async function main(): Promise<void> {
  const values = benchCommand('bench:lease', 'Leases and locks, kvd against etcd, alternating: grants, keep-alives, a contended lock.', 2)
    .addOption(option('--leases <list>', 'leases kept alive, a run for each', countList, '1000,10000'))
    .parse()
    .opts();
  const rounds: number = values.rounds;
  const seconds: number = values.seconds;
  const leaseCounts: number[] = values.leases;
  const targets: ('kvd' | 'etcd')[] = values.targets;
  const workloads = ['lease grant (16 clients)', ...leaseCounts.map((n) => `keep-alive, ${n} leases (4 streams)`), 'lock + unlock (8 contenders)'];
  const results = new Map<string, Rate[]>();
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? targets : [...targets].reverse()) {
      for (const workload of workloads) {
        // A fresh server per workload: leases granted by one do not weigh on the next.
        const server = await startServer({ kind });
        const client = connect(server.endpoint);
        try {
          const r = workload.startsWith('lease grant') ? await grants(client, 16, seconds)
            : workload.startsWith('lock') ? await locks(client, 8, seconds)
            : await keepAlives(client, Number(workload.match(/(\d+) leases/)![1]), 4, seconds);
          push(results, `${kind}|${workload}`, r);
          console.log(`round ${round + 1} ${kind.padEnd(4)} ${workload.padEnd(34)} ${r.perSec.toFixed(0).padStart(7)}/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms`);
        } finally {
          client.close();
          await server.stop();
        }
      }
    }
  }
  const lines = [
    `### ${new Date().toISOString().slice(0, 10)} — commit ${commit} — leases and locks, one member each`,
    '',
    `Machine: ${machine}. One client process; ${seconds} s per workload on a fresh server; ${rounds} alternating rounds; medians.`,
    '',
    '| workload | kvd /s | kvd p50 ms | kvd p99 ms | etcd /s | etcd p50 ms | etcd p99 ms | kvd/etcd rate |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const w of workloads) {
    const m = (kind: string, f: (r: Rate) => number) => median((results.get(`${kind}|${w}`) ?? []).map(f));
    lines.push(`| ${w} | ${fmt(m('kvd', (r) => r.perSec))} | ${fmt(m('kvd', (r) => r.p50Ms), 2)} | ${fmt(m('kvd', (r) => r.p99Ms), 2)} | ${fmt(m('etcd', (r) => r.perSec))} | ${fmt(m('etcd', (r) => r.p50Ms), 2)} | ${fmt(m('etcd', (r) => r.p99Ms), 2)} | ${fmt(m('kvd', (r) => r.perSec) / m('etcd', (r) => r.perSec), 2)} |`);
  }
  const table = lines.join('\n');
  console.log('\n' + table);
  if (values.write) appendToBenchmarks(table);
}

await main();
