// tsctl against etcdctl 3.4: the same scripts on two fresh kvd servers, one driven by each
// client, must print the same, byte for byte after normalize() (IDs differ between servers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCENARIOS } from './parity/scenarios.js';
import { runScenario } from './parity/run.js';
import type { Step } from './parity/normalize.js';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startServer } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { freePort } from './harness/ports.js';

const TSCTL = path.resolve(import.meta.dirname, '../../../bin/tsctl');

const s = (...args: string[]): Step => ({ args });

/** The commands tsctl has so far, in every output format. */
const KV_SCRIPTS: Record<string, Step[]> = {
  'put and get': SCENARIOS['put and get']!.filter((step) => !step.args.includes('--count-only')),
  'revisions and sorting': SCENARIOS['revisions and sorting']!,
  'delete': SCENARIOS['delete']!,
  'txn': [
    ...SCENARIOS['txn']!,
    { args: ['txn', '-w', 'fields'], stdin: 'mod("user") > "0"\n\nget user --prefix\nput x "two words"\ndel nope\n\n\n' },
    { args: ['txn'], stdin: 'bad compare\n\n\n\n' }, { args: ['txn'], stdin: '\n\nput a\n\n\n' },
    { args: ['txn', '-i'], stdin: 'value("user") = "bob"\n\nget user --print-value-only\n\nget x\n\n' },
    { args: ['txn'], stdin: 'create("nothing") = "0"\nver("user") != "9"\n\nput t 1 --prev-kv\n\n\n' },
  ],
  'leases': SCENARIOS['leases']!.filter((step) => !step.args.includes('txn')),
  'cluster and maintenance': [
    s('put', 'a', '1'), s('put', 'a', '2'), s('put', 'a', '3'), s('compaction', '2'), s('compaction', '2', '--physical'), s('compaction', '3', '--physical'),
    s('compaction', 'x'), s('compaction'), s('get', 'a', '--rev', '1'),
    s('member', 'list'), s('member', 'list', '-w', 'json'), s('member', 'list', '-w', 'fields'),
    s('endpoint', 'health'), s('endpoint', 'health', '-w', 'json'),
  ],
  'auth, users and roles': SCENARIOS['auth']!,
  'formats and errors': [
    s('put', 'k', 'v1'), s('put', 'k', 'v2', '--prev-kv'), s('put', 'k', 'v3', '--prev-kv', '-w', 'json'), s('put', 'k', 'v4', '--prev-kv', '-w', 'fields'),
    s('put', 'bin', '\x01\x02'), s('get', 'bin', '--hex'), s('get', 'k', '-w', 'fields'), s('get', 'k', '--rev', '2', '--hex', '-w', 'fields'),
    s('get', '', '--from-key', '--limit', '1', '-w', 'json'), s('get', 'k', '--consistency', 's'),
    s('del', 'k', '--prev-kv', '-w', 'fields'), s('del', 'k', '-w', 'json'),
    s('put'), s('put', 'only-key'), s('get'), s('del'), s('put', '', 'x'), s('get', 'a', 'b', '--prefix'),
    s('get', 'k', '--sort-by', 'NOPE'), s('put', 'l', 'v', '--lease', 'abc'),
  ],
};

for (const [name, steps] of Object.entries(KV_SCRIPTS)) {
  test(`tsctl prints what etcdctl prints: ${name}`, async () => {
    const [ctl, ts] = [await runScenario('kvd', steps, 'etcdctl'), await runScenario('kvd', steps, 'tsctl')];
    assert.equal(ts.length, ctl.length);
    for (let i = 0; i < ctl.length; i++) assert.equal(ts[i], ctl[i], `output ${i + 1} differs`);
  });
}

test('tsctl moves past an endpoint that cannot be reached, and reads ETCDCTL_*/TSCTL_* settings', async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const dead = `127.0.0.1:${await freePort()}`;
    const put = await etcdctl(`${dead},${server.endpoint}`, ['put', 'fo', 'ok'], { tool: 'tsctl' });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, 'OK\n');
    const viaEnv = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [TSCTL, 'get', 'fo', '--print-value-only'], { env: { ...process.env, TSCTL_ENDPOINTS: server.endpoint, ETCDCTL_KEEPALIVE_TIME: '3s' } }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
    assert.equal(viaEnv, 'ok\n');
    const keepalive = await etcdctl(server.endpoint, ['--keepalive-time=30s', '--keepalive-timeout=10s', 'get', 'fo', '--print-value-only'], { tool: 'tsctl' });
    assert.equal(keepalive.stdout, 'ok\n', keepalive.stderr);
    // An unknown flag: etcdctl's error line and exit code (etcdctl then prints its usage text).
    const [ctl, ts] = [await etcdctl(server.endpoint, ['get', 'fo', '--foo']), await etcdctl(server.endpoint, ['get', 'fo', '--foo'], { tool: 'tsctl' })];
    assert.equal(ts.code, ctl.code);
    assert.equal(ts.stderr.split('\n')[0], ctl.stderr.split('\n')[0]);
  } finally {
    await server.stop();
  }
});
