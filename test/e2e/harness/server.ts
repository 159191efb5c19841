// Starts real server processes — kvd (bin/kvd) or etcd — with the same etcd flags, on free
// loopback ports and temporary data dirs, and stops them by PID: one member (startServer) or
// a cluster (startCluster), optionally with each member's peer URL behind a fault proxy.
// Used by tests and benchmarks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { etcdctl } from './etcdctl.js';
import { FaultProxy } from './fault-proxy.js';

export type ServerKind = 'kvd' | 'etcd';

export interface Server {
  kind: ServerKind;
  name: string;
  endpoint: string;
  dataDir: string;
  /** The peer URL the member advertises (its proxy's when behind one). */
  peerURL: string;
  /** Present when started behind a fault proxy: partition() cuts this member's incoming peer traffic. */
  proxy?: FaultProxy;
  pid(): number | undefined;
  logs(): string;
  kill9(): void;
  /** Starts the process again (after kill9 or shutdown) and waits until it is healthy; `probeArgs`: etcdctl flags the health probe needs (--user once auth is on). */
  restart(probeArgs?: string[]): Promise<void>;
  /** SIGTERM, waiting for exit; the data dir stays. */
  shutdown(): Promise<void>;
  /** Shuts down and removes the data dir. */
  stop(): Promise<void>;
}

export interface Cluster {
  members: Server[];
  endpoints: string[];
  /** Starts one more member with --initial-cluster-state existing (add it with member add first); `extraArgs` replaces the cluster's. */
  join(member: PlannedMember, extraArgs?: string[]): Promise<Server>;
  /** A member planned on free ports, to pass to `member add` and then join(). */
  plan(name: string): Promise<PlannedMember>;
  stop(): Promise<void>;
}

export interface PlannedMember { name: string; clientPort: number; listenPeerPort: number; peerURL: string; proxy?: FaultProxy }

export interface StartOptions {
  kind: ServerKind;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /** Put a fault proxy in front of each member's peer listener. */
  peerProxies?: boolean;
  /** Prepares each member's data dir (e.g. restores a snapshot into it); default: a new empty one. */
  dataDirOf?: (member: PlannedMember, initialCluster: string, token: string) => Promise<string>;
  /** https client or peer URLs (the TLS flags go in extraArgs); `ctlArgs`: the TLS flags etcdctl needs to probe the member. */
  tls?: { client?: boolean; peer?: boolean; ctlArgs?: string[] };
}

const REPO = path.resolve(import.meta.dirname, '../../../..');

export async function startServer(opts: StartOptions): Promise<Server> {
  return (await startCluster({ ...opts, size: 1 })).members[0]!;
}

export async function startCluster(opts: StartOptions & { size: number }): Promise<Cluster> {
  const peerScheme = opts.tls?.peer ? 'https' : 'http';
  const plan = async (name: string): Promise<PlannedMember> => {
    const clientPort = await freePort();
    const listenPeerPort = await freePort();
    if (!opts.peerProxies) return { name, clientPort, listenPeerPort, peerURL: `${peerScheme}://127.0.0.1:${listenPeerPort}` };
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: listenPeerPort });
    return { name, clientPort, listenPeerPort, peerURL: `${peerScheme}://127.0.0.1:${proxy.port}`, proxy };
  };
  const planned: PlannedMember[] = [];
  for (let i = 1; i <= opts.size; i++) planned.push(await plan(`m${i}`));
  const token = `test-${process.pid}-${Date.now()}`;
  const initialCluster = planned.map((p) => `${p.name}=${p.peerURL}`);
  const launched = await Promise.allSettled(planned.map((p) => launchMember(opts, p, initialCluster.join(','), 'new', token)));
  const failed = launched.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  const members = launched.flatMap((l) => (l.status === 'fulfilled' ? [l.value] : []));
  if (failed) {
    // The members that did start are stopped: a test that fails here leaves no process behind.
    await Promise.all(members.map((m) => m.stop()));
    throw failed.reason;
  }
  const cluster: Cluster = {
    members,
    get endpoints() {
      return cluster.members.map((m) => m.endpoint);
    },
    plan,
    join: async (p, extraArgs) => {
      const all = [...cluster.members.map((m) => `${m.name}=${m.peerURL}`), `${p.name}=${p.peerURL}`];
      const m = await launchMember(extraArgs ? { ...opts, extraArgs } : opts, p, all.join(','), 'existing', token);
      cluster.members.push(m);
      return m;
    },
    stop: async () => {
      await Promise.all(cluster.members.map((m) => m.stop()));
    },
  };
  return cluster;
}

async function launchMember(opts: StartOptions, p: PlannedMember, initialCluster: string, state: 'new' | 'existing', token: string): Promise<Server> {
  const dataDir = opts.dataDirOf ? await opts.dataDirOf(p, initialCluster, token) : fs.mkdtempSync(path.join(os.tmpdir(), `${opts.kind}-test-`));
  const client = `${opts.tls?.client ? 'https' : 'http'}://127.0.0.1:${p.clientPort}`;
  const args = [
    '--name', p.name, '--data-dir', dataDir,
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', `${opts.tls?.peer ? 'https' : 'http'}://127.0.0.1:${p.listenPeerPort}`, '--initial-advertise-peer-urls', p.peerURL,
    '--initial-cluster', initialCluster, '--initial-cluster-state', state, '--initial-cluster-token', token,
    '--log-level', process.env.KVD_TEST_LOG_LEVEL ?? 'error',
    ...(opts.extraArgs ?? []),
  ];
  const endpoint = opts.tls?.client ? client : `127.0.0.1:${p.clientPort}`;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();

  const launch = async (probeArgs: string[] = []) => {
    // KVD_NODE_ARGS passes Node options to kvd (e.g. --cpu-prof, which NODE_OPTIONS refuses).
    const nodeArgs = process.env.KVD_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const [cmd, argv] = opts.kind === 'kvd' ? [process.execPath, [...nodeArgs, path.join(REPO, 'bin', 'kvd'), ...args]] : ['etcd', args];
    const c = spawn(cmd as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout!.on('data', (d) => (output += d));
    c.stderr!.on('data', (d) => (output += d));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${opts.kind} ${p.name} exited at start:\n${output}`);
      // A joining member may be a learner, which refuses the linearizable read of a health check.
      const probe = state === 'new' ? ['endpoint', 'health'] : ['endpoint', 'status'];
      const r = await etcdctl(endpoint, [...probeArgs, ...probe, '--command-timeout=2s', ...(opts.tls?.ctlArgs ?? [])], { timeoutMs: 5000 }).catch(() => undefined);
      if (r?.code === 0) return;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`${opts.kind} ${p.name} did not become healthy:\n${output}`);
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

  try {
    await launch();
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: opts.kind,
    name: p.name,
    endpoint,
    dataDir,
    peerURL: p.peerURL,
    ...(p.proxy ? { proxy: p.proxy } : {}),
    pid: () => child?.pid,
    logs: () => output,
    kill9: () => {
      child?.kill('SIGKILL');
    },
    restart: async (probeArgs) => {
      await stopProcess();
      await exited;
      await launch(probeArgs);
    },
    shutdown: stopProcess,
    stop: async () => {
      await stopProcess();
      await p.proxy?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
