// kvd against real etcd: the same etcdctl 3.4 scripts on a fresh server of each kind must print
// the same, step by step (stdout, error lines, exit code), after normalize(). Targets come from
// KVD_PARITY_TARGETS (default "etcd,kvd"; "etcd,etcd" checks the normalization itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { startServer, type ServerKind } from '../harness/server.js';
import { etcdctl, startEtcdctl, type CtlResult, type RunningCtl } from '../harness/etcdctl.js';
import fs from 'node:fs';
import { SCENARIOS, SNAPSHOT_FILE } from './scenarios.js';
import { errorLines, normalize, type Step } from './normalize.js';

/** Time a background etcdctl gets to connect and create its watch before the writes start. */
const WATCH_READY_MS = 1000;

const targets = (process.env.KVD_PARITY_TARGETS ?? 'etcd,kvd').split(',') as [ServerKind, ServerKind];

function requireEtcd(): void {
  try {
    execSync('command -v etcd etcdctl', { stdio: 'ignore', shell: '/bin/sh' });
  } catch {
    throw new Error('parity tests need etcd and etcdctl: apt-get install -y etcd-server etcd-client');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until its output has not changed for a while (bounded). */
async function settled(ctl: RunningCtl): Promise<void> {
  for (let quiet = 0, last = '', waited = 0; quiet < 3 && waited < 50; waited++) {
    await sleep(200);
    quiet = ctl.stdout() === last ? quiet + 1 : 0;
    last = ctl.stdout();
  }
}

async function runSteps(endpoint: string, steps: Step[], outputs: string[], vars = new Map<string, string>()): Promise<void> {
  for (const step of steps) {
    let r: CtlResult;
    const args = step.args.map((a) => a.replace(/\$([A-Z]+)/g, (whole, name: string) => vars.get(name) ?? whole));
    if (step.during) {
      const ctl = startEtcdctl(endpoint, args);
      if (step.stdin) ctl.write(step.stdin);
      await sleep(WATCH_READY_MS);
      await runSteps(endpoint, step.during, outputs, vars);
      await settled(ctl);
      r = await ctl.stop();
    } else r = await etcdctl(endpoint, args, { stdin: step.stdin });
    const captured = step.capture && r.stdout.match(step.capture.pattern)?.[1];
    if (captured) vars.set(step.capture!.name, captured);
    outputs.push([`$ etcdctl ${step.args.join(' ')}`, `exit ${r.code}`, normalize(r.stdout, endpoint, step), normalize(errorLines(r.stderr), endpoint, step)].join('\n'));
  }
}

async function runScenario(kind: ServerKind, steps: Step[]) {
  const server = await startServer({ kind });
  try {
    const outputs: string[] = [];
    await runSteps(server.endpoint, steps, outputs);
    return outputs;
  } finally {
    await server.stop();
    fs.rmSync(SNAPSHOT_FILE, { force: true });
  }
}

for (const [name, steps] of Object.entries(SCENARIOS)) {
  test(`etcdctl parity: ${name}`, async () => {
    requireEtcd();
    const [a, b] = [await runScenario(targets[0], steps), await runScenario(targets[1], steps)];
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i], `output ${i + 1} differs (${targets[1]} vs ${targets[0]})`);
  });
}
