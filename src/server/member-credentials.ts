// How a member dials client URLs, its own or another member's (Lock, Election and the JSON
// gateway are built on a client of the member itself, as in etcd; a few requests go to the
// leader). Over TLS it presents its certificate as a client certificate and verifies the
// listener's against the trusted CA, or against the generated certificate itself with auto TLS.
// The host name is not checked: the address comes from the member's own listener or from the
// member list, not from a user, and a certificate need not name a listener's bound address.
// With a certificate but no trusted CA nothing can verify the chain, which, as in etcd's own
// dial, is then not checked either.
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from './transport-security.js';

export function memberCredentials(url: string, material: TlsMaterial | undefined): grpc.ChannelCredentials {
  if (new URL(url).protocol !== 'https:') return grpc.credentials.createInsecure();
  if (!material) return grpc.credentials.createSsl();
  const trusted = material.ca ?? (material.selfSigned ? material.cert : undefined);
  return grpc.credentials.createSsl(trusted ? Buffer.from(trusted) : null, Buffer.from(material.key), Buffer.from(material.cert), {
    checkServerIdentity: () => undefined,
    rejectUnauthorized: trusted !== undefined,
  });
}
