// The identity a client proved with its TLS certificate: etcd takes the Common Name of a
// verified client certificate as the user name when auth is enabled and no token is sent.
import type { PeerCertificate } from 'node:tls';

interface CallWithAuthContext {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/** The CN of the client certificate verified on the call's connection; undefined without one. */
export function clientCertCommonName(call: CallWithAuthContext): string | undefined {
  const cn: string | string[] | undefined = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  const first = Array.isArray(cn) ? cn[0] : cn;
  return first || undefined;
}

/** The SHA-256 fingerprint of the client certificate on the call's connection. */
export function clientCertFingerprint(call: CallWithAuthContext): string | undefined {
  return call.getAuthContext().sslPeerCertificate?.fingerprint256;
}
