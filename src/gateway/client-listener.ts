// One listener per client URL, serving gRPC and HTTP/1.1 on the same port as etcd does. A
// plain connection that starts with the HTTP/2 preface goes to gRPC, any other to the HTTP
// server. On an https URL the TLS handshake comes first; the protocol the client negotiated
// (ALPN) then decides, the first bytes only when it negotiated none.
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { frontConnection } from './authority-front.js';
import { closeOnErrorUntilClaimed } from './unclaimed-socket.js';
import { handshakeFailure, listenOptions, type TlsMaterial } from '../server/transport-security.js';

export interface ConnectionRoutes {
  /**
   * An HTTP/2 connection for grpc-js: a TLS socket that negotiated h2 as it is (grpc-js then
   * sees the verified client certificate; etcdctl names no scheme in :authority over TLS), any
   * other after the authority front has read its first request's headers.
   */
  grpc(connection: Duplex): void;
  http(socket: net.Socket): void;
  /** A client whose TLS handshake failed (e.g. no certificate from the trusted CA). */
  refused(reason: string): void;
}

/**
 * HTTP/2 wins for clients that offer only it (gRPC); clients that also offer HTTP/1.1 (curl,
 * browsers) get HTTP/1.1, which serves the JSON gateway, /health, /version and /metrics.
 */
const ALPN_PREFERENCE = ['http/1.1', 'h2'];

const PREFACE_START = Buffer.from('PRI ');

function routeByFirstBytes(socket: net.Socket, routes: ConnectionRoutes): void {
  let head = Buffer.alloc(0);
  const claim = closeOnErrorUntilClaimed(socket);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    if (head.length < PREFACE_START.length && PREFACE_START.subarray(0, head.length).equals(head)) return;
    socket.off('data', onData);
    claim();
    socket.pause();
    socket.unshift(head);
    if (head.subarray(0, PREFACE_START.length).equals(PREFACE_START)) frontConnection(socket, routes.grpc);
    else routes.http(socket);
    socket.resume();
  };
  socket.on('data', onData);
}

/** Listens on `url` (TLS with `material`); resolves once bound. */
export async function listenClientUrl(url: URL, material: TlsMaterial | undefined, routes: ConnectionRoutes): Promise<net.Server> {
  const server = material
    ? tls.createServer({ ...listenOptions(material), ALPNProtocols: ALPN_PREFERENCE }, (socket) => {
      socket.setNoDelay(true);
      if (socket.alpnProtocol === 'h2') routes.grpc(socket);
      else if (socket.alpnProtocol === 'http/1.1') routes.http(socket);
      else routeByFirstBytes(socket, routes);
    })
    : net.createServer((socket) => {
      socket.setNoDelay(true);
      routeByFirstBytes(socket, routes);
    });
  if (material) server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => routes.refused(handshakeFailure(err, socket)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
  });
  return server;
}
