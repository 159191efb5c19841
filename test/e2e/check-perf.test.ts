// tsctl check perf at etcdctl's small model against one kvd member: a minute of puts at 150/s
// from 50 clients, judged by etcdctl's criteria and printed in its lines; the keys it wrote
// are deleted afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';

test('tsctl check perf --load=s passes against kvd and cleans up after itself', async () => {
  const kvd = await startServer({ kind: 'kvd' });
  try {
    const r = await etcdctl(kvd.endpoint, ['check', 'perf', '--load=s', '--auto-compact'], { tool: 'tsctl', timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Compacting with revision (\d+)\nCompacted with revision \1\nPASS: Throughput is \d+ writes\/s\nPASS: Slowest request took \d+\.\d{6}s\nPASS: Stddev is \d+\.\d{6}s\nPASS\n$/);
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
