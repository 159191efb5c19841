// The authority front: a request whose :authority carries a scheme (as etcdctl 3.4 sends it)
// reaches the HTTP/2 server instead of being reset, on every request of the connection; any
// other connection is handed to the HTTP/2 server as its own socket, untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { frontConnection } from '../../../src/gateway/authority-front.js';

async function withServer(fn: (port: number, seen: string[], served: Duplex[]) => Promise<void>): Promise<void> {
  const seen: string[] = [];
  const served: Duplex[] = [];
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    seen.push(String(headers[':authority']));
    stream.respond({ ':status': 200 });
    stream.end(String(headers[':path']));
  });
  const front = net.createServer((socket) => frontConnection(socket, (connection) => {
    served.push(connection);
    h2.emit('connection', connection);
  }));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  try {
    await fn((front.address() as net.AddressInfo).port, seen, served);
  } finally {
    front.close();
    h2.close();
  }
}

async function requests(port: number, authority: string, paths: string[]): Promise<string[]> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const bodies: string[] = [];
    for (const path of paths) {
      bodies.push(await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': path, ':authority': authority, 'x-big': 'v'.repeat(20_000) });
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.end('payload');
      }));
    }
    return bodies;
  } finally {
    session.close();
  }
}

test('requests with a scheme in :authority are served, on every request of the connection', () =>
  withServer(async (port, seen, served) => {
    const paths = ['/a', '/b', '/c'];
    assert.deepEqual(await requests(port, `http://127.0.0.1:${port}`, paths), paths);
    assert.deepEqual(seen, ['kvd', 'kvd', 'kvd']);
    assert.equal(served.length, 1);
    assert.ok(!(served[0] instanceof net.Socket), 'a rewriting stream stands between');
  }));

test('other connections are handed over as their socket', () =>
  withServer(async (port, seen, served) => {
    assert.deepEqual(await requests(port, `127.0.0.1:${port}`, ['/x', '/y']), ['/x', '/y']);
    assert.deepEqual(seen, [`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    assert.equal(served.length, 1);
    assert.ok(served[0] instanceof net.Socket);
  }));

test('a client that resets its connection before its first request leaves the server serving', () =>
  withServer(async (port, seen) => {
    const raw = net.connect(port, '127.0.0.1');
    // The front answers the preface with its SETTINGS frame; the client then resets the connection.
    await new Promise<void>((resolve) => {
      raw.once('data', () => resolve());
      raw.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    });
    raw.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await requests(port, `127.0.0.1:${port}`, ['/after']), ['/after']);
    assert.deepEqual(seen, [`127.0.0.1:${port}`]);
  }));
