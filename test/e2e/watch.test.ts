// etcd's watch guarantees with concurrent writers against real kvd processes — ordered, unique,
// reliable, atomic, resumable (a client resuming from its last revision + 1 misses and repeats
// nothing) and bookmarkable (progress responses) — on one member, across a leader change in a
// 3-member cluster, and across a kill -9 and restart of the member the client watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, startServer } from './harness/server.js';
import { agreedLeader } from './harness/cluster-status.js';
import { WatchRecorder, Writers } from './harness/watch-recorder.js';
import { connect } from '../../src/client/client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prefixEnd = (p: string) => Buffer.from(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));
const under = (p: string) => (key: string) => key.startsWith(p);

async function currentRevision(endpoint: string): Promise<number> {
  const c = connect(endpoint);
  try {
    return Number((await c.kv.Range!({ key: Buffer.from('-') })).header.revision);
  } finally {
    c.close();
  }
}

/** Asks every recorder for progress until `done` settles, so bookmarks interleave with events. */
async function withProgressRequests<T>(recorders: WatchRecorder[], done: Promise<T>): Promise<T> {
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    recorders.forEach((r) => r.requestProgress());
    await sleep(150);
  }
  return done;
}

test('watch guarantees on one member: history catch-up then live, prefix and single key, prev_kv, resume, progress', async () => {
  const server = await startServer({ kind: 'kvd' });
  const recorders: WatchRecorder[] = [];
  try {
    const endpoints = [server.endpoint];
    const early = new Writers(endpoints, 'w/');
    await early.run(2, 20); // history for a watcher that starts at revision 1
    const liveFrom = (await currentRevision(server.endpoint)) + 1;
    const fromStart = new WatchRecorder(endpoints, { key: Buffer.from('w/'), range_end: prefixEnd('w/') }, 1);
    const live = new WatchRecorder(endpoints, { key: Buffer.from('w/'), range_end: prefixEnd('w/'), prev_kv: true }, liveFrom);
    const oneKey = new WatchRecorder(endpoints, { key: Buffer.from('w/1/2') }, 1);
    recorders.push(fromStart, live, oneKey);
    recorders.forEach((r) => r.start());

    const writers = new Writers(endpoints, 'w/');
    const running = writers.run(4, 150);
    // Halfway through the writes, a client resumes from its last revision + 1 on a new stream.
    const resumed = (async () => {
      while (writers.acked.length < 300) await sleep(20);
      fromStart.reconnect();
    })();
    await withProgressRequests(recorders, Promise.all([running, resumed]));
    assert.equal(writers.failed, 0);
    const last = writers.lastRev;
    await Promise.all(recorders.map((r) => r.reach(last)));

    const acked = [...early.acked, ...writers.acked];
    const attempted = new Set([...early.attempted, ...writers.attempted]);
    fromStart.check(acked, attempted, under('w/'), 1);
    live.check(acked, attempted, under('w/'), liveFrom);
    oneKey.check(acked, attempted, (k) => k === 'w/1/2', 1);
    assert.ok(fromStart.events.length > 0);
    assert.ok(live.bookmarks.length > 0, 'progress responses were received');
    // prev_kv: a put over an existing key carries the value it replaced.
    const overwrites = live.events.filter((e) => e.type === 'PUT' && e.prevValue !== undefined);
    assert.ok(overwrites.length > 0, 'puts over existing keys carry prev_kv');
    for (const e of overwrites) assert.ok(attempted.has(e.prevValue!));
  } finally {
    recorders.forEach((r) => r.stop());
    await server.stop();
  }
});

test('watch guarantees across a leader change in a 3-member cluster', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3 });
  const recorders: WatchRecorder[] = [];
  try {
    const endpoints = cluster.endpoints;
    // One watcher per member, each resuming on the next member when its own goes away.
    for (let i = 0; i < 3; i++) {
      const rotated = [...endpoints.slice(i), ...endpoints.slice(0, i)];
      recorders.push(new WatchRecorder(rotated, { key: Buffer.from('c/'), range_end: prefixEnd('c/') }, 1));
    }
    recorders.forEach((r) => r.start());
    const writers = new Writers(endpoints, 'c/');
    const running = writers.run(4, 120);
    await sleep(1500);
    const leader = await agreedLeader(cluster.members);
    leader.kill9();
    await sleep(2000);
    await leader.restart();
    await withProgressRequests(recorders, running);
    const last = writers.lastRev;
    await Promise.all(recorders.map((r) => r.reach(last)));
    assert.ok(recorders.some((r) => r.resumes > 0), 'the watcher on the killed leader resumed elsewhere');
    for (const r of recorders) r.check(writers.acked, writers.attempted, under('c/'), 1);
  } finally {
    recorders.forEach((r) => r.stop());
    await cluster.stop();
  }
});

test('watch guarantees across a kill -9 and restart of the watched member', async () => {
  const server = await startServer({ kind: 'kvd' });
  const recorders: WatchRecorder[] = [];
  try {
    const endpoints = [server.endpoint];
    const watcher = new WatchRecorder(endpoints, { key: Buffer.from('r/'), range_end: prefixEnd('r/'), prev_kv: true }, 1);
    recorders.push(watcher);
    watcher.start();
    const writers = new Writers(endpoints, 'r/');
    const running = writers.run(3, 150);
    await sleep(1500);
    server.kill9();
    await sleep(500);
    await server.restart();
    await withProgressRequests(recorders, running);
    await watcher.reach(writers.lastRev);
    assert.ok(watcher.resumes > 0, 'the watcher resumed after the restart');
    watcher.check(writers.acked, writers.attempted, under('r/'), 1);
  } finally {
    recorders.forEach((r) => r.stop());
    await server.stop();
  }
});
