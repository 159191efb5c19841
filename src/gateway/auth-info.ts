// Who a client call comes from, as etcd finds it: the "token" (or the JSON gateway's
// "authorization") metadata, a token that is not valid being refused; else, with
// --client-cert-auth, the Common Name of the client's verified certificate. The member's own
// calls for a client (Lock, Election, forwarding to the leader) carry that client's token, or
// name its certificate's user in ON_BEHALF_OF, which is believed only on a connection made with
// the member's own certificate.
import { Metadata, status, type Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { Errors, EtcdError } from '../protocol/errors.js';
import { ANONYMOUS, checkAdmin, type AuthInfo } from '../actors/mvcc/permissions.js';
import { clientCertCommonName, clientCertFingerprint } from './client-cert.js';

/** What identifies a call: its metadata and, over TLS, its connection's certificate. */
export interface Caller {
  metadata: GrpcMetadata;
  getAuthContext?(): { sslPeerCertificate?: import('node:tls').PeerCertificate };
}

export const ON_BEHALF_OF = 'kvd-on-behalf-of';

/** Set by the JSON gateway's relays: as etcd's gateway, they never stand for its certificate's name. */
export const GATEWAY_MARK = 'grpcgateway-accept';

/** The call's credentials; undefined when it carries none. */
export async function authInfoOf(member: Member, call: Caller): Promise<AuthInfo | undefined> {
  const { metadata } = call;
  const token = metadata.get('token')[0] ?? metadata.get('authorization')[0];
  if (token !== undefined) {
    const ai = await member.tokens.info(String(token), member.auth);
    if (!ai) throw Errors.invalidAuthToken;
    return ai;
  }
  if (!member.config.clientSecurity.clientCertAuth || !member.auth.enabled || !call.getAuthContext || metadata.get(GATEWAY_MARK).length) return undefined;
  const own = member.ownCertFingerprint !== undefined && clientCertFingerprint(call as Required<Caller>) === member.ownCertFingerprint;
  const user = own ? metadata.get(ON_BEHALF_OF)[0]?.toString() : clientCertCommonName(call as Required<Caller>);
  return user ? { user, revision: member.auth.revision } : undefined;
}

/**
 * What a client's write carries into the log: its credentials, or the anonymous user (refused
 * where auth is on). Without auth and credentials it carries nothing, which keeps the log's
 * entries small; such a write racing an AuthEnable is judged as made before it.
 */
export async function writerOf(member: Member, call: Caller): Promise<AuthInfo | undefined> {
  return (await authInfoOf(member, call)) ?? (member.auth.enabled ? ANONYMOUS : undefined);
}

/** Admin calls need the root role once authentication is on. */
export async function requireAdmin(member: Member, call: Caller): Promise<void> {
  checkAdmin(member.auth, await authInfoOf(member, call));
}

/** etcd's auth package's own texts, which its Maintenance service returns unmapped (code Unknown). */
const AUTH_PACKAGE_TEXT = new Map<string, string>([
  [Errors.permissionDenied.message, 'auth: permission denied'],
  [Errors.userEmpty.message, 'auth: user name is empty'],
  [Errors.userNotFound.message, 'auth: user not found'],
  [Errors.invalidAuthToken.message, 'auth: invalid auth token'],
]);

/** An auth error as the Maintenance service returns it. */
export function asMaintenanceError(err: unknown): never {
  const text = err instanceof EtcdError && AUTH_PACKAGE_TEXT.get(err.message);
  throw text ? new EtcdError(status.UNKNOWN, text) : err;
}

/** The admin check of the Maintenance service (defragment, snapshot, hashes), refusing as etcd's does. */
export const requireMaintenanceAdmin = (member: Member, call: Caller): Promise<void> => requireAdmin(member, call).catch(asMaintenanceError);

/** The metadata the member's own call for a client carries: the client's token, or the user its certificate names. */
export async function credentialsOf(member: Member, call: Caller): Promise<GrpcMetadata> {
  const out = new Metadata();
  for (const name of ['token', 'authorization']) for (const v of call.metadata.get(name)) out.add(name, v);
  if (!out.get('token').length && !out.get('authorization').length) {
    const ai = await authInfoOf(member, call);
    if (ai) out.set(ON_BEHALF_OF, ai.user);
  }
  return out;
}
