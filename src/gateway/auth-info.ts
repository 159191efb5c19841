// Who a client call comes from, as etcd finds it: the "token" (or the JSON gateway's
// "authorization") metadata; a token that is not valid is refused.
import { Metadata, status, type Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { Errors, EtcdError } from '../protocol/errors.js';
import { ANONYMOUS, checkAdmin, type AuthInfo } from '../actors/mvcc/permissions.js';

/** The call's credentials; undefined when it carries none. */
export async function authInfoOf(member: Member, metadata: GrpcMetadata): Promise<AuthInfo | undefined> {
  const token = metadata.get('token')[0] ?? metadata.get('authorization')[0];
  if (token === undefined) return undefined;
  const ai = await member.tokens.info(String(token), member.auth);
  if (!ai) throw Errors.invalidAuthToken;
  return ai;
}

/**
 * What a client's write carries into the log: its credentials, or the anonymous user (refused
 * where auth is on). Without auth and credentials it carries nothing, which keeps the log's
 * entries small; such a write racing an AuthEnable is judged as made before it.
 */
export async function writerOf(member: Member, metadata: GrpcMetadata): Promise<AuthInfo | undefined> {
  return (await authInfoOf(member, metadata)) ?? (member.auth.enabled ? ANONYMOUS : undefined);
}

/** Admin calls need the root role once authentication is on. */
export async function requireAdmin(member: Member, metadata: GrpcMetadata): Promise<void> {
  checkAdmin(member.auth, await authInfoOf(member, metadata));
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
export const requireMaintenanceAdmin = (member: Member, metadata: GrpcMetadata): Promise<void> => requireAdmin(member, metadata).catch(asMaintenanceError);

/** The metadata to forward a call with to another member: its credentials. */
export function credentialsOf(metadata: GrpcMetadata): GrpcMetadata {
  const out = new Metadata();
  for (const name of ['token', 'authorization']) for (const v of metadata.get(name)) out.add(name, v);
  return out;
}
