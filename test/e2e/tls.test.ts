// TLS and mutual TLS on client and peer URLs, with certificates made by openssl for the test:
// etcdctl with a client certificate gets from kvd what it gets from etcd, clients without a
// certificate from the trusted CA or with a revoked one are refused by both, the JSON gateway and /health share the
// TLS port, members with peer certificates form a cluster (snapshots included) that refuses a
// member whose certificate another CA signed, auto TLS serves, and tsctl prints what etcdctl prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { connect } from '../../src/client/client.js';
import { startCluster, startServer, type ServerKind } from './harness/server.js';
import { etcdctl } from './harness/etcdctl.js';
import { memberAdd } from './harness/cluster-status.js';
import { freePort } from './harness/ports.js';
import { runScenario } from './parity/run.js';
import type { Step } from './parity/normalize.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';

const clientTlsArgs = (c: TestCerts) => ['--cert-file', c.file('server.crt'), '--key-file', c.file('server.key'), '--trusted-ca-file', c.file('ca.crt'), '--client-cert-auth'];
const peerTlsArgs = (c: TestCerts, cert = 'server') =>
  ['--peer-cert-file', c.file(`${cert}.crt`), '--peer-key-file', c.file(`${cert}.key`), '--peer-trusted-ca-file', c.file('ca.crt'), '--peer-client-cert-auth'];
const ctlTlsArgs = (c: TestCerts, who = 'alice') => [`--cacert=${c.file('ca.crt')}`, `--cert=${c.file(`${who}.crt`)}`, `--key=${c.file(`${who}.key`)}`];
/** etcdctl 3.4 applies --insecure-skip-tls-verify only to a TLS setup it was asked for. */
const SKIP_VERIFY = ['--insecure-transport=false', '--insecure-skip-tls-verify'];
/** Bounded waits for clients that are meant to fail. */
const QUICK = ['--dial-timeout=1s', '--command-timeout=2s'];

async function withCerts(fn: (c: TestCerts) => Promise<void>): Promise<void> {
  const certs = makeTestCerts(['alice', 'bob'], ['mallory']);
  try {
    await fn(certs);
  } finally {
    certs.remove();
  }
}

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '10', ...args], (err, stdout) => resolve({ code: err ? Number(err.code) || 1 : 0, stdout }));
  });
}

const MUTUAL_TLS_STEPS: Step[] = [
  { args: ['member', 'list'] },
  { args: ['watch', 'greeting', '--prev-kv'], during: [{ args: ['put', 'greeting', 'hello'] }, { args: ['put', 'greeting', 'bye'] }] },
  { args: ['get', 'greeting'] },
  { args: ['get', 'greeting', '-w', 'json'] },
];

test('etcdctl over mutual TLS (member list, put, get, watch): kvd prints what etcd prints', async () => {
  await withCerts(async (certs) => {
    const ctlArgs = ctlTlsArgs(certs);
    const run = (kind: ServerKind) => runScenario(kind, MUTUAL_TLS_STEPS, 'etcdctl', { server: { tls: { client: true, ctlArgs }, extraArgs: clientTlsArgs(certs) }, ctlArgs });
    const [etcd, kvd] = [await run('etcd'), await run('kvd')];
    assert.match(kvd[0]!, /^<id>, started, m1, http:\/\/127\.0\.0\.1:<port>, <endpoint>, false$/m);
    assert.match(kvd[3]!, /^PUT\ngreeting\nhello\ngreeting\nbye$/m, 'the watch saw the second put with its previous value');
    assert.equal(kvd.length, etcd.length);
    for (let i = 0; i < kvd.length; i++) assert.equal(kvd[i], etcd[i], `output ${i + 1} differs`);
  });
});

test('with --client-cert-auth, a plaintext client and a client certificate from another CA are refused, by kvd as by etcd', async () => {
  await withCerts(async (certs) => {
    const outcomes: Record<string, (number | null)[]> = {};
    for (const kind of ['etcd', 'kvd'] as const) {
      const server = await startServer({ kind, tls: { client: true, ctlArgs: ctlTlsArgs(certs) }, extraArgs: [...clientTlsArgs(certs), '--log-level', 'warn'] });
      try {
        const trusted = await etcdctl(server.endpoint, [...ctlTlsArgs(certs), 'put', 'k', 'v']);
        const plaintext = await etcdctl(server.endpoint.replace('https://', 'http://'), [...QUICK, 'get', 'k']);
        const otherCa = await etcdctl(server.endpoint, [...QUICK, ...ctlTlsArgs(certs, 'mallory'), 'get', 'k']);
        assert.equal(trusted.stdout, 'OK\n', trusted.stderr);
        assert.equal(plaintext.stdout, '');
        assert.equal(otherCa.stdout, '');
        outcomes[kind] = [trusted.code, plaintext.code, otherCa.code];
        if (kind === 'kvd') assert.match(server.logs(), /"error":"certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)","msg":"rejected connection"/);
      } finally {
        await server.stop();
      }
    }
    assert.deepEqual(outcomes.kvd, outcomes.etcd);
    assert.notEqual(outcomes.kvd![1], 0);
    assert.notEqual(outcomes.kvd![2], 0);
  });
});

test('--client-crl-file: a client certificate the CA revoked is refused, by kvd as by etcd', async () => {
  await withCerts(async (certs) => {
    const crl = certs.revoke(['bob']);
    const outcomes: Record<string, (number | null)[]> = {};
    for (const kind of ['etcd', 'kvd'] as const) {
      const server = await startServer({ kind, tls: { client: true, ctlArgs: ctlTlsArgs(certs) }, extraArgs: [...clientTlsArgs(certs), '--client-crl-file', crl, '--log-level', 'warn'] });
      try {
        const trusted = await etcdctl(server.endpoint, [...ctlTlsArgs(certs), 'put', 'k', 'v']);
        const revoked = await etcdctl(server.endpoint, [...QUICK, ...ctlTlsArgs(certs, 'bob'), 'get', 'k']);
        assert.equal(trusted.stdout, 'OK\n', trusted.stderr);
        assert.equal(revoked.stdout, '');
        outcomes[kind] = [trusted.code, revoked.code];
        if (kind === 'kvd') assert.match(server.logs(), /"error":"certificate not trusted \(CERT_REVOKED\)","msg":"rejected connection"/);
      } finally {
        await server.stop();
      }
    }
    assert.deepEqual(outcomes.kvd, outcomes.etcd);
    assert.notEqual(outcomes.kvd![1], 0);
  });
});

test('curl with a client certificate: /health and the JSON gateway on the TLS client port, /metrics on an https metrics URL', async () => {
  await withCerts(async (certs) => {
    const metricsPort = await freePort();
    const server = await startServer({
      kind: 'kvd', tls: { client: true, ctlArgs: ctlTlsArgs(certs) },
      extraArgs: [...clientTlsArgs(certs), '--listen-metrics-urls', `https://127.0.0.1:${metricsPort}`],
    });
    try {
      const withCert = ['--cacert', certs.file('ca.crt'), '--cert', certs.file('alice.crt'), '--key', certs.file('alice.key')];
      assert.equal((await curl([...withCert, `${server.endpoint}/health`])).stdout, '{"health":"true"}');
      const put = await curl([...withCert, `${server.endpoint}/v3/kv/put`, '-X', 'POST', '-d', '{"key":"Zm9v","value":"YmFy"}']);
      assert.match(put.stdout, /^\{"header":\{"cluster_id":"\d+","member_id":"\d+","revision":"2","raft_term":"\d+"\}\}$/);
      assert.equal((await etcdctl(server.endpoint, [...ctlTlsArgs(certs), 'get', 'foo', '--print-value-only'])).stdout, 'bar\n');
      assert.match((await curl([...withCert, `https://127.0.0.1:${metricsPort}/metrics`])).stdout, /^etcd_server_has_leader 1$/m);
      assert.notEqual((await curl(['--cacert', certs.file('ca.crt'), `${server.endpoint}/health`])).code, 0, 'no client certificate');
    } finally {
      await server.stop();
    }
  });
});

test('a 3-member cluster with peer mutual TLS replicates and sends snapshots; a member whose peer certificate another CA signed, or that names another address, is refused', async () => {
  await withCerts(async (certs) => {
    const ctlArgs = ctlTlsArgs(certs);
    const memberArgs = [...clientTlsArgs(certs), '--snapshot-count', '50', '--experimental-snapshot-catchup-entries', '10'];
    const cluster = await startCluster({ kind: 'kvd', size: 3, tls: { client: true, peer: true, ctlArgs }, extraArgs: [...memberArgs, ...peerTlsArgs(certs), '--log-level', 'warn'] });
    try {
      const [m1, m2, m3] = cluster.members;
      assert.equal((await etcdctl(m1!.endpoint, [...ctlArgs, 'put', 'replicated', 'yes'])).stdout, 'OK\n');
      for (const m of [m2!, m3!]) assert.equal((await etcdctl(m.endpoint, [...ctlArgs, 'get', 'replicated', '--print-value-only'])).stdout, 'yes\n');

      const intruder = await cluster.plan('m4');
      const added = await memberAdd(() => etcdctl(m1!.endpoint, [...ctlArgs, 'member', 'add', 'm4', `--peer-urls=${intruder.peerURL}`]));
      assert.equal(added.code, 0, added.stderr);
      await assert.rejects(cluster.join(intruder, [...memberArgs, ...peerTlsArgs(certs, 'other-server')]), /exited at start/);
      const refusal = /"error":"certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)","msg":"refused a peer connection"/;
      assert.ok(cluster.members.some((m) => refusal.test(m.logs())), 'a member logged why it refused the intruder');
      const list = await etcdctl(m1!.endpoint, [...ctlArgs, 'member', 'list']);
      assert.match(list.stdout, /^[0-9a-f]+, unstarted, , https:\/\/127\.0\.0\.1:\d+, , false$/m);
      assert.equal(list.stdout.match(/, started, /g)?.length, 3);
      // The right CA but a certificate for another host's address: refused too (etcd's peer listeners check it as well).
      await assert.rejects(cluster.join(intruder, [...memberArgs, ...peerTlsArgs(certs, 'far-server')]), /exited at start/);
      const addressRefusal = /"error":"x509: certificate is valid for 10\.9\.9\.9, not 127\.0\.0\.1","msg":"refused a peer connection"/;
      assert.ok(cluster.members.some((m) => addressRefusal.test(m.logs())), 'a member logged why it refused the certificate for another host');

      // A member with a good certificate joins once the log is compacted: it gets a snapshot over TLS.
      assert.equal((await etcdctl(m1!.endpoint, [...ctlArgs, 'member', 'remove', /^Member\s+([0-9a-f]+) added/.exec(added.stdout)![1]!])).code, 0);
      const client = connect(new URL(m1!.endpoint).host, {}, grpc.credentials.createSsl(...(['ca.crt', 'alice.key', 'alice.crt'].map((f) => fs.readFileSync(certs.file(f))) as [Buffer, Buffer, Buffer])));
      try {
        for (let i = 0; i < 80; i++) await client.kv.Put!({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) });
      } finally {
        client.close();
      }
      const newcomer = await cluster.plan('m5');
      assert.equal((await memberAdd(() => etcdctl(m1!.endpoint, [...ctlArgs, 'member', 'add', 'm5', `--peer-urls=${newcomer.peerURL}`]))).code, 0);
      const m5 = await cluster.join(newcomer, [...memberArgs, ...peerTlsArgs(certs), '--log-level', 'info']);
      assert.equal((await etcdctl(m5.endpoint, [...ctlArgs, 'get', 'k79', '--print-value-only'])).stdout, '79\n');
      assert.match(m5.logs(), /installed a snapshot from the leader/);
    } finally {
      await cluster.stop();
    }
  });
});

test('--auto-tls and --peer-auto-tls: generated certificates under <data-dir>/fixtures serve clients and peers', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, tls: { client: true, peer: true, ctlArgs: SKIP_VERIFY }, extraArgs: ['--auto-tls', '--peer-auto-tls'] });
  try {
    const [m1, , m3] = cluster.members;
    assert.equal((await etcdctl(m1!.endpoint, [...SKIP_VERIFY, 'put', 'auto', 'tls'])).stdout, 'OK\n');
    assert.equal((await etcdctl(m3!.endpoint, [...SKIP_VERIFY, 'get', 'auto', '--print-value-only'])).stdout, 'tls\n');
    for (const side of ['client', 'peer']) {
      for (const file of ['cert.pem', 'key.pem']) assert.ok(fs.existsSync(path.join(m1!.dataDir, 'fixtures', side, file)), `${side}/${file}`);
    }
    const verifying = await etcdctl(m1!.endpoint, [...QUICK, '--insecure-transport=false', 'get', 'auto']);
    assert.notEqual(verifying.code, 0, 'a generated certificate is not trusted without --insecure-skip-tls-verify');
  } finally {
    await cluster.stop();
  }
});

test('tsctl with --cacert/--cert/--key against a TLS kvd prints what etcdctl prints (member list, get)', async () => {
  await withCerts(async (certs) => {
    const ctlArgs = ctlTlsArgs(certs);
    const server = await startServer({ kind: 'kvd', tls: { client: true, ctlArgs }, extraArgs: clientTlsArgs(certs) });
    try {
      assert.equal((await etcdctl(server.endpoint, [...ctlArgs, 'put', 'greeting', 'hello'])).stdout, 'OK\n');
      for (const args of [['member', 'list'], ['member', 'list', '-w', 'json'], ['get', 'greeting'], ['get', 'greeting', '-w', 'json']]) {
        const [ctl, ts] = [await etcdctl(server.endpoint, [...ctlArgs, ...args]), await etcdctl(server.endpoint, [...ctlArgs, ...args], { tool: 'tsctl' })];
        assert.equal(ctl.code, 0, ctl.stderr);
        assert.equal(ts.stdout, ctl.stdout, args.join(' '));
        assert.equal(ts.code, 0);
      }
      const untrusted = await etcdctl(server.endpoint, [...QUICK, ...ctlTlsArgs(certs, 'mallory'), 'get', 'greeting'], { tool: 'tsctl' });
      assert.notEqual(untrusted.code, 0);
      assert.equal(untrusted.stdout, '');
    } finally {
      await server.stop();
    }
  });
});
