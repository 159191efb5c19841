// The TLS settings of one side (clients or peers), as etcd's TLSInfo: files or a generated
// certificate, turned into Node's TLS options for listening and for dialling. The loaded
// material is plain data, so the raft worker receives it as is.
import fs from 'node:fs';
import type tls from 'node:tls';
import { selfSignedCert } from './self-signed-cert.js';

export type TlsVersion = 'TLS1.2' | 'TLS1.3';

export interface TransportSecurity {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  /** Certificates revoked by their CA (PEM): the other end may not present one. */
  crlFile: string;
  clientCertAuth: boolean;
  autoTls: boolean;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: string;
  crl?: string;
  /** The other end must present a certificate signed by `ca` (or by the system's roots without one). */
  verifyPeer: boolean;
  /** Generated at start: dialling such a listener does not verify its certificate, as etcd. */
  selfSigned: boolean;
  ciphers: string;
  minVersion: TlsVersion;
}

export interface TlsDefaults { ciphers: string; minVersion: TlsVersion; warn(msg: string): void }

/**
 * The material for `security`, or undefined when it has none. Auto TLS generates a certificate
 * for `hosts` in `autoDir` unless a certificate is given; as etcd, a trusted CA alone already
 * requires the other end to present a certificate, and a generated one does not.
 */
export function loadTlsMaterial(security: TransportSecurity, defaults: TlsDefaults, autoDir: string, hosts: string[]): TlsMaterial | undefined {
  const given = security.certFile !== '' || security.keyFile !== '';
  if (given && (!security.certFile || !security.keyFile)) {
    throw new Error(`KeyFile and CertFile must both be present[key: ${security.keyFile}, cert: ${security.certFile}]`);
  }
  if (given && security.autoTls) defaults.warn('ignoring auto TLS since certs given');
  const common = { ciphers: defaults.ciphers, minVersion: defaults.minVersion };
  if (given) {
    return {
      ...common,
      cert: fs.readFileSync(security.certFile, 'utf8'),
      key: fs.readFileSync(security.keyFile, 'utf8'),
      ...(security.trustedCaFile ? { ca: fs.readFileSync(security.trustedCaFile, 'utf8') } : {}),
      ...(security.crlFile ? { crl: fs.readFileSync(security.crlFile, 'utf8') } : {}),
      verifyPeer: security.clientCertAuth || security.trustedCaFile !== '',
      selfSigned: false,
    };
  }
  if (!security.autoTls) return undefined;
  const files = selfSignedCert(autoDir, hosts);
  return { ...common, cert: fs.readFileSync(files.certFile, 'utf8'), key: fs.readFileSync(files.keyFile, 'utf8'), verifyPeer: false, selfSigned: true };
}

const NODE_VERSIONS = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' } as const;

function common(m: TlsMaterial): tls.SecureContextOptions {
  return { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}), ...(m.ciphers ? { ciphers: m.ciphers } : {}), minVersion: NODE_VERSIONS[m.minVersion] };
}

/** Options of a listener: its certificate, and the client certificates it requires. */
export function listenOptions(m: TlsMaterial): tls.TlsOptions {
  return { ...common(m), ...(m.crl ? { crl: m.crl } : {}), requestCert: m.verifyPeer, rejectUnauthorized: m.verifyPeer };
}

/** Options of a dialler: the same certificate as a client certificate, the server verified by the CA. */
export function dialOptions(m: TlsMaterial): tls.ConnectionOptions {
  return { ...common(m), rejectUnauthorized: !m.selfSigned };
}

/** Why a TLS handshake failed: a certificate that did not verify, or OpenSSL's reason. */
export function handshakeFailure(err: Error, socket: tls.TLSSocket): string {
  if (socket.authorizationError) return `certificate not trusted (${String(socket.authorizationError)})`;
  return (err as { reason?: string }).reason ?? err.message;
}

/** A URL scheme needs TLS material: an https URL without any is a configuration error, as in etcd. */
export function requireMaterial(url: URL, m: TlsMaterial | undefined, flags: string): TlsMaterial | undefined {
  if (url.protocol !== 'https:') return undefined;
  if (!m) throw new Error(`TLS key/cert (${flags}) must be provided for ${url.href} with HTTPS scheme`);
  return m;
}
