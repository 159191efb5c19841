// Concurrent put, get and compare-and-swap (Txn) clients against a 3-member kvd cluster while
// members are killed, restarted and partitioned; the recorded history must be linearizable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './harness/server.js';
import { connect, type Client } from '../../src/client/client.js';
import { checkLinearizable, formatHistory, type KvInput, type Operation } from '../support/linearizability.js';

const KEYS = ['x', 'y', 'z'];
const CLIENTS = 6;
const RUN_MS = 12_000;
/** Failures that prove a request never reached raft: no connection, or no leader to propose to. */
const NOT_EXECUTED = /ECONNREFUSED|No connection established|etcdserver: no leader/;

async function perform(client: Client, input: KvInput): Promise<Operation['output']> {
  const key = Buffer.from(`lin/${input.key}`);
  const deadlineMs = 2000;
  switch (input.op) {
    case 'put':
      await client.kv.Put!({ key, value: Buffer.from(input.value) }, { deadlineMs });
      return {};
    case 'get': {
      const r = await client.kv.Range!({ key }, { deadlineMs });
      return { value: r.kvs[0] ? r.kvs[0].value.toString() : null };
    }
    case 'cas': {
      // Absent: create_revision == 0; present: value equals (result EQUAL = 0, target CREATE = 1, VALUE = 3).
      const compare = input.expect === null
        ? { key, target: 1, result: 0, create_revision: 0 }
        : { key, target: 3, result: 0, value: Buffer.from(input.expect) };
      const r = await client.kv.Txn!({ compare: [compare], success: [{ request_put: { key, value: Buffer.from(input.value) } }] }, { deadlineMs });
      return { ok: !!r.succeeded };
    }
  }
}

test('client histories stay linearizable through SIGKILL, restart and partitions of members', async (t) => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, peerProxies: true });
  const history: Operation[] = [];
  let seq = 0;
  const lastWritten = new Map<string, string>(); // a likely current value, so that some swaps succeed
  const stopAt = Date.now() + RUN_MS;
  try {
    const clients = cluster.members.map((m) => connect(m.endpoint));
    const worker = async (id: number) => {
      let n = 0;
      while (Date.now() < stopAt) {
        const key = KEYS[(id + n) % KEYS.length]!;
        const value = `${id}.${n++}`;
        const r = Math.random();
        const input: KvInput = r < 0.35 ? { op: 'put', key, value } : r < 0.75 ? { op: 'get', key } : { op: 'cas', key, expect: lastWritten.get(key) ?? null, value };
        const client = clients[(id + n) % clients.length]!;
        const op: Operation = { client: id, input, call: performance.now(), ret: Infinity };
        history.push(op);
        seq++;
        try {
          op.output = await perform(client, input);
          op.ret = performance.now();
          if (input.op !== 'get' && (input.op === 'put' || (op.output as { ok: boolean }).ok)) lastWritten.set(key, input.value);
        } catch (err) {
          // Refused before it reached raft: it did not happen. Otherwise the outcome is unknown
          // (ret stays Infinity): it may or may not have taken effect.
          if (NOT_EXECUTED.test(String((err as { details?: string }).details))) history.splice(history.indexOf(op), 1);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const faults = (async () => {
      const [a, b] = [cluster.members[0]!, cluster.members[1]!];
      await new Promise((r) => setTimeout(r, 1500));
      a.kill9();
      await new Promise((r) => setTimeout(r, 2000));
      await a.restart();
      b.proxy!.partition();
      await new Promise((r) => setTimeout(r, 3000));
      b.proxy!.heal();
    })();
    await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => worker(i)), faults]);
    for (const c of clients) c.close();
    const completed = history.filter((o) => o.ret !== Infinity).length;
    assert.ok(completed > 100, `only ${completed} of ${seq} operations completed`);
    t.diagnostic(`${completed} operations completed, ${history.length - completed} with unknown outcome`);
    const result = checkLinearizable(history);
    assert.equal(result.result, 'ok', result.result === 'illegal' ? `${result.explanation}\n${formatHistory(result.ops)}` : result.result);
  } finally {
    await cluster.stop();
  }
});
