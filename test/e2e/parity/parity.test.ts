// kvd against real etcd: the same etcdctl 3.4 scripts on a fresh server of each kind must print
// the same, step by step (stdout, error lines, exit code), after normalize(). Targets come from
// KVD_PARITY_TARGETS (default "etcd,kvd"; "etcd,etcd" checks the normalization itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { startServer, type ServerKind } from '../harness/server.js';
import { etcdctl } from '../harness/etcdctl.js';
import fs from 'node:fs';
import { SCENARIOS, SNAPSHOT_FILE } from './scenarios.js';
import { errorLines, normalize } from './normalize.js';

const targets = (process.env.KVD_PARITY_TARGETS ?? 'etcd,kvd').split(',') as [ServerKind, ServerKind];

function requireEtcd(): void {
  try {
    execSync('command -v etcd etcdctl', { stdio: 'ignore', shell: '/bin/sh' });
  } catch {
    throw new Error('parity tests need etcd and etcdctl: apt-get install -y etcd-server etcd-client');
  }
}

async function runScenario(kind: ServerKind, steps: (typeof SCENARIOS)[string]) {
  const server = await startServer({ kind });
  try {
    const outputs: string[] = [];
    for (const step of steps) {
      const r = await etcdctl(server.endpoint, step.args, { stdin: step.stdin });
      outputs.push([`$ etcdctl ${step.args.join(' ')}`, `exit ${r.code}`, normalize(r.stdout, server.endpoint, step), normalize(errorLines(r.stderr), server.endpoint, step)].join('\n'));
    }
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
    for (let i = 0; i < steps.length; i++) assert.equal(b[i], a[i], `step ${i + 1} differs (${targets[1]} vs ${targets[0]})`);
  });
}
