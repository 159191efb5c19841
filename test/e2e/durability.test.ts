// Durability of a single member: acknowledged writes survive SIGKILL, revisions continue,
// a torn WAL tail is truncated on restart and a corrupt WAL record refuses start-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer } from './harness/server.js';
import { connect } from '../../src/client/client.js';

const WRITERS = 16;

async function putUntilKilled(endpoint: string, killAfterMs: number, kill: () => void) {
  const client = connect(endpoint);
  const acked = new Map<string, string>();
  let stop = false;
  let maxRevision = 0;
  const writer = async (w: number) => {
    for (let i = 0; !stop && i < 100_000; i++) {
      const key = `k/${w}/${i}`;
      const value = `v-${w}-${i}`;
      try {
        const res = await client.kv.Put!({ key: Buffer.from(key), value: Buffer.from(value) }, { deadlineMs: 3000 });
        acked.set(key, value);
        maxRevision = Math.max(maxRevision, res.header.revision);
      } catch {
        return; // the server is gone: this writer's later puts were never acknowledged
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  await new Promise((r) => setTimeout(r, killAfterMs));
  kill();
  stop = true;
  await Promise.all(writers);
  client.close();
  return { acked, maxRevision };
}

async function readAll(endpoint: string) {
  const client = connect(endpoint);
  try {
    const res = await client.kv.Range!({ key: Buffer.from('k/'), range_end: Buffer.from('k0') });
    const kvs = new Map<string, string>(res.kvs.map((kv: any) => [kv.key.toString(), kv.value.toString()]));
    return { kvs, revision: res.header.revision as number };
  } finally {
    client.close();
  }
}

test('acknowledged puts survive SIGKILL and revisions continue', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const { acked, maxRevision } = await putUntilKilled(server.endpoint, 1500, () => server.kill9());
    assert.ok(acked.size > 100, `only ${acked.size} puts were acknowledged before the kill`);
    await server.restart();
    const { kvs, revision } = await readAll(server.endpoint);
    for (const [k, v] of acked) assert.equal(kvs.get(k), v, `acknowledged put ${k} lost`);
    assert.ok(revision >= maxRevision, `revision went back: ${revision} < ${maxRevision}`);
    const client = connect(server.endpoint);
    const res = await client.kv.Put!({ key: Buffer.from('after'), value: Buffer.from('restart') });
    client.close();
    assert.equal(res.header.revision, revision + 1);
  } finally {
    await server.stop();
  }
});

test('after log compaction, a SIGKILL restart replays from the compaction mark without losing acknowledged puts', async () => {
  const server = await startServer({ kind: 'kvd', extraArgs: ['--snapshot-count', '50', '--log-level', 'info'] });
  try {
    const { acked } = await putUntilKilled(server.endpoint, 1500, () => server.kill9());
    assert.match(server.logs(), /compacted the raft log/);
    await server.restart();
    const { kvs } = await readAll(server.endpoint);
    for (const [k, v] of acked) assert.equal(kvs.get(k), v, `acknowledged put ${k} lost`);
  } finally {
    await server.stop();
  }
});

function walSegments(dataDir: string): string[] {
  const dir = path.join(dataDir, 'member', 'wal');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort().map((f) => path.join(dir, f));
}

/** Offset just past the last non-zero byte: the end of the written records in a preallocated segment. */
function dataEnd(file: string): number {
  const buf = fs.readFileSync(file);
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

test('a torn WAL tail is truncated and the member starts', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const client = connect(server.endpoint);
    for (let i = 0; i < 50; i++) await client.kv.Put!({ key: Buffer.from(`k/${i}`), value: Buffer.from(`v${i}`) });
    client.close();
    server.kill9();
    const last = walSegments(server.dataDir).at(-1)!;
    const end = dataEnd(last);
    // Zero the last 5 bytes written, as a crash in the middle of writing a record leaves it.
    const fd = fs.openSync(last, 'r+');
    fs.writeSync(fd, Buffer.alloc(5), 0, 5, end - 5);
    fs.closeSync(fd);
    await server.restart();
    const { kvs } = await readAll(server.endpoint);
    // Only the torn record (the last put) may be gone.
    for (let i = 0; i < 49; i++) assert.equal(kvs.get(`k/${i}`), `v${i}`);
    const c2 = connect(server.endpoint);
    await c2.kv.Put!({ key: Buffer.from('k/after'), value: Buffer.from('ok') });
    c2.close();
    assert.equal((await readAll(server.endpoint)).kvs.get('k/after'), 'ok');
  } finally {
    await server.stop();
  }
});

test('a corrupt WAL record refuses start-up with a message naming file and offset', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const client = connect(server.endpoint);
    for (let i = 0; i < 50; i++) await client.kv.Put!({ key: Buffer.from(`k/${i}`), value: Buffer.from(`value-${i}`) });
    client.close();
    await server.shutdown();
    const last = walSegments(server.dataDir).at(-1)!;
    const end = dataEnd(last);
    const fd = fs.openSync(last, 'r+');
    const at = Math.floor(end / 2);
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);
    const kvd = path.resolve(import.meta.dirname, '../../../bin/kvd');
    const run = spawnSync(process.execPath, [kvd, '--data-dir', server.dataDir, '--listen-client-urls', 'http://127.0.0.1:0', '--log-level', 'error'], { timeout: 20_000, encoding: 'utf8' });
    assert.notEqual(run.status, 0, 'kvd started on a corrupt WAL');
    assert.match(run.stderr + run.stdout, new RegExp(`corrupt.*${path.basename(last)}.*offset \\d+`));
  } finally {
    await server.stop();
  }
});
