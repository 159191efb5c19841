// etcdctl 3.4's transport security: an https:// endpoint is dialled with TLS, an http:// one
// without; an endpoint without a scheme uses TLS once a CA, certificate or key is given, or
// with --insecure-transport=false. --insecure-skip-tls-verify only loosens such a TLS setup.
import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface SecuritySettings {
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify: boolean;
  insecureTransport: boolean;
}

/** The endpoint as grpc-js dials it (host:port) and the credentials etcdctl would use for it. */
export function dialTarget(endpoint: string, s: SecuritySettings): { address: string; credentials: grpc.ChannelCredentials } {
  const scheme = /^(https?):\/\//.exec(endpoint)?.[1];
  const address = endpoint.replace(/^https?:\/\//, '');
  const configured = !!(s.cacert || s.cert || s.key) || !s.insecureTransport;
  const read = (file?: string) => (file ? fs.readFileSync(file) : null);
  if (scheme === 'http' || (!scheme && !configured)) return { address, credentials: grpc.credentials.createInsecure() };
  if (!configured) return { address, credentials: grpc.credentials.createSsl() };
  const credentials = grpc.credentials.createSsl(read(s.cacert), read(s.key), read(s.cert), { rejectUnauthorized: !s.insecureSkipTlsVerify });
  return { address, credentials };
}
