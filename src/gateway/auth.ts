// The Auth service. Every change (and, as etcd 3.4, every read of users and roles) goes through
// consensus and is checked where it applies; passwords are hashed and checked in the reader pool.
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { serviceDefinition } from '../protocol/codec.js';
import { Errors, EtcdError } from '../protocol/errors.js';
import { unary } from './unary.js';
import { writerOf } from './auth-info.js';
import { userOf } from '../actors/mvcc/permissions.js';

type Req = Record<string, any>;

export const AUTH_SERVICE = serviceDefinition('etcdserverpb.Auth');

/** etcd's own error for it, which it returns unmapped (code Unknown). */
const noPasswordUser = new EtcdError(status.UNKNOWN, 'auth: authentication failed, password was given for no password user');

const CALLS = ['AuthEnable', 'AuthDisable', 'UserAdd', 'UserGet', 'UserList', 'UserDelete', 'UserChangePassword', 'UserGrantRole',
  'UserRevokeRole', 'RoleAdd', 'RoleGet', 'RoleList', 'RoleDelete', 'RoleGrantPermission', 'RoleRevokePermission'];

export function authHandlers(member: Member): UntypedServiceImplementation {
  /** A request as it goes into the log: a password replaced by its hash. */
  const withoutPassword = async (method: string, req: Req): Promise<Req> => {
    if (method !== 'UserAdd' && method !== 'UserChangePassword') return req;
    const { password, ...rest } = req;
    if (req.options?.no_password) return rest;
    return { ...rest, hashed: await member.hashPassword(password ?? '') };
  };

  const handlers: UntypedServiceImplementation = {
    AuthStatus: unary(async () => ({ header: member.header(), enabled: member.auth.enabled, authRevision: member.auth.revision })),

    Authenticate: unary<Req>(async (req) => {
      const name = String(req.name ?? '');
      if (!member.auth.enabled) throw Errors.authNotEnabled;
      const user = userOf(member.auth, name);
      if (!user) throw Errors.authFailed;
      if (user.noPassword) throw noPasswordUser;
      if (!(await member.checkPassword(String(req.password ?? ''), user.password ?? ''))) {
        member.log.info({ 'user-name': name }, 'invalid password');
        throw Errors.authFailed;
      }
      const prefix = member.tokens.prefix();
      const applied = await member.propose({ type: 'auth', call: { method: 'Authenticate', req: { name, ...(prefix ? { prefix } : {}) } } });
      member.log.debug({ 'user-name': name }, 'authenticated a user');
      if (prefix) return applied;
      return { header: member.header(), token: await member.tokens.issue!(name, member.auth.revision) };
    }),
  };
  for (const method of CALLS) {
    handlers[method] = unary<Req>(async (req, call) => {
      const writer = await writerOf(member, call);
      return member.propose({ type: 'auth', call: { method, req: await withoutPassword(method, req) } }, false, undefined, writer);
    });
  }
  return handlers;
}
