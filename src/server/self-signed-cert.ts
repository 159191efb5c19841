// --auto-tls and --peer-auto-tls: as etcd, a self-signed certificate for the listen hosts is
// generated once into <dir>/cert.pem and <dir>/key.pem (ECDSA P-521, valid for a year) and reused
// on later starts. Node can sign but not build certificates, so the X.509 DER is written here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const VALIDITY_MS = 365 * 24 * 3600 * 1000;

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return Buffer.concat([Buffer.of(tag), length, body]);
}

const sequence = (...items: Buffer[]) => der(0x30, ...items);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function time(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(text.slice(2))) : der(0x18, Buffer.from(text));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [der(0x01, Buffer.of(0xff))] : []), der(0x04, value));
}

/** Subject alternative names: IP addresses and DNS names of `hosts` ("host:port"). */
function alternativeNames(hosts: string[]): Buffer {
  const names = hosts.map((h) => h.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  return sequence(...[...new Set(names)].map((name) => {
    if (net.isIPv4(name)) return der(0x87, Buffer.from(name.split('.').map(Number)));
    if (net.isIPv6(name)) return der(0x87, ipv6Bytes(name));
    return der(0x82, Buffer.from(name));
  }));
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const missing = 8 - groups(head!).length - groups(tail).length;
  const all = address.includes('::') ? [...groups(head!), ...Array(missing).fill('0'), ...groups(tail)] : groups(address);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** A serial number from random bytes: a positive INTEGER in its shortest form, as DER requires (first byte 1..127). */
export function serialNumber(random: Buffer): Buffer {
  const serial = Buffer.from(random);
  serial[0] = (serial[0]! % 0x7f) + 1;
  return serial;
}

function certificate(hosts: string[], now: Date): { cert: string; key: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const serial = serialNumber(crypto.randomBytes(16));
  const signatureAlgorithm = sequence(oid('1.2.840.10045.4.3.4')); // ecdsa-with-SHA512
  const name = sequence(der(0x31, sequence(oid('2.5.4.10'), der(0x0c, Buffer.from('kvd'))))); // O=kvd
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.of(2))), // v3
    der(0x02, serial),
    signatureAlgorithm,
    name,
    sequence(time(now), time(new Date(now.getTime() + VALIDITY_MS))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, sequence(
      extension('2.5.29.15', true, der(0x03, Buffer.of(5, 0xa0))), // key usage: digital signature, key encipherment
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))), // server and client auth
      extension('2.5.29.19', true, sequence()), // not a CA
      extension('2.5.29.17', false, alternativeNames(hosts)),
    )),
  );
  const signature = crypto.sign('sha512', tbs, privateKey);
  const body = sequence(tbs, signatureAlgorithm, der(0x03, Buffer.of(0), signature));
  const pem = (label: string, bytes: Buffer) => `-----BEGIN ${label}-----\n${bytes.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
  return { cert: pem('CERTIFICATE', body), key: privateKey.export({ type: 'sec1', format: 'pem' }) as string };
}

/** The certificate and key files in `dir`, generated for `hosts` when they do not exist yet. */
export function selfSignedCert(dir: string, hosts: string[]): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) return { certFile, keyFile };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = certificate(hosts, new Date());
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  fs.writeFileSync(certFile, cert);
  return { certFile, keyFile };
}
