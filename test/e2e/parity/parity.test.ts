// kvd against real etcd: the same etcdctl 3.4 scripts on a fresh server of each kind must print
// the same, step by step (stdout, error lines, exit code), after normalize(). Targets come from
// KVD_PARITY_TARGETS (default "etcd,kvd"; "etcd,etcd" checks the normalization itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import type { ServerKind } from '../harness/server.js';
import { SCENARIOS } from './scenarios.js';
import { runScenario } from './run.js';

const targets = (process.env.KVD_PARITY_TARGETS ?? 'etcd,kvd').split(',') as [ServerKind, ServerKind];

function requireEtcd(): void {
  try {
    execSync('command -v etcd etcdctl', { stdio: 'ignore', shell: '/bin/sh' });
  } catch {
    throw new Error('parity tests need etcd and etcdctl: apt-get install -y etcd-server etcd-client');
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
