// The Auth service's changes to the replicated auth state, applied in log order on every member,
// with etcd's checks and errors. Passwords arrive already hashed (bcrypt, in the reader pool).
import { Errors } from '../../protocol/errors.js';
import { checkAdmin, roleOf, ROOT_ROLE, ROOT_USER, userOf, type AuthInfo, type AuthState, type Permission } from './permissions.js';

type Req = Record<string, any>;

/** An Auth service call as proposed: its method name and request (`hashed` instead of a password). */
export interface AuthCall { method: string; req: Req }

/** Methods anyone may call; the others need the root role (the gets allow one's own user and roles). */
const OPEN = new Set(['Authenticate', 'UserGet', 'RoleGet']);

export interface AuthApplied { state: AuthState; response: Req }

/** Applies one call; `index` is its log index (part of a simple token). Throws etcd's errors. */
export function applyAuth(state: AuthState, call: AuthCall, ai: AuthInfo | undefined, index: number): AuthApplied {
  const { method, req } = call;
  if (!OPEN.has(method)) checkAdmin(state, ai);
  const same = (response: Req = {}) => ({ state, response });
  const changed = (next: Partial<AuthState>, response: Req = {}) => ({ state: { ...state, ...next, revision: state.revision + 1 }, response });
  const users = state.users;
  const roles = state.roles;
  const user = (name: string) => {
    const u = userOf(state, name);
    if (!u) throw Errors.userNotFound;
    return u;
  };
  const role = (name: string) => {
    const r = roleOf(state, name);
    if (!r) throw Errors.roleNotFound;
    return r;
  };
  const adminOr = (allowed: boolean) => {
    try {
      checkAdmin(state, ai);
    } catch (err) {
      if (!allowed) throw err;
    }
  };

  switch (method) {
    case 'AuthEnable': {
      if (state.enabled) return same();
      const root = userOf(state, ROOT_USER);
      if (!root) throw Errors.rootUserNotExist;
      if (!root.roles.includes(ROOT_ROLE)) throw Errors.rootRoleNotExist;
      return { state: { ...state, enabled: true }, response: {} };
    }
    case 'AuthDisable':
      return state.enabled ? changed({ enabled: false }) : same();
    case 'Authenticate': {
      if (!state.enabled) throw Errors.authNotEnabled;
      const u = userOf(state, req.name);
      if (!u || u.noPassword) throw Errors.authFailed;
      return same(req.prefix ? { token: `${req.prefix}.${index}` } : {});
    }
    case 'UserAdd': {
      if (!req.name) throw Errors.userEmpty;
      if (userOf(state, req.name)) throw Errors.userAlreadyExist;
      const noPassword = !!req.options?.no_password;
      return changed({ users: { ...users, [req.name]: { ...(noPassword ? {} : { password: req.hashed }), roles: [], noPassword } } });
    }
    case 'UserDelete': {
      if (state.enabled && req.name === ROOT_USER) throw Errors.invalidAuthMgmt;
      user(req.name);
      const { [req.name]: _, ...rest } = users;
      return changed({ users: rest });
    }
    case 'UserChangePassword':
      return changed({ users: { ...users, [req.name]: { ...user(req.name), password: req.hashed } } });
    case 'UserGrantRole': {
      const u = user(req.user);
      if (req.role !== ROOT_ROLE) role(req.role);
      if (u.roles.includes(req.role)) return same();
      return changed({ users: { ...users, [req.user]: { ...u, roles: [...u.roles, req.role].sort(byteOrder) } } });
    }
    case 'UserRevokeRole': {
      if (state.enabled && req.name === ROOT_USER && req.role === ROOT_ROLE) throw Errors.invalidAuthMgmt;
      const u = user(req.name);
      if (!u.roles.includes(req.role)) throw Errors.roleNotGranted;
      return changed({ users: { ...users, [req.name]: { ...u, roles: u.roles.filter((r) => r !== req.role) } } });
    }
    case 'UserGet':
      adminOr(req.name === ai?.user);
      return same({ roles: user(req.name).roles });
    case 'UserList':
      return same({ users: Object.keys(users).sort(byteOrder) });
    case 'RoleAdd':
      if (!req.name) throw Errors.roleEmpty;
      if (roleOf(state, req.name)) throw Errors.roleAlreadyExist;
      return changed({ roles: { ...roles, [req.name]: { perms: [] } } });
    case 'RoleGet':
      adminOr(!!ai && !!userOf(state, ai.user)?.roles.includes(req.role));
      return same({ perm: role(req.role).perms });
    case 'RoleList':
      return same({ roles: Object.keys(roles).sort(byteOrder) });
    case 'RoleDelete': {
      if (state.enabled && req.role === ROOT_ROLE) throw Errors.invalidAuthMgmt;
      role(req.role);
      const { [req.role]: _, ...rest } = roles;
      const without = Object.fromEntries(Object.entries(users).map(([n, u]) => [n, { ...u, roles: u.roles.filter((r) => r !== req.role) }]));
      return changed({ roles: rest, users: without });
    }
    case 'RoleGrantPermission': {
      const r = role(req.name);
      const perm: Permission = { permType: req.perm?.permType ?? 0, key: Buffer.from(req.perm?.key ?? []), range_end: Buffer.from(req.perm?.range_end ?? []) };
      // As etcd: the first permission at or after the key is updated in place when it has the same key
      // and range end; otherwise the new one is added in key order (even beside an equal one further on).
      const first = r.perms.findIndex((p) => Buffer.compare(Buffer.from(p.key), perm.key) >= 0);
      const perms = first >= 0 && samePerm(r.perms[first]!, perm.key, perm.range_end)
        ? r.perms.map((p, i) => (i === first ? perm : p))
        : [...r.perms, perm].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
      return changed({ roles: { ...roles, [req.name]: { perms } } });
    }
    case 'RoleRevokePermission': {
      const r = role(req.role);
      const perms = r.perms.filter((p) => !samePerm(p, req.key ?? [], req.range_end ?? []));
      if (perms.length === r.perms.length) throw Errors.permissionNotGranted;
      return changed({ roles: { ...roles, [req.role]: { perms } } });
    }
    default:
      throw new Error(`unknown auth method ${method}`);
  }
}

/** Names sort as etcd stores them: by their UTF-8 bytes, not by UTF-16 code units. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const samePerm = (p: Permission, key: Uint8Array, rangeEnd: Uint8Array) =>
  Buffer.from(p.key).equals(Buffer.from(key)) && Buffer.from(p.range_end ?? []).equals(Buffer.from(rangeEnd));
