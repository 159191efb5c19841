// The Lock and Election services: etcdctl lock with contenders (mutual exclusion, FIFO order),
// etcdctl elect and elect -l against kvd and a real etcd, and the gRPC services called from a
// client on the shipped protos, compared with etcd's answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerKind } from './harness/server.js';
import { etcdctl, startEtcdctl } from './harness/etcdctl.js';
import { connect } from '../../src/client/client.js';
import { normalizeResponse } from '../support/normalize-response.js';

const b = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('etcdctl lock: contenders hold the lock one at a time, in the order they asked', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const contenders = ['A', 'B', 'C'].map(async (name, i) => {
      await sleep(i * 400);
      const script = `echo ${name} in $(date +%s%N); sleep 0.6; echo ${name} out $(date +%s%N)`;
      return etcdctl(server.endpoint, ['lock', 'fifo', '--', 'sh', '-c', script], { timeoutMs: 20_000 });
    });
    const results = await Promise.all(contenders);
    const spans = results.map((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      const [, start] = r.stdout.match(/in (\d+)/)!;
      const [, end] = r.stdout.match(/out (\d+)/)!;
      return { name: 'ABC'[i]!, start: BigInt(start!), end: BigInt(end!) };
    });
    const byStart = [...spans].sort((x, y) => (x.start < y.start ? -1 : 1));
    assert.deepEqual(byStart.map((s) => s.name), ['A', 'B', 'C'], 'FIFO');
    for (let i = 1; i < byStart.length; i++) assert.ok(byStart[i]!.start >= byStart[i - 1]!.end, 'one holder at a time');
    const left = await etcdctl(server.endpoint, ['get', '--prefix', 'fifo/']);
    assert.equal(left.stdout, '', 'every contender released its key');
  } finally {
    await server.stop();
  }
});

/** etcdctl elect: a leader, an observer, a second candidate that takes over when the first resigns. */
async function electionScript(kind: ServerKind): Promise<string[]> {
  const server = await startServer({ kind });
  try {
    const ep = server.endpoint;
    const first = startEtcdctl(ep, ['elect', 'job', 'p1']);
    await sleep(800);
    const observer = startEtcdctl(ep, ['elect', '-l', 'job']);
    await sleep(800);
    const second = startEtcdctl(ep, ['elect', 'job', 'p2']);
    await sleep(800);
    const leaderWhileFirst = await etcdctl(ep, ['elect', '-l', 'job'], { timeoutMs: 1500 });
    const firstOut = await first.stop(); // Ctrl-C: it resigns
    await sleep(1500);
    const secondOut = await second.stop();
    await sleep(800);
    const observed = await observer.stop();
    const keys = (await etcdctl(ep, ['get', '--prefix', 'job/', '--keys-only'])).stdout;
    // Contender keys end with the session's lease ID, which differs between servers.
    const norm = (t: string) => t.replace(/job\/[0-9a-f]+/g, 'job/<lease>');
    return [firstOut.stdout, secondOut.stdout, observed.stdout, leaderWhileFirst.stdout, keys].map(norm);
  } finally {
    await server.stop();
  }
}

test('etcdctl elect and elect -l behave as with etcd', async () => {
  const [etcd, kvd] = [await electionScript('etcd'), await electionScript('kvd')];
  assert.match(etcd[2]!, /p1[\s\S]*p2/, 'etcd: the observer saw both leaders');
  assert.deepEqual(kvd, etcd);
});

async function grpcScript(kind: ServerKind): Promise<string[]> {
  const server = await startServer({ kind });
  const c = connect(server.endpoint);
  const out: string[] = [];
  const record = async (what: string, call: () => Promise<any>) => {
    try {
      out.push(`${what} → ${JSON.stringify(normalizeResponse(await call()) ?? {})}`);
    } catch (err) {
      out.push(`${what} → ${(err as { code?: number }).code} ${(err as { details?: string }).details?.replace(/^Deadline exceeded.*/, 'Deadline exceeded')}`);
    }
  };
  try {
    const lease = c.service('etcdserverpb.Lease');
    const lock = c.service('v3lockpb.Lock');
    const election = c.service('v3electionpb.Election');
    // Client-chosen lease IDs, so that contender keys are the same on both servers.
    await lease.LeaseGrant!({ ID: 0x1111, TTL: 60 });
    await lease.LeaseGrant!({ ID: 0x2222, TTL: 60 });
    await record('grant of an existing lease', () => lease.LeaseGrant!({ ID: 0x2222, TTL: 60 }));
    await record('lock', () => lock.Lock!({ name: b('res'), lease: 0x1111 }));
    await record('lock with a missing lease', () => lock.Lock!({ name: b('res2'), lease: 0x9999 }));
    await record('lock taken', () => lock.Lock!({ name: b('res'), lease: 0x2222 }, { deadlineMs: 1000 }));
    await sleep(500); // the server withdraws the abandoned contender's key after the deadline
    await record('unlock', () => lock.Unlock!({ key: b('res/1111') }));
    await record('lock again', () => lock.Lock!({ name: b('res'), lease: 0x2222 }));
    await record('leader of nobody', () => election.Leader!({ name: b('e') }));
    const won = await election.Campaign!({ name: b('e'), lease: 0x1111, value: b('v1') });
    out.push(`campaign → ${JSON.stringify(normalizeResponse(won))}`);
    await record('leader', () => election.Leader!({ name: b('e') }));
    await record('proclaim', () => election.Proclaim!({ leader: won.leader, value: b('v2') }));
    await record('leader after proclaim', () => election.Leader!({ name: b('e') }));
    await record('proclaim as a stranger', () => election.Proclaim!({ leader: { ...won.leader, rev: 1 }, value: b('x') }));
    await record('proclaim without a leader key', () => election.Proclaim!({ value: b('x') }));
    await record('campaign taken', () => election.Campaign!({ name: b('e'), lease: 0x2222, value: b('w') }, { deadlineMs: 1000 }));
    await sleep(500);
    await record('resign', () => election.Resign!({ leader: won.leader }));
    await record('leader after resign', () => election.Leader!({ name: b('e') }));
    return out;
  } finally {
    c.close();
    await server.stop();
  }
}

test('Lock and Election from a client on the shipped protos answer as etcd', async () => {
  const [etcd, kvd] = [await grpcScript('etcd'), await grpcScript('kvd')];
  assert.deepEqual(kvd, etcd);
});
