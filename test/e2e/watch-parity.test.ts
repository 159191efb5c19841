// The Watch service against real etcd, request by request on one stream: the same creates,
// cancels, progress requests and writes must give the same responses (IDs and terms aside),
// including etcd's answers to bad input and fragmented responses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerKind } from './harness/server.js';
import { connect } from '../../src/client/client.js';
import { openWatch } from '../../src/client/watch.js';
import { normalizeResponse } from '../support/normalize-response.js';

type Req = Record<string, any>;
const b = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Step =
  | { create: Req }
  | { cancel: number }
  | { progress: true }
  | { put: [string, string] }
  | { txn: [string, string][] }
  | { puts: number }
  | { del: string }
  | { compact: number };

const FRAGMENTED_PUTS = 400;
const BIG = 'x'.repeat(1400);

const STEPS: Step[] = [
  { put: ['a', '1'] }, { put: ['b', '2'] }, { put: ['a', '3'] },
  { create: { key: b('a') } },                                   // id 0, live
  { create: { key: b('a'), range_end: b('c'), prev_kv: true } }, // id 1
  { create: { key: b('a'), start_revision: 2 } },                // id 2, from history
  { create: { key: b('b'), range_end: Buffer.of(0), filters: [0] } }, // from-key, no puts
  { create: { key: b('a'), watch_id: 7, filters: [1] } },
  { create: { key: b('a'), watch_id: 7 } },                      // duplicate id
  { create: { key: b('c'), range_end: b('b') } },                // range end before key
  { create: { key: b('b'), range_end: b('b') } },                // empty range
  { create: {} },                                                // empty key: \x00
  { put: ['a', '4'] }, { del: 'b' }, { put: ['\x00', 'zero'] },
  { txn: [['a', '5'], ['b', '6'], ['bb', '7']] },
  { cancel: 1 }, { cancel: 1 }, { cancel: 42 },
  { put: ['a', '8'] },
  { progress: true },
  // Catching up on this history takes one response larger than etcd's fragment size
  // (--max-request-bytes + 512 KiB): split for the watcher that asked for fragments.
  { puts: FRAGMENTED_PUTS },
  { create: { key: b('f'), range_end: b('g'), fragment: true, start_revision: 10 } },
  { create: { key: b('f'), range_end: b('g'), start_revision: 10 } },
  { compact: 5 },
  { create: { key: b('a'), start_revision: 3 } },                // compacted
  { create: { key: b('a'), start_revision: 5 } },
  { create: { key: b('a'), start_revision: 100, progress_notify: true } }, // future
  { put: ['a', '9'] },
];

async function run(kind: ServerKind): Promise<string[]> {
  const server = await startServer({ kind, extraArgs: ['--max-request-bytes', '1500'] });
  const client = connect(server.endpoint);
  const stream = openWatch(client);
  const log: string[] = [];
  let answers: Req[] = [];
  stream.events.on('response', (r: Req) => answers.push(r));
  // Watchers of one revision are answered in no defined order (etcd iterates a map): group by
  // watcher, keeping each watcher's own order.
  const record = () => {
    const byWatcher = answers.map((r, i) => ({ r, i })).sort((x, y) => Number(x.r.watch_id ?? 0) - Number(y.r.watch_id ?? 0) || x.i - y.i);
    log.push(...byWatcher.map(({ r }) => JSON.stringify(normalizeResponse(r))));
    answers = [];
  };
  try {
    for (const [i, step] of STEPS.entries()) {
      log.push(`-- step ${i + 1}: ${JSON.stringify(step).slice(0, 200)}`);
      if ('create' in step) stream.create(step.create);
      else if ('cancel' in step) stream.cancel(step.cancel);
      else if ('progress' in step) stream.requestProgress();
      else if ('put' in step) await client.kv.Put!({ key: b(step.put[0]), value: b(step.put[1]) });
      else if ('puts' in step) for (let k = 0; k < step.puts; k++) await client.kv.Put!({ key: b(`f${k}`), value: b(BIG) });
      else if ('del' in step) await client.kv.DeleteRange!({ key: b(step.del) });
      else if ('compact' in step) await client.kv.Compact!({ revision: step.compact });
      else await client.kv.Txn!({ success: step.txn.map(([key, value]) => ({ request_put: { key: b(key), value: b(value) } })) });
      // etcd catches watchers up every 100 ms: let every answer arrive before the next step.
      await sleep(400);
      record();
    }
    return log;
  } finally {
    stream.close();
    client.close();
    await server.stop();
  }
}

test('Watch service responses equal etcd\'s, bad input and fragments included', async () => {
  const [etcd, kvd] = [await run('etcd'), await run('kvd')];
  assert.ok(etcd.length > STEPS.length + 20, 'etcd answered');
  assert.ok(etcd.some((line) => line.includes('"fragment":true')), 'a response was fragmented');
  assert.deepEqual(kvd, etcd);
});
