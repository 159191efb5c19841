// Starts a real server process — kvd (bin/kvd) or etcd — with the same etcd flags, on free
// loopback ports and a temporary data dir, and stops it by PID. Used by tests and benchmarks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { etcdctl } from './etcdctl.js';

export type ServerKind = 'kvd' | 'etcd';

export interface Server {
  kind: ServerKind;
  endpoint: string;
  dataDir: string;
  pid(): number | undefined;
  logs(): string;
  kill9(): void;
  restart(): Promise<void>;
  /** SIGTERM, waiting for exit; the data dir stays. */
  shutdown(): Promise<void>;
  /** Shuts down and removes the data dir. */
  stop(): Promise<void>;
}

const REPO = path.resolve(import.meta.dirname, '../../../..');

export async function startServer(opts: { kind: ServerKind; extraArgs?: string[]; readyTimeoutMs?: number }): Promise<Server> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.kind}-test-`));
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'm1', '--data-dir', dataDir,
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `m1=${peer}`, '--log-level', 'error',
    ...(opts.extraArgs ?? []),
  ];
  const endpoint = `127.0.0.1:${clientPort}`;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    const [cmd, argv] = opts.kind === 'kvd' ? [process.execPath, [path.join(REPO, 'bin', 'kvd'), ...args]] : ['etcd', args];
    const c = spawn(cmd as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (output += d));
    c.stderr!.on('data', (d) => (output += d));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${opts.kind} exited at start:\n${output}`);
      const r = await etcdctl(endpoint, ['endpoint', 'health', '--command-timeout=2s'], { timeoutMs: 5000 }).catch(() => undefined);
      if (r?.code === 0) return;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`${opts.kind} did not become healthy:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stopProcess = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    kind: opts.kind,
    endpoint,
    dataDir,
    pid: () => child?.pid,
    logs: () => output,
    kill9: () => {
      child?.kill('SIGKILL');
    },
    restart: async () => {
      await stopProcess();
      await exited;
      await launch();
    },
    shutdown: stopProcess,
    stop: async () => {
      await stopProcess();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
