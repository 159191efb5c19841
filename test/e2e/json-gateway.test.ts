// HTTP/1.1 on the client port: the JSON gateway against a real etcd (the same requests must get
// the same status and body, IDs and terms aside), /health, and Debian's python3-etcd3gw client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { runPython } from './harness/python.js';
import { startServer, type ServerKind } from './harness/server.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const ID_FIELDS = /"(cluster_id|member_id|raft_term|ID|leader|raftIndex|raftTerm|dbSize|dbSizeInUse|hash|version)":"?[\w.]+"?/g;

/** `raw`: a body sent as it is, not as JSON. */
interface Step { path: string; body?: unknown; raw?: string; method?: string; stream?: boolean }

const STEPS: Step[] = [
  { path: '/v3/kv/put', body: { key: b64('foo'), value: b64('bar') } },
  { path: '/v3/kv/put', body: { key: b64('foo'), value: b64('baz'), prev_kv: true } },
  { path: '/v3/kv/range', body: { key: b64('foo') } },
  { path: '/v3/kv/range', body: { key: b64('a'), range_end: b64('z'), keysOnly: true } },
  { path: '/v3/kv/put', body: { value: b64('x') } },
  { path: '/v3/kv/range', body: { key: b64('foo'), revision: '99' } },
  // 2^63 - 1 is a future revision, not one that rounds and wraps to the current one.
  { path: '/v3/kv/range', body: { key: b64('foo'), revision: '9223372036854775807' } },
  { path: '/v3/kv/range', body: { key: b64('foo'), sort_order: 'BOGUS' } },
  // Values jsonpb refuses, with Go's errors.
  { path: '/v3/kv/range', body: { key: b64('foo'), limit: 'x' } },
  { path: '/v3/kv/range', body: { key: b64('foo'), limit: '1e2' } },
  { path: '/v3/kv/range', body: { key: b64('foo'), limit: true } },
  { path: '/v3/kv/range', body: { key: b64('foo'), keys_only: 'true' } },
  { path: '/v3/kv/range', body: { key: 'Zm9' } },
  { path: '/v3/kv/range', body: { key: b64('foo'), range_end: 'AA' } },
  { path: '/v3/kv/range', body: { key: ['Zm9v'] } },
  { path: '/v3/kv/range', raw: '[1,2]' },
  { path: '/v3/kv/txn', body: { compare: [{ key: b64('foo'), result: 'EQUAL', target: 'VALUE', value: b64('baz') }], success: [{ requestPut: { key: b64('t'), value: b64('1') } }, { request_range: { key: b64('foo') } }] } },
  { path: '/v3/lease/grant', body: { TTL: 60, ID: 4660 } },
  { path: '/v3/kv/put', body: { key: b64('l'), value: b64('1'), lease: '4660' } },
  { path: '/v3/lease/timetolive', body: { ID: 4660, keys: true } },
  { path: '/v3/kv/lease/leases', body: {} },
  { path: '/v3/lease/revoke', body: { ID: 4660 } },
  { path: '/v3/lease/revoke', body: { ID: 4660 } },
  { path: '/v3/kv/deleterange', body: { key: b64('foo'), prev_kv: true } },
  { path: '/v3/kv/compaction', body: { revision: 3 } },
  { path: '/v3/kv/compaction', body: { revision: 2 } },
  { path: '/v3/kv/put', body: { key: b64('w'), value: b64('old') } },
  { path: '/v3/watch', body: { create_request: { key: b64('w'), start_revision: 4 } }, stream: true },
  // Bodies that cannot be read: refused at once, not a stream left open.
  { path: '/v3/watch', raw: 'garbage', stream: true },
  { path: '/v3/watch', raw: `${JSON.stringify({ create_request: { key: b64('w') } })} garbage`, stream: true },
  { path: '/v3/watch', body: { create_request: { key: b64('w'), filters: ['BOGUS'] } }, stream: true },
  { path: '/v3/cluster/member/list', body: {} },
  { path: '/v3/maintenance/alarm', body: {} },
  { path: '/v3/kv/range', method: 'GET' },
  { path: '/v3/nothing', body: {} },
  { path: '/health', method: 'GET' },
];

/** One request; a stream is read for a while, then closed. */
function request(endpoint: string, step: Step): Promise<string> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: step.path, method: step.method ?? 'POST' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      const done = () => resolve(`${res.statusCode} ${text.trim()}`);
      res.on('end', done);
      if (step.stream) setTimeout(() => {
        req.destroy();
        done();
      }, 1500);
    });
    req.on('error', (err) => (step.stream ? undefined : reject(err)));
    req.end(step.raw ?? (step.body === undefined ? undefined : JSON.stringify(step.body)));
  });
}

async function run(kind: ServerKind): Promise<string[]> {
  const server = await startServer({ kind });
  try {
    const out: string[] = [];
    for (const step of STEPS) {
      if (step.stream) {
        // The watch replays history, then a put arrives while it streams.
        const watching = request(server.endpoint, step);
        await new Promise((r) => setTimeout(r, 500));
        await request(server.endpoint, { path: '/v3/kv/put', body: { key: b64('w'), value: b64('live') } });
        out.push(`${step.path} → ${await watching}`);
      } else out.push(`${step.path} → ${await request(server.endpoint, step)}`);
    }
    return out.map((line) => line.replace(ID_FIELDS, '"$1":<n>').replace(/"(peerURLs|clientURLs)":\["[^"]*"\]/g, '"$1":[<url>]').replace(/"name":"[^"]*"/g, '"name":<name>'));
  } finally {
    await server.stop();
  }
}

test('the JSON gateway answers as etcd\'s', async () => {
  const [etcd, kvd] = [await run('etcd'), await run('kvd')];
  assert.match(etcd.find((l) => l.startsWith('/v3/watch'))!, /"created":true[\s\S]*bGl2ZQ==/);
  assert.deepEqual(kvd, etcd);
});

/** Auth through the gateway: users, roles and enable at /v3/auth/*, then requests with the token in the Authorization header. */
async function authFlow(kind: ServerKind): Promise<string[]> {
  const server = await startServer({ kind });
  try {
    const out: string[] = [];
    const call = async (path: string, body: unknown, token?: string) => {
      const [host, port] = server.endpoint.split(':');
      const text = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host, port, path, method: 'POST', headers: token ? { Authorization: token } : {} }, (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => resolve(`${res.statusCode} ${t.trim()}`));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
      out.push(`${path} → ${text.replace(ID_FIELDS, '"$1":<n>').replace(/"token":"[^"]+"/, '"token":<token>')}`);
      return text;
    };
    await call('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
    await call('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await call('/v3/auth/role/add', { name: 'app' });
    await call('/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') } });
    await call('/v3/auth/user/add', { name: 'alice', password: 'alicepw' });
    await call('/v3/auth/user/grant', { user: 'alice', role: 'app' });
    await call('/v3/auth/enable', {});
    await call('/v3/kv/put', { key: b64('app/x'), value: b64('1') });
    await call('/v3/auth/authenticate', { name: 'alice', password: 'wrong' });
    const login = await call('/v3/auth/authenticate', { name: 'alice', password: 'alicepw' });
    const token = JSON.parse(login.slice(login.indexOf(' ') + 1)).token as string;
    await call('/v3/kv/put', { key: b64('app/x'), value: b64('1') }, token);
    await call('/v3/kv/range', { key: b64('app/x') }, token);
    await call('/v3/kv/put', { key: b64('other'), value: b64('1') }, token);
    await call('/v3/auth/user/list', {}, token);
    await call('/v3/kv/range', { key: b64('app/x') }, 'not-a-token');
    await call('/v3/auth/role/get', { role: 'app' }, token);
    const root = JSON.parse((await call('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).replace(/^\d+ /, '')).token as string;
    await call('/v3/auth/user/get', { name: 'alice' }, root);
    await call('/v3/auth/disable', {}, root);
    return out;
  } finally {
    await server.stop();
  }
}

test('the JSON gateway\'s auth calls, and tokens in the Authorization header, answer as etcd\'s', async () => {
  const [etcd, kvd] = [await authFlow('etcd'), await authFlow('kvd')];
  assert.match(etcd.find((l) => l.includes('/v3/kv/range') && l.includes('"kvs"'))!, /"value":"MQ=="/);
  assert.deepEqual(kvd, etcd);
});

test("Debian's python3-etcd3gw works against kvd: put, get, prefix, delete, lease, watch", async () => {
  const server = await startServer({ kind: 'kvd' });
  try {
    const script = `
import sys, threading, time
from etcd3gw.client import Etcd3Client
c = Etcd3Client(host=sys.argv[1], port=int(sys.argv[2]), api_path='/v3/')
assert c.put('gw/a', '1') is True
assert c.put('gw/b', '2') is True
assert c.get('gw/a') == [b'1'], c.get('gw/a')
assert sorted(v for v, m in c.get_prefix('gw/')) == [b'1', b'2']
assert c.delete('gw/b') is True
assert c.get('gw/b') == []
lease = c.lease(ttl=30)
assert c.put('gw/l', 'x', lease=lease)
assert lease.ttl() > 0 and lease.keys() == [b'gw/l'], (lease.ttl(), lease.keys())
assert lease.refresh() == 30
events, cancel = c.watch('gw/w')
got = []
def consume():
    for e in events:
        got.append((e.get('type', 'PUT'), e['kv']['value']))  # proto3 JSON leaves PUT (0) out
        cancel()
threading.Thread(target=consume, daemon=True).start()
time.sleep(0.5)
c.put('gw/w', 'seen')
time.sleep(1)
assert got == [('PUT', b'seen')], got
assert lease.revoke() is True
assert c.get('gw/l') == []
print('ok')
`;
    assert.equal((await runPython(script, server.endpoint)).trim(), 'ok');
  } finally {
    await server.stop();
  }
});
