// kvd's settings: etcd's defaults, flags over ETCD_* variables, clear errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig, parseDuration, type Config } from '../../../src/server/config.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => {
  const parsed = parseConfig(argv, env);
  assert.equal(parsed.kind, 'run');
  return (parsed as { config: Config }).config;
};

test("etcd's defaults", () => {
  const c = run([]);
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, 'default.kvd');
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(c.initialClusterToken, 'etcd-cluster');
  assert.deepEqual([...c.initialCluster], [['default', ['http://127.0.0.1:2380']]]);
  assert.equal(c.listenClientUrls[0]!.port, '2379');
});

test('flags win over ETCD_* variables, which win over defaults', () => {
  const env = { ETCD_NAME: 'from-env', ETCD_MAX_TXN_OPS: '64', ETCD_LOG_LEVEL: 'warn' };
  const c = run(['--name', 'from-flag', '--max-txn-ops=32'], env);
  assert.equal(c.name, 'from-flag');
  assert.equal(c.maxTxnOps, 32);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.dataDir, 'from-flag.kvd');
});

test('bad settings are clear errors', () => {
  assert.throws(() => parseConfig(['--no-such-flag']), ConfigError);
  assert.throws(() => parseConfig(['--max-txn-ops', 'many']), /invalid value "many" for flag -max-txn-ops/);
  assert.throws(() => parseConfig(['--listen-client-urls', 'localhost']), /URL address does not have the form/);
  assert.throws(() => parseConfig(['--initial-cluster', 'other=http://127.0.0.1:2380']), /couldn't find local name "default"/);
  assert.throws(() => parseConfig(['--log-level', 'loud']), /log-level/);
  assert.throws(() => parseConfig(['--heartbeat-interval', '500']), /election-timeout/);
});

test('durations are Go durations, as etcd takes them', () => {
  assert.equal(run([]).watchProgressNotifyIntervalMs, 10 * 60_000);
  assert.equal(run(['--experimental-watch-progress-notify-interval', '1m30s']).watchProgressNotifyIntervalMs, 90_000);
  assert.equal(run(['--experimental-watch-progress-notify-interval=250ms']).watchProgressNotifyIntervalMs, 250);
  assert.equal(run([], { ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '2h' }).watchProgressNotifyIntervalMs, 7_200_000);
  assert.equal(parseDuration('1.5s'), 1500);
  for (const bad of ['10', 'ten minutes', '5x', 's', '1m 2s']) {
    assert.throws(() => parseConfig(['--experimental-watch-progress-notify-interval', bad]), /invalid value/, bad);
  }
});

test('auto-compaction settings as etcd reads them', () => {
  assert.equal(run([]).autoCompaction, undefined);
  assert.deepEqual(run(['--auto-compaction-retention', '2']).autoCompaction, { mode: 'periodic', retentionMs: 7_200_000 });
  assert.deepEqual(run(['--auto-compaction-retention', '30m']).autoCompaction, { mode: 'periodic', retentionMs: 1_800_000 });
  assert.deepEqual(run(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']).autoCompaction, { mode: 'revision', retention: 1000 });
  assert.throws(() => parseConfig(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h']), /auto-compaction-retention/);
  assert.throws(() => parseConfig(['--auto-compaction-mode', 'daily']), /auto-compaction-mode/);
});

test('--config-file: YAML with etcd\'s keys; it alone decides, as in etcd; unknown or malformed settings are errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvd-config-'));
  try {
    const file = path.join(dir, 'etcd.yaml');
    fs.writeFileSync(file, [
      'name: infra1', 'data-dir: /var/lib/kvd', 'heartbeat-interval: 50', 'election-timeout: 500',
      'pre-vote: false', "auto-compaction-retention: '1'", 'experimental-watch-progress-notify-interval: 30s',
      "listen-client-urls: 'http://127.0.0.1:12379'",
    ].join('\n'));
    const c = run(['--config-file', file, '--name', 'ignored'], { ETCD_MAX_TXN_OPS: '3' });
    assert.equal(c.name, 'infra1');
    assert.equal(c.dataDir, '/var/lib/kvd');
    assert.equal(c.heartbeatIntervalMs, 50);
    assert.equal(c.preVote, false);
    assert.equal(c.maxTxnOps, 128, 'the environment is ignored');
    assert.deepEqual(c.autoCompaction, { mode: 'periodic', retentionMs: 3_600_000 });
    assert.equal(c.watchProgressNotifyIntervalMs, 30_000);
    assert.equal(c.listenClientUrls[0]!.port, '12379');
    assert.equal(run([], { ETCD_CONFIG_FILE: file }).name, 'infra1');

    fs.writeFileSync(file, 'name: x\nno-such-setting: 1\n');
    assert.throws(() => parseConfig(['--config-file', file]), /unknown setting "no-such-setting"/);
    fs.writeFileSync(file, 'name: [unclosed\n');
    assert.throws(() => parseConfig(['--config-file', file]), /cannot read configuration file/);
    fs.writeFileSync(file, 'heartbeat-interval: fast\n');
    assert.throws(() => parseConfig(['--config-file', file]), /invalid value "fast" for flag -heartbeat-interval/);
    assert.throws(() => parseConfig(['--config-file', path.join(dir, 'missing.yaml')]), /cannot read configuration file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the example configuration of deploy/ is valid', () => {
  const c = run(['--config-file', path.join(import.meta.dirname, '../../../../deploy/kvd.yaml')]);
  assert.equal(c.name, 'infra1');
  assert.equal(c.dataDir, '/var/lib/kvd');
  assert.deepEqual(c.autoCompaction, { mode: 'periodic', retentionMs: 3_600_000 });
});

test('TLS settings: etcd\'s flags and ETCD_* variables, cipher suites by their Go names, the minimum version', () => {
  const c = run(['--cert-file', 'server.crt', '--key-file=server.key', '--client-cert-auth', '--peer-auto-tls',
    '--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305', '--client-crl-file', 'client.crl'],
  { ETCD_TRUSTED_CA_FILE: 'ca.crt', ETCD_PEER_CLIENT_CERT_AUTH: 'true', ETCD_PEER_CRL_FILE: 'peer.crl' });
  assert.deepEqual(c.clientSecurity, { certFile: 'server.crt', keyFile: 'server.key', trustedCaFile: 'ca.crt', crlFile: 'client.crl', clientCertAuth: true, autoTls: false });
  assert.deepEqual(c.peerSecurity, { certFile: '', keyFile: '', trustedCaFile: '', crlFile: 'peer.crl', clientCertAuth: true, autoTls: true });
  assert.equal(c.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305');
  assert.equal(c.tlsMinVersion, 'TLS1.2');
  assert.equal(run(['--tls-min-version', 'TLS1.3']).tlsMinVersion, 'TLS1.3');
  assert.throws(() => parseConfig(['--tls-min-version', 'TLS1.1']), /invalid value "TLS1.1" for flag -tls-min-version/);
  assert.throws(() => parseConfig(['--cipher-suites', 'TLS_RSA_WITH_RC4_128_SHA']), /unexpected TLS cipher suite "TLS_RSA_WITH_RC4_128_SHA"/);
});

test('--config-file: TLS settings under client-transport-security and peer-transport-security, cipher suites as a list', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvd-config-'));
  try {
    const file = path.join(dir, 'etcd.yaml');
    fs.writeFileSync(file, [
      'client-transport-security:', '  cert-file: /etc/kvd/server.crt', '  key-file: /etc/kvd/server.key', '  client-cert-auth: true', '  trusted-ca-file: /etc/kvd/ca.crt',
      'peer-transport-security:', '  auto-tls: true',
      'cipher-suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256]',
    ].join('\n'));
    const c = run(['--config-file', file]);
    assert.deepEqual(c.clientSecurity, { certFile: '/etc/kvd/server.crt', keyFile: '/etc/kvd/server.key', trustedCaFile: '/etc/kvd/ca.crt', crlFile: '', clientCertAuth: true, autoTls: false });
    assert.deepEqual(c.peerSecurity, { certFile: '', keyFile: '', trustedCaFile: '', crlFile: '', clientCertAuth: false, autoTls: true });
    assert.equal(c.ciphers, 'ECDHE-RSA-AES256-GCM-SHA384:TLS_AES_128_GCM_SHA256');
    fs.writeFileSync(file, 'peer-transport-security:\n  no-such-key: 1\n');
    assert.throws(() => parseConfig(['--config-file', file]), /unknown setting "peer-transport-security.no-such-key"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
