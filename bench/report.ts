// What every benchmark report shares: medians, number formatting, the machine and commit
// line, and appending a table to BENCHMARKS.md.
import fs from 'node:fs';
import os from 'node:os';
import { execSync } from 'node:child_process';

export const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '—' : n.toFixed(d));

export const commit = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { return 'unknown'; } })();

export const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

export const hasEtcd = (() => { try { execSync('command -v etcd', { stdio: 'ignore', shell: '/bin/sh' }); return true; } catch { return false; } })();

export const push = <T>(m: Map<string, T[]>, key: string, v: T) => m.set(key, [...(m.get(key) ?? []), v]);

export function appendToBenchmarks(table: string): void {
  const file = 'BENCHMARKS.md';
  const head = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n\nkvd against etcd on the same machine, same run, same load generator (`npm run bench`).\n';
  fs.writeFileSync(file, head.trimEnd() + '\n\n' + table + '\n');
}

/** The latencies of several threads as one sorted array. */
export function mergeSorted(parts: Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all.sort();
}

export const percentile = (sorted: ArrayLike<number>, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
