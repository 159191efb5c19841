// The client listener over TLS: gRPC handlers see the Common Name of a verified client
// certificate; with client certificate auth a client without one from the trusted CA, or a
// plaintext one, never reaches them and the refusal says why; HTTP/1.1 shares the port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { listenClientUrl } from '../../../src/gateway/client-listener.js';
import { clientCertCommonName } from '../../../src/gateway/client-cert.js';
import { loadTlsMaterial, type TlsVersion } from '../../../src/server/transport-security.js';
import { opensslCipherList } from '../../../src/server/cipher-suites.js';
import { makeTestCerts, type TestCerts } from '../../support/certs.js';

const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const IDENTITY = { whoAmI: { path: '/test.Identity/WhoAmI', requestStream: false, responseStream: false, ...bytes } };
const IdentityClient = grpc.makeGenericClientConstructor(IDENTITY, 'Identity');

async function withListener(
  certs: TestCerts,
  clientCertAuth: boolean,
  fn: (port: number, refusals: string[]) => Promise<void>,
  defaults: { ciphers: string; minVersion: TlsVersion } = { ciphers: '', minVersion: 'TLS1.2' },
): Promise<void> {
  const server = new grpc.Server();
  server.addService(IDENTITY, {
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from(clientCertCommonName(call) ?? '(none)')),
  });
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const security = { certFile: certs.file('server.crt'), keyFile: certs.file('server.key'), trustedCaFile: clientCertAuth ? certs.file('ca.crt') : '', crlFile: '', clientCertAuth, autoTls: false };
  const material = loadTlsMaterial(security, { ...defaults, warn: () => {} }, '', []);
  const refusals: string[] = [];
  const listener = await listenClientUrl(new URL('https://127.0.0.1:0'), material, {
    grpc: (connection) => injector.injectConnection(connection),
    http: (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'),
    refused: (reason) => refusals.push(reason),
  });
  try {
    await fn((listener.address() as net.AddressInfo).port, refusals);
  } finally {
    listener.close();
    server.forceShutdown();
  }
}

function whoAmI(port: number, credentials: grpc.ChannelCredentials): Promise<string> {
  const client = new IdentityClient(`127.0.0.1:${port}`, credentials) as unknown as grpc.Client & Record<string, Function>;
  return new Promise<string>((resolve, reject) => {
    client.whoAmI!(Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err: Error | null, res: Buffer) => (err ? reject(err) : resolve(res.toString())));
  }).finally(() => client.close());
}

const tlsAs = (certs: TestCerts, name: string) =>
  grpc.credentials.createSsl(fs.readFileSync(certs.file('ca.crt')), fs.readFileSync(certs.file(`${name}.key`)), fs.readFileSync(certs.file(`${name}.crt`)));

test('a gRPC handler sees the Common Name of the verified client certificate', async () => {
  const certs = makeTestCerts(['alice'], ['mallory']);
  try {
    await withListener(certs, true, async (port) => {
      assert.equal(await whoAmI(port, tlsAs(certs, 'alice')), 'alice');
    });
    await withListener(certs, false, async (port) => {
      assert.equal(await whoAmI(port, grpc.credentials.createSsl(fs.readFileSync(certs.file('ca.crt')))), '(none)');
    });
  } finally {
    certs.remove();
  }
});

test('with client certificate auth, a certificate from another CA and a plaintext client are refused', async () => {
  const certs = makeTestCerts([], ['mallory']);
  try {
    await withListener(certs, true, async (port, refusals) => {
      await assert.rejects(whoAmI(port, tlsAs(certs, 'mallory')), { code: grpc.status.UNAVAILABLE });
      await assert.rejects(whoAmI(port, grpc.credentials.createInsecure()), { code: grpc.status.UNAVAILABLE });
      assert.ok(refusals.some((r) => r.startsWith('certificate not trusted')), refusals.join('\n'));
      assert.ok(refusals.some((r) => r.includes('wrong version number')), refusals.join('\n'));
    });
  } finally {
    certs.remove();
  }
});

test('HTTP/1.1 clients share the TLS port: those offering both protocols (as curl) get HTTP/1.1', async () => {
  const certs = makeTestCerts(['alice'], []);
  try {
    await withListener(certs, true, async (port) => {
      const socket = tls.connect({
        host: '127.0.0.1', port, ALPNProtocols: ['h2', 'http/1.1'],
        ca: fs.readFileSync(certs.file('ca.crt')), cert: fs.readFileSync(certs.file('alice.crt')), key: fs.readFileSync(certs.file('alice.key')),
      }, () => socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d));
      await new Promise((resolve, reject) => socket.on('end', resolve).on('error', reject));
      assert.equal(socket.alpnProtocol, 'http/1.1');
      assert.match(text, /^HTTP\/1.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    });
  } finally {
    certs.remove();
  }
});

/** The cipher a TLS 1.2 handshake settles on, or the error it fails with. */
function handshake(port: number, certs: TestCerts, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(certs.file('ca.crt')), ...options }, () => {
      resolve(socket.getCipher().name);
      socket.end();
    });
    socket.on('error', (err) => resolve(`error: ${(err as { reason?: string }).reason ?? err.message}`));
  });
}

test('--cipher-suites (by Go\'s names) limits TLS 1.2 suites; --tls-min-version TLS1.3 refuses TLS 1.2', async () => {
  const certs = makeTestCerts([], []);
  try {
    const ciphers = opensslCipherList(['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384']);
    await withListener(certs, false, async (port) => {
      assert.equal(await handshake(port, certs, { maxVersion: 'TLSv1.2' }), 'ECDHE-ECDSA-AES256-GCM-SHA384');
      assert.match(await handshake(port, certs, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), /^error: .*handshake failure/);
    }, { ciphers, minVersion: 'TLS1.2' });
    await withListener(certs, false, async (port) => {
      assert.equal(await handshake(port, certs, {}), 'TLS_AES_256_GCM_SHA384');
      assert.match(await handshake(port, certs, { maxVersion: 'TLSv1.2' }), /^error: /);
    }, { ciphers: '', minVersion: 'TLS1.3' });
  } finally {
    certs.remove();
  }
});
