// Watch fan-out benchmark: many watchers over 1 or 100 streams, on one key or on a prefix, with
// a writer putting at a fixed rate. Receivers run on worker threads; each event carries its
// put's send time, so put→event latency is measured per delivered event, and per put the
// arrival of its first and its last event (where the fan-out starts and ends). A probe (serializable
// get every 20 ms) measures how responsive the server stays while it fans out. kvd and etcd
// alternate over the rounds; medians and ratios go to stdout (and BENCHMARKS.md with --write).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startServer } from '../test/e2e/harness/server.js';
import { freePort } from '../test/e2e/harness/ports.js';
import { connect, type Client } from '../src/client/client.js';
import { openWatch, type WatchStream } from '../src/client/watch.js';
import { benchCommand, countList, nameList, option, wholeNumber } from './args.js';
import { appendToBenchmarks, commit, fmt, machine, median, mergeSorted, percentile, push } from './report.js';

type Shape = 'key' | 'prefix';
interface Receivers { endpoint: string; streams: number; watchers: number; shape: Shape; connections: number }
/** `spans`: per put, its send time and the latencies of its first and last event here, flattened. */
interface Received { latencies: Float64Array; events: number; spans: Float64Array }
interface FanoutResult { eventsPerSec: number; delivered: number; p50Ms: number; p99Ms: number; firstP50Ms: number; lastP50Ms: number; probeP99Ms: number; loopDelayP99Ms: number }

const KEY = 'fan/key';
const PREFIX = 'fan/';
const PREFIX_END = 'fan0';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Worker side: open the streams, create the watchers, time every event until told to stop. */
async function receive(spec: Receivers): Promise<void> {
  const clients: Client[] = Array.from({ length: spec.connections }, (_, i) => connect(spec.endpoint, { 'grpc.use_local_subchannel_pool': 1, 'kvd.channel': i }));
  const streams: WatchStream[] = Array.from({ length: spec.streams }, (_, i) => openWatch(clients[i % clients.length]!));
  const latencies: number[] = [];
  const spans = new Map<number, { first: number; last: number }>();
  let created = 0;
  let events = 0;
  for (const s of streams) {
    s.events.on('response', (r) => {
      if (r.created) created++;
      for (const e of r.events ?? []) {
        const sent = (e.kv.value as Buffer).readDoubleLE(0);
        if (sent === 0) continue; // a warm-up write
        events++;
        const latency = now() - sent;
        latencies.push(latency);
        const span = spans.get(sent);
        if (span) span.last = latency;
        else spans.set(sent, { first: latency, last: latency });
      }
    });
  }
  const req = spec.shape === 'key' ? { key: Buffer.from(KEY) } : { key: Buffer.from(PREFIX), range_end: Buffer.from(PREFIX_END) };
  for (let w = 0; w < spec.watchers; w++) streams[w % streams.length]!.create(req);
  while (created < spec.watchers) await sleep(20);
  parentPort!.postMessage('ready');
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  streams.forEach((s) => s.close());
  clients.forEach((c) => c.close());
  const out: Received = { latencies: Float64Array.from(latencies), events, spans: Float64Array.from([...spans].flatMap(([sent, s]) => [sent, s.first, s.last])) };
  parentPort!.postMessage(out, [out.latencies.buffer as ArrayBuffer, out.spans.buffer as ArrayBuffer]);
}

/** kvd's gateway event-loop delay p99 since the previous scrape of its metrics (NaN without them). */
async function loopDelayP99Ms(metricsUrl: string | undefined): Promise<number> {
  if (!metricsUrl) return NaN;
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = text.match(/^kvd_gateway_event_loop_delay_seconds\{quantile="0.99"\} ([\d.e+-]+)$/m);
  return m ? Number(m[1]) * 1000 : NaN;
}

async function fanout(endpoint: string, metricsUrl: string | undefined, watchers: number, streams: number, shape: Shape, rate: number, seconds: number, warmupSeconds: number): Promise<FanoutResult> {
  // One stream lives on one receiver thread; more are split over two.
  const threads = streams === 1 ? 1 : 2;
  const workers = Array.from({ length: threads }, () => {
    const share: Receivers = { endpoint, shape, streams: streams / threads, watchers: watchers / threads, connections: Math.min(4, streams) };
    return new Worker(new URL(import.meta.url), { workerData: share });
  });
  await Promise.all(workers.map((worker) => new Promise((r) => worker.once('message', r))));

  const client = connect(endpoint);
  const probes: number[] = [];
  let writing = true;
  const probe = (async () => {
    while (writing) {
      const t0 = performance.now();
      await client.kv.Range!({ key: Buffer.from('probe'), serializable: true });
      probes.push(performance.now() - t0);
      await sleep(20);
    }
  })();
  /** Puts at `rate` for `duration` s; each value is its send time, or 0 for writes not measured. */
  const write = async (duration: number, measured: boolean) => {
    const puts = Math.round(rate * duration);
    const start = performance.now();
    for (let i = 0; i < puts; i++) {
      const due = start + (i * 1000) / rate;
      if (due > performance.now()) await sleep(due - performance.now());
      const value = Buffer.alloc(8);
      if (measured) value.writeDoubleLE(now());
      void client.kv.Put!({ key: Buffer.from(shape === 'key' ? KEY : `${PREFIX}${i % 100}`), value });
    }
    return puts;
  };
  // Steady state is measured: both servers first take writes that are not (kvd's code paths
  // are compiled by the JIT as they first run).
  await write(warmupSeconds, false);
  // The scrape that starts the delay's window comes before the pause: made just before the
  // measured writes, its work on kvd's gateway delayed the first of them (etcd is not scraped).
  await loopDelayP99Ms(metricsUrl);
  await sleep(500);
  const t0 = performance.now();
  const puts = await write(seconds, true);
  await sleep(2000); // the last events arrive
  writing = false;
  await probe;
  const loopDelay = await loopDelayP99Ms(metricsUrl);
  const elapsed = (performance.now() - t0) / 1000;
  const results = await Promise.all(workers.map((worker) => new Promise<Received>((resolve) => {
    worker.once('message', (m: Received) => resolve(m));
    worker.postMessage('stop');
  })));
  client.close();
  const all = mergeSorted(results.map((r) => r.latencies));
  const { firsts, lasts } = putSpans(results);
  const delivered = results.reduce((n, r) => n + r.events, 0);
  probes.sort((a, b) => a - b);
  return { eventsPerSec: delivered / elapsed, delivered: delivered / (puts * watchers), p50Ms: percentile(all, 0.5), p99Ms: percentile(all, 0.99), firstP50Ms: percentile(firsts, 0.5), lastP50Ms: percentile(lasts, 0.5), probeP99Ms: percentile(probes, 0.99), loopDelayP99Ms: loopDelay };
}

/** Per put over all receivers: its first event's latency and its last's, each sorted. */
function putSpans(results: Received[]): { firsts: Float64Array; lasts: Float64Array } {
  const bySent = new Map<number, { first: number; last: number }>();
  for (const { spans } of results) {
    for (let i = 0; i < spans.length; i += 3) {
      const [sent, first, last] = [spans[i]!, spans[i + 1]!, spans[i + 2]!];
      const span = bySent.get(sent);
      if (!span) bySent.set(sent, { first, last });
      else {
        span.first = Math.min(span.first, first);
        span.last = Math.max(span.last, last);
      }
    }
  }
  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  return { firsts: sorted([...bySent.values()].map((s) => s.first)), lasts: sorted([...bySent.values()].map((s) => s.last)) };
}

async function main(): Promise<void> {
  const values = benchCommand('bench:watch', 'Watch fan-out, kvd against etcd, alternating: put→event latency while a writer puts at a fixed rate.', 2)
    .addOption(option('--warmup <s>', 'seconds of the same writes before each run, unmeasured', wholeNumber(0), '1'))
    .addOption(option('--watchers <list>', 'watchers per run, a run for each', countList, '1000,10000'))
    .addOption(option('--streams <list>', 'watch streams the watchers are spread over, a run for each', countList, '1,100'))
    .addOption(option('--shapes <list>', 'what the watchers watch: one key, a prefix', nameList(['key', 'prefix'] as const), 'key,prefix'))
    .addOption(option('--events <n>', 'events per second offered to the receivers (the put rate is this over the watcher count)', wholeNumber(1), '20000'))
    .parse()
    .opts();
  const rounds: number = values.rounds;
  const seconds: number = values.seconds;
  const warmupSeconds: number = values.warmup;
  const watcherCounts: number[] = values.watchers;
  const streamCounts: number[] = values.streams;
  const shapes: Shape[] = values.shapes;
  const targets: ('kvd' | 'etcd')[] = values.targets;
  const results = new Map<string, FanoutResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? targets : [...targets].reverse()) {
      const metricsPort = await freePort();
      const server = await startServer({ kind, extraArgs: kind === 'kvd' ? ['--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`] : [] });
      const metricsUrl = kind === 'kvd' ? `http://127.0.0.1:${metricsPort}` : undefined;
      try {
        for (const watchers of watcherCounts) for (const streams of streamCounts) for (const shape of shapes) {
          const rate = Math.max(1, values.events / watchers);
          const r = await fanout(server.endpoint, metricsUrl, watchers, streams, shape, rate, seconds, warmupSeconds);
          push(results, `${kind}|${watchers}|${streams}|${shape}`, r);
          console.log(`round ${round + 1} ${kind.padEnd(4)} ${watchers} watchers ${streams} streams ${shape.padEnd(6)} ${r.eventsPerSec.toFixed(0)} events/s (${(r.delivered * 100).toFixed(1)}% delivered) p50 ${r.p50Ms.toFixed(1)} ms p99 ${r.p99Ms.toFixed(1)} ms per put first/last event p50 ${r.firstP50Ms.toFixed(1)}/${r.lastP50Ms.toFixed(1)} ms probe p99 ${r.probeP99Ms.toFixed(1)} ms${metricsUrl ? ` gateway loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms` : ''}`);
        }
      } finally {
        await server.stop();
      }
    }
  }
  const lines = [
    `### ${new Date().toISOString().slice(0, 10)} — commit ${commit} — watch fan-out, one member each`,
    '',
    `Machine: ${machine}. A writer puts 8-byte values at ${values.events} events/s divided by the watcher count for ${seconds} s, after ${warmupSeconds} s of the same writes not measured; receivers on two worker threads; latency is put sent → event received; "first/last" are the medians over the puts of their first and last event's latency (where the fan-out starts and ends); "probe p99" is a serializable get every 20 ms meanwhile; "loop p99" is kvd's gateway event-loop delay (monitorEventLoopDelay, from its /metrics). ${rounds} alternating rounds; medians.`,
    '',
    '| watchers | streams | on | kvd events/s | kvd p50 ms | kvd p99 ms | kvd first/last ms | kvd probe p99 ms | kvd loop p99 ms | etcd events/s | etcd p50 ms | etcd p99 ms | etcd first/last ms | etcd probe p99 ms | kvd/etcd p99 |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const watchers of watcherCounts) for (const streams of streamCounts) for (const shape of shapes) {
    const m = (kind: string, f: (r: FanoutResult) => number) => median((results.get(`${kind}|${watchers}|${streams}|${shape}`) ?? []).map(f));
    const row = (kind: string) => [fmt(m(kind, (r) => r.eventsPerSec)), fmt(m(kind, (r) => r.p50Ms), 1), fmt(m(kind, (r) => r.p99Ms), 1), `${fmt(m(kind, (r) => r.firstP50Ms), 1)}/${fmt(m(kind, (r) => r.lastP50Ms), 1)}`, fmt(m(kind, (r) => r.probeP99Ms), 1)];
    lines.push(`| ${watchers} | ${streams} | ${shape} | ${row('kvd').join(' | ')} | ${fmt(m('kvd', (r) => r.loopDelayP99Ms), 1)} | ${row('etcd').join(' | ')} | ${fmt(m('kvd', (r) => r.p99Ms) / m('etcd', (r) => r.p99Ms), 2)} |`);
  }
  const table = lines.join('\n');
  console.log('\n' + table);
  if (values.write) appendToBenchmarks(table);
}

if (isMainThread) await main();
else await receive(workerData as Receivers);
