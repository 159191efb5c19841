// The fault proxy in front of a local echo server: forwarding, partition and heal, and a close
// that leaves no sockets behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { FaultProxy } from '../../e2e/harness/fault-proxy.js';

// Waits below have no deadline of their own; this bound turns a missing event into a failure.
const bounded = { timeout: 10_000 };

// What the tests open, closed again at the end even when a test failed half-way, so that a
// failure does not also keep the process alive.
const clientSockets = new Set<net.Socket>();
const echoServers = new Set<EchoServer>();
const proxies = new Set<FaultProxy>();
after(async () => {
  for (const socket of clientSockets) socket.destroy();
  await Promise.all([...proxies].map((proxy) => proxy.close()));
  await Promise.all([...echoServers].map((echo) => echo.close()));
});

async function startProxy(port: number): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
  proxies.add(proxy);
  return proxy;
}

interface EchoServer {
  port: number;
  /** Server-side sockets currently open. */
  open: Set<net.Socket>;
  accepted(): number;
  close(): Promise<void>;
}

async function startEcho(): Promise<EchoServer> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  const echo: EchoServer = {
    port: (server.address() as net.AddressInfo).port,
    open,
    accepted: () => accepted,
    close: () =>
      (closing ??= new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      })),
  };
  echoServers.add(echo);
  return echo;
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  clientSockets.add(socket);
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Reads until `expected.length` bytes arrived; fails if the socket closes or stays silent first. */
function receive(socket: net.Socket, expected: Buffer, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= expected.length) {
        try {
          assert.ok(Buffer.concat(chunks).equals(expected), 'the bytes that came back differ');
          done();
        } catch (err) {
          done(err as Error);
        }
      }
    };
    const onClose = () => done(new Error(`closed after ${length} of ${expected.length} bytes`));
    const timer = setTimeout(() => done(new Error(`${length} of ${expected.length} bytes after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

async function roundTrip(socket: net.Socket, payload: Buffer): Promise<void> {
  const received = receive(socket, payload);
  socket.write(payload);
  await received;
}

function closed(socket: net.Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : once(socket, 'close').then(() => undefined);
}

async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Asserts the socket neither receives anything nor closes for `ms`. */
async function assertSilent(socket: net.Socket, ms: number): Promise<void> {
  let received = 0;
  const onData = (chunk: Buffer) => (received += chunk.length);
  socket.on('data', onData);
  await new Promise((r) => setTimeout(r, ms));
  socket.off('data', onData);
  assert.equal(received, 0, 'no byte gets through');
  assert.equal(socket.closed, false, 'the connection hangs rather than closes');
}

async function withProxy(body: (proxy: FaultProxy, echo: EchoServer) => Promise<void>): Promise<void> {
  const echo = await startEcho();
  const proxy = await startProxy(echo.port);
  try {
    await body(proxy, echo);
  } finally {
    await proxy.close();
    await echo.close();
  }
}

test('bytes flow both ways, in order, a large payload included', bounded, () =>
  withProxy(async (proxy, echo) => {
    assert.notEqual(proxy.port, echo.port);
    const socket = await connect(proxy.port);
    await roundTrip(socket, Buffer.from('hello'));
    const large = Buffer.alloc(4 << 20);
    for (let i = 0; i < large.length; i++) large[i] = (i * 31) & 0xff;
    await roundTrip(socket, large);
    // A client that leaves takes the server side with it.
    socket.destroy();
    await closed(socket);
    await until(() => echo.open.size === 0, 'the server side closes');
  }));

test('partition cuts open connections and makes new ones hang; heal lets new ones through', bounded, () =>
  withProxy(async (proxy, echo) => {
    const before = await connect(proxy.port);
    await roundTrip(before, Buffer.from('before'));

    proxy.partition();
    await closed(before);
    const acceptedBefore = echo.accepted();
    const during = await connect(proxy.port); // accepted, like a peer whose replies are lost
    during.write('lost');
    await assertSilent(during, 300);
    assert.equal(echo.accepted(), acceptedBefore, 'nothing reached the server');
    await until(() => echo.open.size === 0, 'the server side closes');

    proxy.heal();
    await closed(during);
    const healed = await connect(proxy.port);
    await roundTrip(healed, Buffer.from('healed'));
    assert.equal(echo.accepted(), acceptedBefore + 1);
    healed.destroy();
  }));

test('close ends forwarded connections, refuses new ones, and may be called twice', bounded, async () => {
  const echo = await startEcho();
  const proxy = await startProxy(echo.port);
  const forwarded = await connect(proxy.port);
  await roundTrip(forwarded, Buffer.from('x'));

  await Promise.all([proxy.close(), proxy.close()]);
  await closed(forwarded);
  await proxy.close();
  await assert.rejects(connect(proxy.port), { code: 'ECONNREFUSED' });
  await until(() => echo.open.size === 0, 'the server side closes');
  await echo.close();
});

test('close ends connections left hanging by a partition', bounded, async () => {
  const echo = await startEcho();
  const proxy = await startProxy(echo.port);
  proxy.partition();
  const hanging = await connect(proxy.port);
  await assertSilent(hanging, 50);
  await proxy.close();
  await closed(hanging);
  await echo.close();
});

test('a target that refuses connections closes the client side', bounded, async () => {
  const echo = await startEcho();
  const port = echo.port;
  await echo.close();
  const proxy = await startProxy(port);
  try {
    const socket = await connect(proxy.port);
    await closed(socket);
  } finally {
    await proxy.close();
  }
});

test('no socket or listener is left open', bounded, async () => {
  // Handles are released a little after their 'close' events.
  const tcpHandles = () => process.getActiveResourcesInfo().filter((kind) => kind.startsWith('TCP'));
  await until(() => tcpHandles().length === 0, 'the TCP handles are released');
});
