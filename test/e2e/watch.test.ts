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
import { openWatch } from '../../src/client/watch.js';

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

test('watch guarantees on one member: history catch-up then live, prefix and single key, prev_kv, resume, progress, defragmentation', async () => {
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
    // Halfway through the writes, a client resumes from its last revision + 1 on a new stream,
    // and the database is defragmented (its file replaced under the watchers' history reads).
    const resumed = (async () => {
      while (writers.acked.length < 300) await sleep(20);
      fromStart.reconnect();
      const admin = connect(server.endpoint);
      await admin.maintenance.Defragment!({}).finally(() => admin.close());
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

test('a stream that stops reading delays no other stream and, once it reads again, gets every event once', async () => {
  const server = await startServer({ kind: 'kvd', extraArgs: ['--watch-stream-buffer-bytes', String(1024 * 1024)] });
  const client = connect(server.endpoint);
  const slow = openWatch(client);
  const fast = openWatch(connect(server.endpoint));
  try {
    const got = { slow: [] as number[], fast: [] as number[] };
    for (const [name, stream] of [['slow', slow], ['fast', fast]] as const) {
      stream.events.on('response', (r) => got[name].push(...(r.events ?? []).map((e: any) => Number(e.kv.mod_revision))));
      stream.create({ key: Buffer.from('s/'), range_end: prefixEnd('s/') });
    }
    await sleep(300);
    slow.pause();
    // Far more than the stream buffer and HTTP/2 windows hold.
    const value = Buffer.alloc(64 * 1024, 'v');
    const revs: number[] = [];
    for (let i = 0; i < 200; i++) revs.push(Number((await client.kv.Put!({ key: Buffer.from(`s/${i % 10}`), value })).header.revision));
    const deadline = Date.now() + 30_000;
    while (got.fast.length < revs.length && Date.now() < deadline) await sleep(50);
    assert.deepEqual(got.fast, revs, 'the reading stream got every event while the other was stalled');
    assert.ok(got.slow.length < revs.length, 'the stalled stream was not sent everything meanwhile');
    slow.resume();
    while (got.slow.length < revs.length && Date.now() < deadline) await sleep(50);
    assert.deepEqual(got.slow, revs, 'the stalled stream got every event once, in order');
  } finally {
    slow.close();
    fast.close();
    client.close();
    await server.stop();
  }
});

test('progress notifications at --experimental-watch-progress-notify-interval for watchers that ask', async () => {
  const server = await startServer({ kind: 'kvd', extraArgs: ['--experimental-watch-progress-notify-interval', '300ms'] });
  const client = connect(server.endpoint);
  const stream = openWatch(client);
  try {
    const progress: { id: number; rev: number }[] = [];
    stream.events.on('response', (r) => {
      if (!r.created && !r.events?.length) progress.push({ id: Number(r.watch_id ?? 0), rev: Number(r.header.revision) });
    });
    stream.create({ key: Buffer.from('p'), progress_notify: true, watch_id: 1 });
    stream.create({ key: Buffer.from('p'), watch_id: 2 });
    const rev = Number((await client.kv.Put!({ key: Buffer.from('q'), value: Buffer.from('1') })).header.revision);
    await sleep(1500);
    assert.ok(progress.length >= 2, `several notifications: ${JSON.stringify(progress)}`);
    assert.ok(progress.every((p) => p.id === 1), 'only the watcher that asked');
    assert.ok(progress.every((p) => p.rev >= rev - 1) && progress.at(-1)!.rev === rev, 'at the current revision');
  } finally {
    stream.close();
    client.close();
    await server.stop();
  }
});

test('a watcher on a member that catches up through a snapshot misses and repeats nothing', async () => {
  const cluster = await startCluster({
    kind: 'kvd', size: 3, peerProxies: true,
    extraArgs: ['--experimental-snapshot-catchup-entries', '20', '--snapshot-count', '100', '--log-level', 'info'],
  });
  const recorders: WatchRecorder[] = [];
  try {
    const leader = await agreedLeader(cluster.members);
    const isolated = cluster.members.find((m) => m !== leader)!;
    const majority = cluster.members.filter((m) => m !== isolated).map((m) => m.endpoint);
    const watcher = new WatchRecorder([isolated.endpoint], { key: Buffer.from('n/'), range_end: prefixEnd('n/'), prev_kv: true }, 1);
    recorders.push(watcher);
    watcher.start();
    const writers = new Writers(majority, 'n/');
    await writers.run(2, 20);
    await watcher.reach(writers.lastRev);
    isolated.proxy!.partition();
    await writers.run(4, 100); // far more entries than the leader keeps for a lagging follower
    isolated.proxy!.heal();
    await withProgressRequests(recorders, watcher.reach(writers.lastRev, 60_000));
    assert.match(isolated.logs(), /installed a snapshot from the leader/);
    assert.equal(watcher.resumes, 0, 'the same stream carried on');
    watcher.check(writers.acked, writers.attempted, under('n/'), 1);
  } finally {
    recorders.forEach((r) => r.stop());
    await cluster.stop();
  }
});
