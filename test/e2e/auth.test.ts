// Authentication and permissions against real etcd 3.4: the same users, roles and requests on a
// fresh server of each kind must be allowed or refused alike (with the same error), over KV,
// txn, watch, lease, compaction, cluster and maintenance calls; then tokens: simple tokens on
// every member of a cluster, their invalidation and expiry, JWTs, the auth state surviving
// a kill -9, and users named by their TLS client certificates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCluster, startServer, type ServerKind } from './harness/server.js';
import { connect, type Client } from '../../src/client/client.js';
import { openWatch } from '../../src/client/watch.js';
import { makeTestCerts } from '../support/certs.js';
import { runScenario } from './parity/run.js';
import type { Step } from './parity/normalize.js';

type Req = Record<string, any>;

const b = (s: string) => Buffer.from(s);
const READ = 0;
const WRITE = 1;
const READWRITE = 2;

/** "ok", or the call's error as "<gRPC code> <message>". */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    const e = err as { code?: number; details?: string; message: string };
    return `${e.code} ${e.details ?? e.message}`;
  }
}

/** A watch create's answer: "ok" when created, the cancel reason when refused. */
function watchOutcome(client: Client, create: Req): Promise<string> {
  return new Promise((resolve) => {
    const stream = openWatch(client);
    const done = (r: string) => {
      stream.close();
      resolve(r);
    };
    stream.events.on('response', (r: Req) => done(r.canceled ? `canceled ${r.cancel_reason} id=${r.watch_id}` : 'ok'));
    stream.events.on('error', (e: { code: number; details: string }) => done(`${e.code} ${e.details}`));
    stream.create(create);
  });
}

const USERS: Record<string, string[]> = { alice: ['reader'], bob: ['writer'], carol: ['reader', 'writer'], dave: [], erin: ['fromkey'] };

/** Users, roles and data, made as root on a server with auth still off; then auth is enabled. */
async function setUp(c: Client): Promise<void> {
  const auth = c.service('etcdserverpb.Auth');
  await auth.UserAdd!({ name: 'root', password: 'rootpw' });
  await auth.RoleAdd!({ name: 'root' });
  await auth.UserGrantRole!({ user: 'root', role: 'root' });
  const grant = (name: string, permType: number, key: string, range_end = '') => auth.RoleGrantPermission!({ name, perm: { permType, key: b(key), range_end: b(range_end) } });
  await auth.RoleAdd!({ name: 'reader' });
  await grant('reader', READ, 'r/', 'r0');
  await auth.RoleAdd!({ name: 'writer' });
  await grant('writer', WRITE, 'w');
  await grant('writer', READWRITE, 'rw/', 'rw0');
  await auth.RoleAdd!({ name: 'fromkey' });
  await grant('fromkey', READ, 'm', '\0');
  for (const [user, roles] of Object.entries(USERS)) {
    await auth.UserAdd!({ name: user, password: `${user}pw` });
    for (const role of roles) await auth.UserGrantRole!({ user, role });
  }
  for (const key of ['r/1', 'w', 'rw/1', 'm1', 'z']) await c.kv.Put!({ key: b(key), value: b('v') });
  const lease = c.service('etcdserverpb.Lease');
  // One lease per user holding a key under rw/, and one holding a key only readers may read.
  for (const [i] of Object.keys(USERS).entries()) {
    await lease.LeaseGrant!({ ID: 100 + i, TTL: 600 });
    await c.kv.Put!({ key: b(`rw/lease${i}`), value: b('v'), lease: 100 + i });
  }
  await lease.LeaseGrant!({ ID: 999, TTL: 600 });
  await c.kv.Put!({ key: b('r/leased'), value: b('v'), lease: 999 });
  await auth.AuthEnable!({});
}

/** Every request of the matrix, as one user (or none), in a fixed order. */
async function matrix(endpoint: string, who: string, index: number): Promise<Record<string, string>> {
  const c = connect(endpoint);
  const out: Record<string, string> = {};
  try {
    if (who === 'bad token') c.setToken('notatoken.1');
    else if (who !== 'anonymous') {
      const r = await c.service('etcdserverpb.Auth').Authenticate!({ name: who, password: who === 'root' ? 'rootpw' : `${who}pw` });
      c.setToken(r.token);
    }
    const kv = c.kv;
    const lease = c.service('etcdserverpb.Lease');
    const auth = c.service('etcdserverpb.Auth');
    const run = async (name: string, call: () => Promise<unknown>) => (out[name] = await outcome(call));
    await run('range key', () => kv.Range!({ key: b('r/1') }));
    await run('range prefix', () => kv.Range!({ key: b('r/'), range_end: b('r0') }));
    await run('range across grants', () => kv.Range!({ key: b('r/'), range_end: b('rw0') }));
    await run('range from key', () => kv.Range!({ key: b('m'), range_end: b('\0') }));
    await run('range serializable', () => kv.Range!({ key: b('r/1'), serializable: true }));
    await run('range ungranted', () => kv.Range!({ key: b('z') }));
    await run('put', () => kv.Put!({ key: b('w'), value: b(who) }));
    await run('put prev_kv', () => kv.Put!({ key: b('w'), value: b(who), prev_kv: true }));
    await run('put prefix', () => kv.Put!({ key: b('rw/x'), value: b(who) }));
    await run('put read-only', () => kv.Put!({ key: b('r/x'), value: b(who) }));
    await run('put on lease of unwritable key', () => kv.Put!({ key: b('rw/y'), value: b(who), lease: 999 }));
    await run('delete', () => kv.DeleteRange!({ key: b('w') }));
    await run('delete prefix prev_kv', () => kv.DeleteRange!({ key: b('rw/x'), range_end: b('rw/y'), prev_kv: true }));
    await run('txn read compare, write', () => kv.Txn!({ compare: [{ key: b('r/1'), target: 0, result: 1, version: 0 }], success: [{ request_put: { key: b('w'), value: b('t') } }] }));
    await run('txn failure branch', () => kv.Txn!({ compare: [{ key: b('rw/1'), target: 0, result: 0, version: 0 }], failure: [{ request_range: { key: b('z') } }] }));
    await run('txn delete prev_kv', () => kv.Txn!({ success: [{ request_delete_range: { key: b('rw/nothing'), prev_kv: true } }] }));
    await run('lease grant', () => lease.LeaseGrant!({ ID: 500 + index, TTL: 600 }));
    await run('lease revoke own', () => lease.LeaseRevoke!({ ID: 100 + Math.min(index, 4) }));
    await run('lease revoke unwritable', () => lease.LeaseRevoke!({ ID: 999 }));
    await run('lease timetolive', () => lease.LeaseTimeToLive!({ ID: 999, keys: true }));
    await run('compaction', () => kv.Compact!({ revision: 3 }));
    out['watch key'] = await watchOutcome(c, { key: b('r/1') });
    out['watch prefix'] = await watchOutcome(c, { key: b('rw/'), range_end: b('rw0') });
    out['watch ungranted'] = await watchOutcome(c, { key: b('z') });
    await run('member list', () => c.cluster.MemberList!({}));
    await run('status', () => c.maintenance.Status!({}));
    await run('alarm list', () => c.maintenance.Alarm!({ action: 0 }));
    await run('hash kv', () => c.maintenance.HashKV!({ revision: 0 }));
    await run('defragment', () => c.maintenance.Defragment!({}));
    await run('user list', () => auth.UserList!({}));
    await run('user get self', () => auth.UserGet!({ name: who }));
    await run('user get other', () => auth.UserGet!({ name: 'carol' }));
    await run('role get own', () => auth.RoleGet!({ role: 'reader' }));
    await run('role add', () => auth.RoleAdd!({ name: `new-${who}` }));
    return out;
  } finally {
    c.close();
  }
}

async function permissionsOf(kind: ServerKind): Promise<Record<string, Record<string, string>>> {
  const server = await startServer({ kind });
  try {
    const admin = connect(server.endpoint);
    try {
      await setUp(admin);
    } finally {
      admin.close();
    }
    const results: Record<string, Record<string, string>> = {};
    const who = ['root', ...Object.keys(USERS), 'anonymous', 'bad token'];
    for (const [i, user] of who.entries()) results[user] = await matrix(server.endpoint, user, i);
    return results;
  } finally {
    await server.stop();
  }
}

test('permissions: every user, role and request is allowed or refused as by etcd 3.4', async () => {
  const [etcd, kvd] = [await permissionsOf('etcd'), await permissionsOf('kvd')];
  // The matrix must exercise both answers: allowed and refused requests.
  assert.ok(Object.values(etcd.alice!).includes('ok') && Object.values(etcd.alice!).some((o) => o.includes('permission denied')));
  for (const user of Object.keys(etcd)) {
    for (const request of Object.keys(etcd[user]!)) {
      assert.equal(kvd[user]![request], etcd[user]![request], `${user}: ${request}`);
    }
  }
});

/** Authenticates as `user` and returns a client carrying the token. */
async function login(endpoint: string, user: string, password: string): Promise<{ client: Client; token: string }> {
  const client = connect(endpoint);
  const { token } = await client.service('etcdserverpb.Auth').Authenticate!({ name: user, password });
  client.setToken(token);
  return { client, token };
}

async function enableAuth(c: Client): Promise<void> {
  const auth = c.service('etcdserverpb.Auth');
  await auth.UserAdd!({ name: 'root', password: 'rootpw' });
  await auth.UserGrantRole!({ user: 'root', role: 'root' });
  await auth.UserAdd!({ name: 'u', password: 'upw' });
  await auth.RoleAdd!({ name: 'rw' });
  await auth.RoleGrantPermission!({ name: 'rw', perm: { permType: READWRITE, key: b('k'), range_end: b('') } });
  await auth.UserGrantRole!({ user: 'u', role: 'rw' });
  await auth.AuthEnable!({});
}

test('simple tokens: valid on every member, gone with their user or password, and after --auth-token-ttl unused', async () => {
  const cluster = await startCluster({ kind: 'kvd', size: 3, extraArgs: ['--auth-token-ttl', '2'] });
  const clients: Client[] = [];
  try {
    const [m1, m2, m3] = cluster.members.map((m) => m.endpoint);
    const setup = connect(m1!);
    clients.push(setup);
    await enableAuth(setup);
    const { token } = await login(m1!, 'u', 'upw');
    assert.match(token, /^[a-zA-Z]{16}\.\d+$/);
    // Issued by m1, accepted by the others: the token was assigned where the call applied.
    for (const endpoint of [m2!, m3!]) {
      const c = connect(endpoint);
      clients.push(c);
      c.setToken(token);
      await c.kv.Put!({ key: b('k'), value: b(endpoint) });
      assert.equal((await c.kv.Range!({ key: b('k') })).kvs[0].value.toString(), endpoint);
    }
    const root = await login(m2!, 'root', 'rootpw');
    clients.push(root.client);
    await root.client.service('etcdserverpb.Auth').UserChangePassword!({ name: 'u', password: 'new' });
    const stale = connect(m3!);
    clients.push(stale);
    stale.setToken(token);
    await assert.rejects(stale.kv.Range!({ key: b('k') }), /invalid auth token/);
    await assert.rejects(login(m3!, 'u', 'upw'), /authentication failed, invalid user ID or password/);
    const fresh = await login(m3!, 'u', 'new');
    clients.push(fresh.client);
    await fresh.client.kv.Range!({ key: b('k') });
    // Unused for longer than the TTL (2 s; swept every second), the token is gone.
    await new Promise((r) => setTimeout(r, 3500));
    await assert.rejects(fresh.client.kv.Range!({ key: b('k') }), /invalid auth token/);
    await root.client.service('etcdserverpb.Auth').UserDelete!({ name: 'u' }).catch(async () => {
      // root's token expired too: log in again.
      const again = await login(m1!, 'root', 'rootpw');
      clients.push(again.client);
      await again.client.service('etcdserverpb.Auth').UserDelete!({ name: 'u' });
    });
    await assert.rejects(login(m1!, 'u', 'new'), /authentication failed/);
  } finally {
    clients.forEach((c) => c.close());
    await cluster.stop();
  }
});

/** An RSA key pair in PEM files, made by openssl. */
function rsaKeys(dir: string): { priv: string; pub: string } {
  const priv = path.join(dir, 'jwt.key');
  const pub = path.join(dir, 'jwt.pub');
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', priv], { stdio: 'ignore' });
  execFileSync('openssl', ['pkey', '-in', priv, '-pubout', '-out', pub], { stdio: 'ignore' });
  return { priv, pub };
}

/** What a JWT flow answers: the token's claims, then each request's outcome. */
async function jwtFlow(kind: ServerKind, keys: { priv: string; pub: string }): Promise<string[]> {
  const server = await startServer({ kind, extraArgs: ['--auth-token', `jwt,pub-key=${keys.pub},priv-key=${keys.priv},sign-method=RS256,ttl=10m`] });
  const clients: Client[] = [];
  try {
    const setup = connect(server.endpoint);
    clients.push(setup);
    await enableAuth(setup);
    const u = await login(server.endpoint, 'u', 'upw');
    clients.push(u.client);
    const claims = JSON.parse(Buffer.from(u.token.split('.')[1]!, 'base64url').toString());
    const out = [`claims ${Object.keys(claims).sort().join(',')} user=${claims.username}`];
    out.push(await outcome(() => u.client.kv.Put!({ key: b('k'), value: b('1') })));
    const root = await login(server.endpoint, 'root', 'rootpw');
    clients.push(root.client);
    // Any change of users or roles makes earlier tokens stale.
    out.push(await outcome(() => root.client.service('etcdserverpb.Auth').RoleAdd!({ name: 'other' })));
    out.push(await outcome(() => u.client.kv.Range!({ key: b('k') })));
    out.push(await outcome(() => u.client.kv.Put!({ key: b('k'), value: b('2') })));
    const again = await login(server.endpoint, 'u', 'upw');
    clients.push(again.client);
    out.push(await outcome(() => again.client.kv.Put!({ key: b('k'), value: b('3') })));
    // A token signed with another key is refused.
    const forged = u.token.slice(0, u.token.lastIndexOf('.') + 1) + 'AAAA';
    const f = connect(server.endpoint);
    clients.push(f);
    f.setToken(forged);
    out.push(await outcome(() => f.kv.Range!({ key: b('k') })));
    if (kind === 'kvd') {
      // The auth state is durable: after kill -9 the same token (stateless) and users still work.
      server.kill9();
      await server.restart(['--user', 'root:rootpw']);
      const after = connect(server.endpoint);
      clients.push(after);
      after.setToken(again.token);
      assert.equal((await after.kv.Range!({ key: b('k') })).kvs[0].value.toString(), '3');
      assert.equal((await after.service('etcdserverpb.Auth').AuthStatus!({})).enabled, true);
      const anonymous = connect(server.endpoint);
      clients.push(anonymous);
      await assert.rejects(anonymous.kv.Range!({ key: b('k') }), /user name is empty/);
    }
    return out;
  } finally {
    clients.forEach((c) => c.close());
    await server.stop();
  }
}

test('JWT tokens (RS256): claims, stale after an auth change, forged ones refused, as etcd; auth state survives kill -9', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvd-jwt-'));
  try {
    const keys = rsaKeys(dir);
    const [etcd, kvd] = [await jwtFlow('etcd', keys), await jwtFlow('kvd', keys)];
    assert.match(etcd[3]!, /revision of auth store is old/);
    assert.deepEqual(kvd, etcd);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--client-cert-auth: the certificate\'s Common Name is the user, as etcd (the lock service\'s own calls included)', async () => {
  const certs = makeTestCerts(['root', 'alice', 'bob'], []);
  try {
    const as = (cn: string, ...args: string[]): Step => ({ args: [`--cert=${certs.file(`${cn}.crt`)}`, `--key=${certs.file(`${cn}.key`)}`, ...args] });
    const steps: Step[] = [
      as('root', 'user', 'add', 'root:rootpw'), as('root', 'user', 'add', 'alice', '--no-password'), as('root', 'role', 'add', 'ra'),
      as('root', 'role', 'grant-permission', 'ra', 'readwrite', 'a', '--prefix'), as('root', 'role', 'grant-permission', 'ra', 'readwrite', 'l', '--prefix'),
      as('root', 'user', 'grant-role', 'alice', 'ra'), as('root', 'auth', 'enable'),
      as('alice', 'put', 'a1', 'v'), as('alice', 'get', 'a1'), as('alice', 'put', 'b1', 'v'), as('alice', 'user', 'list'),
      as('alice', 'lock', 'l1', '--', 'echo', 'locked'), as('alice', 'lock', 'x1', '--', 'echo', 'locked'),
      as('bob', 'get', 'a1'), as('alice', '--user', 'alice:pw', 'get', 'a1'),
      as('root', 'user', 'list'), as('root', 'get', 'a', '--prefix'), as('root', 'auth', 'disable'),
    ];
    const run = (kind: ServerKind) => runScenario(kind, steps, 'etcdctl', {
      server: { tls: { client: true, ctlArgs: [`--cacert=${certs.file('ca.crt')}`, `--cert=${certs.file('root.crt')}`, `--key=${certs.file('root.key')}`] }, extraArgs: ['--cert-file', certs.file('server.crt'), '--key-file', certs.file('server.key'), '--trusted-ca-file', certs.file('ca.crt'), '--client-cert-auth'] },
      ctlArgs: [`--cacert=${certs.file('ca.crt')}`],
    });
    const [etcd, kvd] = [await run('etcd'), await run('kvd')];
    assert.match(etcd[7]!, /^OK$/m, 'alice, by her certificate, may write under a');
    assert.match(etcd[9]!, /permission denied/);
    assert.equal(kvd.length, etcd.length);
    for (let i = 0; i < kvd.length; i++) assert.equal(kvd[i], etcd[i], `output ${i + 1} differs`);
  } finally {
    certs.remove();
  }
});
