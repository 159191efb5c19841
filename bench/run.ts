// Side-by-side benchmark: starts a fresh single member of kvd and of etcd (when installed)
// on loopback, alternating them over several rounds, runs each workload against both and
// reports medians and kvd/etcd ratios. `--write` records the table in BENCHMARKS.md.
import fs from 'node:fs';
import os from 'node:os';
import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult, type Workload } from './load.js';
import { startServer } from '../test/e2e/harness/server.js';
import { connect } from '../src/client/client.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    targets: { type: 'string', default: 'kvd,etcd' },
    write: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const durationMs = Number(values.seconds) * 1000;
const clients = Number(values.clients);
const hasEtcd = (() => { try { execSync('command -v etcd', { stdio: 'ignore', shell: '/bin/sh' }); return true; } catch { return false; } })();
const targets = values.targets!.split(',').filter((t) => t === 'kvd' || hasEtcd) as ('kvd' | 'etcd')[];
const workloads: Workload[] = ['put', 'range-linearizable', 'range-serializable'];
const KEYS = 1000;

const results = new Map<string, LoadResult[]>();

async function prefill(endpoint: string) {
  const c = connect(endpoint);
  const value = Buffer.alloc(256, 'v');
  for (let i = 0; i < KEYS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => c.kv.Put!({ key: Buffer.from(`bench/${i + j}`), value })));
  }
  c.close();
}

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const kind of order) {
    const server = await startServer({ kind });
    try {
      await prefill(server.endpoint);
      for (const workload of workloads) {
        const r = await runLoad({ endpoint: server.endpoint, workload, clients, connections: 4, durationMs, maxRequests: 2_000_000, valueSize: 256, keySpace: KEYS });
        const key = `${kind}|${workload}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(`round ${round + 1} ${kind.padEnd(4)} ${workload.padEnd(19)} ${r.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  errors ${r.errors}`);
      }
    } finally {
      await server.stop();
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const commit = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const lines = [
  `### ${new Date().toISOString().slice(0, 10)} — commit ${commit}`,
  '',
  `Machine: ${machine}. One member each on loopback, ${clients} concurrent clients over 4 connections, 256-byte values, ${KEYS} keys, ${values.seconds} s per workload, ${rounds} alternating rounds; medians.`,
  '',
  '| workload | kvd ops/s | kvd p50 ms | kvd p99 ms | etcd ops/s | etcd p50 ms | etcd p99 ms | kvd/etcd ops |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const w of workloads) {
  const m = (kind: string, f: (r: LoadResult) => number) => {
    const rs = results.get(`${kind}|${w}`);
    return rs ? median(rs.map(f)) : NaN;
  };
  const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '—' : n.toFixed(d));
  const ratio = m('kvd', (r) => r.opsPerSec) / m('etcd', (r) => r.opsPerSec);
  lines.push(`| ${w} | ${fmt(m('kvd', (r) => r.opsPerSec))} | ${fmt(m('kvd', (r) => r.p50Ms), 2)} | ${fmt(m('kvd', (r) => r.p99Ms), 2)} | ${fmt(m('etcd', (r) => r.opsPerSec))} | ${fmt(m('etcd', (r) => r.p50Ms), 2)} | ${fmt(m('etcd', (r) => r.p99Ms), 2)} | ${fmt(ratio, 2)} |`);
}
const table = lines.join('\n');
console.log('\n' + table);
if (values.write) {
  const file = 'BENCHMARKS.md';
  const head = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nkvd against etcd on the same machine, same run, same load generator (`npm run bench`).\n';
  fs.writeFileSync(file, head.trimEnd() + '\n\n' + table + '\n');
}
