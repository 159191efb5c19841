// --auto-tls certificates: valid X.509 for the listen hosts, with the key that signed them,
// usable by a TLS listener that clients then trust as is, and reused on the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type net from 'node:net';
import { selfSignedCert, serialNumber } from '../../../src/server/self-signed-cert.js';

test('a self-signed certificate for the listen hosts, kept and reused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvd-auto-tls-'));
  try {
    const files = selfSignedCert(path.join(dir, 'fixtures', 'client'), ['127.0.0.1:2379', 'localhost:2379', '[::1]:2379']);
    const cert = new crypto.X509Certificate(fs.readFileSync(files.certFile));
    assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(fs.readFileSync(files.keyFile))));
    assert.equal(cert.ca, false);
    assert.equal((fs.statSync(files.keyFile).mode & 0o777).toString(8), '600');

    const again = selfSignedCert(path.join(dir, 'fixtures', 'client'), ['127.0.0.1:2379']);
    assert.deepEqual(again, files);
    assert.equal(new crypto.X509Certificate(fs.readFileSync(again.certFile)).fingerprint256, cert.fingerprint256);

    const pem = { cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile) };
    const server = tls.createServer(pem, (socket) => socket.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const received = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, ca: pem.cert }, () => assert.ok(socket.authorized));
        let text = '';
        socket.on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
      });
      assert.equal(received, 'hello');
    } finally {
      server.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('serial numbers are positive DER INTEGERs in their shortest form whatever the random bytes', () => {
  for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
    const serial = serialNumber(Buffer.from([first, 0x00, 0x42]));
    assert.ok(serial[0]! >= 1 && serial[0]! <= 0x7f, `first byte ${first} became ${serial[0]}`);
    assert.deepEqual([...serial.subarray(1)], [0x00, 0x42]);
  }
});
