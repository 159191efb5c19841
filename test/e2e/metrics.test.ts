// --listen-metrics-urls: /metrics in Prometheus text, with the process's metrics and kvd's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './harness/server.js';
import { freePort } from './harness/ports.js';

test('/metrics on --listen-metrics-urls carries process and gateway event-loop metrics', async () => {
  const port = await freePort();
  const server = await startServer({ kind: 'kvd', extraArgs: ['--listen-metrics-urls', `http://127.0.0.1:${port}`] });
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^[a-zA-Z_:][\w:]*(\{[^}]*\})? ([-+\d.eE]+|NaN|[+-]Inf)$/, line);
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^kvd_gateway_event_loop_delay_seconds\{quantile="0.99"\} [\d.e+-]+$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    await server.stop();
  }
});
