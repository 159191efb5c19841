// tsctl snapshot save, status and restore: files saved by tsctl and by etcdctl from one kvd
// read the same; status prints etcdctl's formats (checked against etcdctl's status of an etcd
// snapshot of the same writes); a 3-member kvd cluster restored from one snapshot serves the
// same keys, values and revisions as a new cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, startServer, type Server } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';

const tsctl = (endpoint: string, args: string[]) => etcdctl(endpoint, args, { tool: 'tsctl', timeoutMs: 60_000 });
const FORMATS = ['simple', 'json', 'table', 'fields'];

/** The same writes on any server: puts, overwrites and a delete. */
async function writeSample(server: Server): Promise<void> {
  for (let i = 0; i < 20; i++) assert.equal((await etcdctl(server.endpoint, ['put', `k${i}`, `v${i}`])).code, 0);
  assert.equal((await etcdctl(server.endpoint, ['put', 'k3', 'again'])).code, 0);
  assert.equal((await etcdctl(server.endpoint, ['del', 'k4'])).code, 0);
}

/** Status output with the values that depend on the storage engine (hash, keys, size) blanked. */
function normalizeStatus(format: string, out: string): string {
  switch (format) {
    case 'simple': return out.replace(/^[0-9a-f]+, (\d+), \d+, [\d.]+ [kMG]?B$/m, 'HASH, $1, KEYS, SIZE');
    case 'json': return out.replace(/"hash":\d+/, '"hash":0').replace(/"totalKey":\d+/, '"totalKey":0').replace(/"totalSize":\d+/, '"totalSize":0');
    case 'fields': return out.replace(/("Hash"|"Keys"|"Size") : \d+/g, '$1 : N');
    default: // table: the cell values blanked, then the padding that depends on their widths
      return out.replace(/^\| [0-9a-f]+ \|(\s+\d+ )\| +\d+ \| +[\d.]+ [kMG]?B \|$/m, '| HASH |$1| KEYS | SIZE |').replace(/-+/g, '-').replace(/ +/g, ' ');
  }
}

test('snapshots saved by tsctl and etcdctl read the same; status prints as etcdctl', async () => {
  const [kvd, etcd] = await Promise.all([startServer({ kind: 'kvd' }), startServer({ kind: 'etcd' })]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-snapshot-'));
  try {
    await writeSample(kvd);
    await writeSample(etcd);
    const [bySelf, byEtcdctl, ofEtcd] = ['tsctl.db', 'etcdctl.db', 'etcd.db'].map((f) => path.join(dir, f)) as [string, string, string];
    const saved = await tsctl(kvd.endpoint, ['snapshot', 'save', bySelf]);
    assert.deepEqual([saved.code, saved.stdout], [0, `Snapshot saved at ${bySelf}\n`]);
    assert.equal((await etcdctl(kvd.endpoint, ['snapshot', 'save', byEtcdctl])).code, 0);
    assert.equal((await etcdctl(etcd.endpoint, ['snapshot', 'save', ofEtcd])).code, 0);
    assert.equal(fs.existsSync(`${bySelf}.part`), false);

    const revision = JSON.parse((await etcdctl(kvd.endpoint, ['get', 'k0', '-w', 'json'])).stdout).header.revision;
    for (const format of FORMATS) {
      const mine = await tsctl(kvd.endpoint, ['snapshot', 'status', bySelf, '-w', format]);
      const theirs = await tsctl(kvd.endpoint, ['snapshot', 'status', byEtcdctl, '-w', format]);
      assert.equal(mine.code, 0, mine.stderr);
      // The same data gives the same hash, keys and size whoever saved it.
      assert.equal(theirs.stdout, mine.stdout);
      const reference = await etcdctl(etcd.endpoint, ['snapshot', 'status', ofEtcd, '-w', format]);
      assert.equal(normalizeStatus(format, mine.stdout), normalizeStatus(format, reference.stdout), `-w ${format}`);
    }
    const status = JSON.parse((await tsctl(kvd.endpoint, ['snapshot', 'status', bySelf, '-w', 'json'])).stdout);
    assert.equal(status.revision, revision);
    assert.equal(status.totalSize, fs.statSync(bySelf).size - 32);

    // A snapshot of more data has another hash.
    assert.equal((await etcdctl(kvd.endpoint, ['put', 'k0', 'changed'])).code, 0);
    const later = path.join(dir, 'later.db');
    assert.equal((await tsctl(kvd.endpoint, ['snapshot', 'save', later])).code, 0);
    const laterStatus = JSON.parse((await tsctl(kvd.endpoint, ['snapshot', 'status', later, '-w', 'json'])).stdout);
    assert.notEqual(laterStatus.hash, status.hash);
    assert.equal(laterStatus.revision, revision + 1);

    // A damaged file is refused with etcd's message, whichever tool restores it.
    const damaged = path.join(dir, 'damaged.db');
    const bytes = fs.readFileSync(bySelf);
    bytes[bytes.length - 100]! ^= 0xff;
    fs.writeFileSync(damaged, bytes);
    const refused = await tsctl(kvd.endpoint, ['snapshot', 'restore', damaged, '--data-dir', path.join(dir, 'never')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: expected sha256 \[[\d ]+\], got \[[\d ]+\]\n$/);
    assert.equal(fs.existsSync(path.join(dir, 'never')), false);
  } finally {
    await Promise.all([kvd.stop(), etcd.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

interface Kv { key: string; value?: string; create_revision: number; mod_revision: number; version: number }

async function allKeys(endpoint: string): Promise<{ revision: number; kvs: Kv[] }> {
  const r = await etcdctl(endpoint, ['get', '', '--from-key', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  return { revision: res.header.revision, kvs: res.kvs };
}

test('a 3-member cluster restored from one snapshot serves the same data as a new cluster', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-restore-'));
  const file = path.join(dir, 'backup.db');
  let before: { revision: number; kvs: Kv[] };
  let oldIds: string[];
  const original = await startCluster({ kind: 'kvd', size: 3 });
  try {
    const [a, b] = original.endpoints as [string, string];
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => etcdctl(original.endpoints[(i + j) % 3]!, ['put', `key/${String(i + j).padStart(3, '0')}`, `value-${i + j}`])));
    }
    for (let i = 0; i < 500; i += 7) assert.equal((await etcdctl(a, ['put', `key/${String(i).padStart(3, '0')}`, `overwritten-${i}`])).code, 0);
    for (let i = 3; i < 500; i += 11) assert.equal((await etcdctl(b, ['del', `key/${String(i).padStart(3, '0')}`])).code, 0);
    before = await allKeys(a);
    assert.equal(before.kvs.length, 500 - Math.ceil((500 - 3) / 11));
    oldIds = JSON.parse((await etcdctl(a, ['member', 'list', '-w', 'json'])).stdout).members.map((m: { ID: number }) => String(m.ID));
    const saved = await tsctl(b, ['snapshot', 'save', file]);
    assert.equal(saved.code, 0, saved.stderr);
  } finally {
    await original.stop();
  }

  // etcdctl's refusal of an existing data dir, word for word.
  const existing = fs.mkdtempSync(path.join(dir, 'existing-'));
  const ours = await tsctl('127.0.0.1:1', ['snapshot', 'restore', file, '--data-dir', existing]);
  const etcds = await etcdctl('127.0.0.1:1', ['snapshot', 'restore', file, '--data-dir', existing]);
  assert.equal(ours.code, 1);
  assert.equal(ours.stderr, `Error: data-dir "${existing}" exists\n`);
  assert.equal(ours.stderr, etcds.stderr.split('\n').filter((l) => l.startsWith('Error:')).join('\n') + '\n');

  const restored = await startCluster({
    kind: 'kvd',
    size: 3,
    dataDirOf: async (member, initialCluster, token) => {
      const dataDir = path.join(dir, member.name);
      const r = await tsctl('127.0.0.1:1', ['snapshot', 'restore', file, '--name', member.name, '--data-dir', dataDir,
        '--initial-cluster', initialCluster, '--initial-cluster-token', token, '--initial-advertise-peer-urls', member.peerURL]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
      return dataDir;
    },
  });
  try {
    for (const endpoint of restored.endpoints) {
      const after = await allKeys(endpoint);
      assert.equal(after.revision, before.revision);
      assert.deepEqual(after.kvs, before.kvs);
    }
    const members = JSON.parse((await etcdctl(restored.endpoints[0]!, ['member', 'list', '-w', 'json'])).stdout).members;
    assert.deepEqual(members.map((m: { name: string }) => m.name).sort(), ['m1', 'm2', 'm3']);
    for (const m of members) assert.ok(!oldIds.includes(String(m.ID)), 'restored members have new IDs');
    // The new cluster takes writes from its next revision on, on every member.
    assert.equal((await etcdctl(restored.endpoints[2]!, ['put', 'key/new', 'x'])).code, 0);
    for (const endpoint of restored.endpoints) {
      const r = JSON.parse((await etcdctl(endpoint, ['get', 'key/new', '-w', 'json'])).stdout);
      assert.equal(r.kvs[0].mod_revision, before.revision + 1);
    }
  } finally {
    await restored.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
