// tsctl check perf and check datascale at etcdctl's small models against one kvd member. Perf: a minute of puts at 150/s
// from 50 clients, judged by etcdctl's criteria and printed in its lines; the keys it wrote
// are deleted afterwards. Whether the criteria pass depends on the machine's speed, which a
// test does not judge: bench/ records it (npm run bench -- --check-perf s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';

test('tsctl check perf --load=s runs against kvd, reports as etcdctl does and cleans up after itself', async () => {
  const kvd = await startServer({ kind: 'kvd' });
  try {
    const r = await etcdctl(kvd.endpoint, ['check', 'perf', '--load=s', '--auto-compact'], { tool: 'tsctl', timeoutMs: 120_000 });
    const report = /^Compacting with revision (\d+)\nCompacted with revision \1\n(PASS: Throughput is|FAIL: Throughput too low:) \d+ writes\/s\n(PASS: Slowest request took|Slowest request took too long:) \d+\.\d{6}s\n(PASS: Stddev is|Stddev too high:) \d+\.\d{6}s\n(PASS|FAIL)\n$/;
    assert.match(r.stdout, report, r.stderr);
    // The verdict is the criteria's, and so is the exit code.
    const verdict = r.stdout.match(report)![5];
    assert.equal(verdict === 'PASS', r.stdout.split('\n').slice(2, 5).every((line) => line.startsWith('PASS: ')));
    assert.equal(r.code, verdict === 'PASS' ? 0 : 1);
    const writes = Number(r.stdout.match(/Throughput is (\d+)/)![1]);
    // The model offers 150 writes/s for 60 s: what was written is what the revision counts.
    const revision = Number(r.stdout.match(/Compacting with revision (\d+)/)![1]);
    assert.ok(Math.abs(revision - 2 - writes * 60) <= writes * 6, `${writes} writes/s, revision ${revision}`);
    const left = await etcdctl(kvd.endpoint, ['get', '/etcdctl-check-perf/', '--prefix', '--keys-only', '-w', 'json']);
    assert.equal(JSON.parse(left.stdout).count ?? 0, 0);
  } finally {
    await kvd.stop();
  }
});

test('tsctl check datascale --load=s reports as etcdctl does against kvd (its /metrics) and cleans up after itself', async () => {
  const kvd = await startServer({ kind: 'kvd' });
  try {
    // etcdctl draws its progress bar on any output; tsctl only on a terminal. The memory differs run to run.
    const lines = (out: string) => out.split('\n').filter((l) => !/^\r? *\d+ \/ \d+/.test(l)).join('\n').replace(/: [\d.]+ MB\./, ': <n> MB.');
    const [ctl, ts] = [await etcdctl(kvd.endpoint, ['check', 'datascale', '--load=s'], { timeoutMs: 120_000 }), await etcdctl(kvd.endpoint, ['check', 'datascale', '--load=s'], { tool: 'tsctl', timeoutMs: 120_000 })];
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.match(ts.stdout, /^Start data scale check for work load \[10000 key-value pairs, 1024 bytes per key-value, 50 concurrent clients\]\.\nPASS: Approximate system memory used : \d+\.\d\d MB\.\n$/);
    assert.equal(lines(ts.stdout), lines(ctl.stdout));
    assert.equal(ts.code, ctl.code);
    const left = await etcdctl(kvd.endpoint, ['get', '/etcdctl-check-datascale/', '--prefix', '--keys-only', '-w', 'json']);
    assert.equal(JSON.parse(left.stdout).count ?? 0, 0);
  } finally {
    await kvd.stop();
  }
});
