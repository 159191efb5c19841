// Snapshot, RangeStream and shutdown over gRPC: a snapshot ends with the sha256 of what came
// before it; RangeStream pages add up to the whole range at one revision; SIGTERM exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { connect, type Client } from '../../src/client/client.js';
import { startServer } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { waitFor } from './harness/cluster-status.js';

test('Snapshot streams a consistent copy ending with its sha256', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    for (let i = 0; i < 100; i++) await client.kv.Put!({ key: Buffer.from(`s/${i}`), value: Buffer.alloc(1000, 'x') });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = (client.raw('etcdserverpb.Maintenance') as any).Snapshot({});
      call.on('data', (m: any) => chunks.push(Buffer.from(m.blob)));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const all = Buffer.concat(chunks);
    assert.ok(all.length > 100_000);
    const body = all.subarray(0, all.length - 32);
    assert.deepEqual(all.subarray(all.length - 32), createHash('sha256').update(body).digest());
  } finally {
    client.close();
    await server.stop();
  }
});

test('a snapshot stream its client leaves unread and cancels leaves no copy of the database behind', async () => {
  const copies = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('kvd-snapshot-')).length;
  const before = copies();
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    for (let i = 0; i < 30; i++) await client.kv.Put!({ key: Buffer.from(`s/${i}`), value: Buffer.alloc(1_000_000, 'x') });
    for (let round = 0; round < 3; round++) {
      // Not read: the server fills the stream's window and waits for it to drain.
      const call = (client.raw('etcdserverpb.Maintenance') as any).Snapshot({});
      call.on('error', () => {});
      await waitFor('the snapshot copy', async () => (copies() > before ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      call.cancel();
    }
    await waitFor('the copies to be removed', async () => (copies() === before ? true : undefined));
  } finally {
    client.close();
    await server.stop();
  }
});

test('RangeStream returns the whole range in pages read at one revision', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    const n = 2500;
    for (let i = 0; i < n; i += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, j) => client.kv.Put!({ key: Buffer.from(`r/${String(i + j).padStart(5, '0')}`), value: Buffer.from('v') })));
    }
    const pages: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = (client.raw('etcdserverpb.KV') as any).RangeStream({ key: Buffer.from('r/'), range_end: Buffer.from('r0') });
      call.on('data', (m: any) => pages.push(m.range_response));
      call.on('end', resolve);
      call.on('error', reject);
    });
    assert.ok(pages.length >= 3, `expected several pages, got ${pages.length}`);
    const keys = pages.flatMap((p) => (p.kvs ?? []).map((kv: any) => kv.key.toString()));
    assert.equal(keys.length, n);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(Number(pages[0].count), n);
    assert.ok(pages[0].header.revision > 0);
    const limited: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = (client.raw('etcdserverpb.KV') as any).RangeStream({ key: Buffer.from('r/'), range_end: Buffer.from('r0'), limit: 1500 });
      call.on('data', (m: any) => limited.push(m.range_response));
      call.on('end', resolve);
      call.on('error', reject);
    });
    assert.equal(limited.flatMap((p) => p.kvs ?? []).length, 1500);
    assert.equal(limited.at(-1).more, true);
  } finally {
    client.close();
    await server.stop();
  }
});

test('SIGTERM drains and exits 0; the data is there after restart', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const client = connect(server.endpoint);
    await client.kv.Put!({ key: Buffer.from('kept'), value: Buffer.from('yes') });
    client.close();
    const pid = server.pid()!;
    await server.shutdown();
    assert.match(server.logs(), /"msg":"stopped"|^$/m);
    assert.throws(() => process.kill(pid, 0), 'the process is gone');
    await server.restart();
    const again = connect(server.endpoint);
    const res = await again.kv.Range!({ key: Buffer.from('kept') });
    again.close();
    assert.equal(res.kvs[0].value.toString(), 'yes');
  } finally {
    await server.stop();
  }
});

/** Puts `txns` × 100 keys of 8 KiB under f/. */
async function fill(client: Client, txns: number): Promise<void> {
  const filler = Buffer.alloc(8 * 1024, 'f');
  for (let t = 0; t < txns; t++) {
    await client.kv.Txn!({ success: Array.from({ length: 100 }, (_, i) => ({ request_put: { key: Buffer.from(`f/${t}/${i}`), value: filler } })) });
  }
}

test('defragmentation under concurrent writes loses no acknowledged write and reuses no revision', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    await fill(client, 20); // enough data that copying the database takes a while
    const acked = new Map<string, number>();
    let writing = true;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; writing; i++) {
        const key = `d/${w}/${i}`;
        const r = await client.kv.Put!({ key: Buffer.from(key), value: Buffer.from(key) });
        acked.set(key, Number(r.header.revision));
      }
    });
    for (let d = 0; d < 5; d++) {
      await new Promise((r) => setTimeout(r, 100));
      await client.maintenance.Defragment!({});
    }
    writing = false;
    await Promise.all(writers);
    assert.ok(acked.size > 100, `writes went on meanwhile (${acked.size})`);
    const stored = await client.kv.Range!({ key: Buffer.from('d/'), range_end: Buffer.from('d0') });
    const found = new Map<string, number>(stored.kvs.map((kv: any) => [kv.key.toString(), Number(kv.mod_revision)]));
    for (const [key, rev] of acked) assert.equal(found.get(key), rev, `${key} written at revision ${rev}`);
    assert.equal(new Set(found.values()).size, found.size, 'every put has its own revision');
  } finally {
    client.close();
    await server.stop();
  }
});

test('--auto-compaction-mode periodic compacts the history older than the retention', async () => {
  const server = await startServer({ kind: 'kvd', extraArgs: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '2s', '--log-level', 'info'] });
  const client = connect(server.endpoint);
  try {
    const first = Number((await client.kv.Put!({ key: Buffer.from('ac'), value: Buffer.from('1') })).header.revision);
    const deadline = Date.now() + 15_000;
    let compacted = false;
    while (!compacted && Date.now() < deadline) {
      await client.kv.Put!({ key: Buffer.from('ac'), value: Buffer.from(String(Date.now())) });
      await new Promise((r) => setTimeout(r, 200));
      compacted = await client.kv.Range!({ key: Buffer.from('ac'), revision: first }).then(() => false, (err) => /compacted/.test(err.details));
    }
    assert.ok(compacted, 'the first revision was compacted away');
    assert.match(server.logs(), /completed auto compaction/);
    // The retention is kept: the latest revisions are still readable.
    const now = Number((await client.kv.Range!({ key: Buffer.from('ac') })).header.revision);
    await client.kv.Range!({ key: Buffer.from('ac'), revision: now - 1 });
  } finally {
    client.close();
    await server.stop();
  }
});

test('NOSPACE: past --quota-backend-bytes writes fail and the alarm is raised (and shown in the status); reads and deletes go on; compaction, defrag and alarm disarm restore writes', async () => {
  const server = await startServer({ kind: 'kvd', extraArgs: ['--quota-backend-bytes', String(2_000_000)] });
  const ctl = (...args: string[]) => etcdctl(server.endpoint, args);
  try {
    const value = 'x'.repeat(100_000);
    let refused: string | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const r = await ctl('put', `k${i % 5}`, value);
      if (r.code !== 0) refused = r.stderr;
    }
    assert.match(refused ?? '', /Error: etcdserver: mvcc: database space exceeded/);
    assert.match((await ctl('alarm', 'list')).stdout, /^memberID:\d+ alarm:NOSPACE $/m);
    assert.match(JSON.parse((await ctl('endpoint', 'status', '-w', 'json')).stdout)[0].Status.errors.join(), /^memberID:\d+ alarm:NOSPACE $/, 'status lists the alarm');
    assert.match((await ctl('put', 'small', 'v')).stderr, /database space exceeded/, 'every write is refused while the alarm is raised');
    assert.match((await etcdctl(server.endpoint, ['txn'], { stdin: '\n\nput t 1\n\n' })).stderr, /database space exceeded/);
    assert.equal((await ctl('get', 'k1', '--keys-only')).stdout.trim(), 'k1', 'reads go on');
    assert.equal((await ctl('del', 'k1')).stdout.trim(), '1', 'deletes go on');
    const health = await fetch(`http://${server.endpoint}/health`);
    assert.equal(health.status, 503);
    assert.equal((await health.text()).trim(), '{"health":"false"}');
    assert.equal((await fetch(`http://${server.endpoint}/readyz`)).status, 503);
    assert.equal(await (await fetch(`http://${server.endpoint}/livez`)).text(), 'ok');

    const rev = JSON.parse((await ctl('get', 'k0', '-w', 'json')).stdout).header.revision;
    assert.equal((await ctl('compaction', String(rev))).code, 0);
    assert.equal((await ctl('defrag')).code, 0);
    assert.match((await ctl('alarm', 'disarm')).stdout, /^memberID:\d+ alarm:NOSPACE $/m);
    assert.equal((await ctl('alarm', 'list')).stdout, '');
    assert.equal(JSON.parse((await ctl('endpoint', 'status', '-w', 'json')).stdout)[0].Status.errors, undefined);
    assert.equal((await ctl('put', 'small', 'v')).stdout.trim(), 'OK');
    assert.equal((await fetch(`http://${server.endpoint}/health`)).status, 200);
    assert.equal(await (await fetch(`http://${server.endpoint}/readyz`)).text(), 'ok');
  } finally {
    await server.stop();
  }
});

test('defragmentation: reads and writes go on while the compact copy is made', async () => {
  const server = await startServer({ kind: 'kvd' });
  const client = connect(server.endpoint);
  try {
    await fill(client, 60);
    await client.kv.DeleteRange!({ key: Buffer.from('f/'), range_end: Buffer.from('f0') }); // space to reclaim
    let done = false;
    const defrag = client.maintenance.Defragment!({}).finally(() => (done = true));
    let puts = 0;
    let gets = 0;
    for (let i = 0; !done; i++) {
      await client.kv.Put!({ key: Buffer.from(`during/${i}`), value: Buffer.from('v') });
      if (!done) puts++;
      await client.kv.Range!({ key: Buffer.from(`during/${i}`) });
      if (!done) gets++;
    }
    await defrag;
    assert.ok(puts >= 3 && gets >= 3, `writes (${puts}) and reads (${gets}) were answered while the database was copied`);
    const all = await client.kv.Range!({ key: Buffer.from('during/'), range_end: Buffer.from('during0'), count_only: true });
    assert.ok(Number(all.count) >= puts, 'every write made during the defragmentation is in the new file');
  } finally {
    client.close();
    await server.stop();
  }
});
