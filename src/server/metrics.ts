// Prometheus metrics (prom-client) on --listen-metrics-urls: the process's and Node's own, and
// kvd's, prefixed kvd_. The gateway's event-loop delay is sampled here, on the main thread,
// and reported per scrape interval (the quantiles restart after every scrape).
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

const SAMPLE_MS = 10;

export class Metrics {
  readonly registry = new Registry();
  private readonly servers: http.Server[] = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const delay = monitorEventLoopDelay({ resolution: SAMPLE_MS });
    delay.enable();
    // The sampler records whole intervals between its timer's runs: the delay is what exceeds one.
    const late = (ns: number) => Math.max(0, ns / 1e6 - SAMPLE_MS) / 1000;
    new Gauge({
      name: 'kvd_gateway_event_loop_delay_seconds',
      help: 'Delay of the gateway thread\'s event loop since the previous scrape.',
      labelNames: ['quantile'],
      registers: [this.registry],
      collect() {
        for (const q of [0.5, 0.99, 1]) this.set({ quantile: String(q) }, late(q === 1 ? delay.max : delay.percentile(q * 100)));
        delay.reset();
      },
    });
  }

  /** Serves /metrics on each URL; resolves with the bound addresses. */
  async listen(urls: URL[]): Promise<string[]> {
    const bound: string[] = [];
    for (const url of urls) {
      const server = http.createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end('404 page not found\n');
          return;
        }
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      this.servers.push(server);
      bound.push(`${url.protocol}//${url.hostname}:${(server.address() as { port: number }).port}`);
    }
    return bound;
  }

  close(): void {
    for (const s of this.servers) s.close();
  }
}
