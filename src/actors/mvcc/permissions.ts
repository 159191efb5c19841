// Who may do what, as etcd decides it: the auth state's users and roles, and the checks every
// request passes once authentication is enabled. Pure functions over an AuthState, used where
// a request is answered (reads, watches, admin calls) and where a write is applied.
import { Errors } from '../../protocol/errors.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** authpb.Permission.Type */
export const READ = 0;
export const WRITE = 1;
export const READWRITE = 2;

export interface Permission { permType: number; key: Uint8Array; range_end: Uint8Array }
export interface UserRecord { password?: string; roles: string[]; noPassword: boolean }
export interface RoleRecord { perms: Permission[] }

/** The replicated auth state: changed only by applied auth requests, in log order. */
export interface AuthState {
  enabled: boolean;
  /** Bumped by every change of users, roles or permissions (and by disabling), as etcd's. */
  revision: number;
  users: Record<string, UserRecord>;
  roles: Record<string, RoleRecord>;
}

/** Who a request comes from: a token's (or certificate's) user and the auth revision it was issued at. */
export interface AuthInfo { user: string; revision: number }

/** A request without credentials. */
export const ANONYMOUS: AuthInfo = { user: '', revision: 0 };

export const emptyAuthState = (): AuthState => ({ enabled: false, revision: 1, users: {}, roles: {} });

/**
 * A user or role by name: only the state's own entries, so that a name such as "constructor"
 * or "__proto__" names a user or role, never a property every object has.
 */
export const userOf = (state: AuthState, name: string): UserRecord | undefined => (Object.hasOwn(state.users, name) ? state.users[name] : undefined);
export const roleOf = (state: AuthState, name: string): RoleRecord | undefined => (Object.hasOwn(state.roles, name) ? state.roles[name] : undefined);

/**
 * The auth state as stored and sent between threads: users and roles as [name, record] lists,
 * since a msgpack map decoded as an object would not keep a name such as "__proto__".
 */
export interface PackedAuthState { enabled: boolean; revision: number; users: [string, UserRecord][]; roles: [string, RoleRecord][] }

export const packAuth = (s: AuthState): PackedAuthState => ({ ...s, users: Object.entries(s.users), roles: Object.entries(s.roles) });

/** Reads a packed state, or one stored as plain maps by an earlier version. */
export const unpackAuth = (s: PackedAuthState | AuthState): AuthState => ({
  ...s,
  users: Array.isArray(s.users) ? Object.fromEntries(s.users) : s.users,
  roles: Array.isArray(s.roles) ? Object.fromEntries(s.roles) : s.roles,
});

type Req = Record<string, any>;

export const hasRootRole = (u: UserRecord | undefined) => !!u?.roles.includes(ROOT_ROLE);

/** Admin calls (auth management, defragment, snapshot, hashes, membership changes) need the root role. */
export function checkAdmin(state: AuthState, ai: AuthInfo | undefined): void {
  if (!state.enabled) return;
  if (!ai?.user) throw Errors.userEmpty;
  const u = userOf(state, ai.user);
  if (!u) throw Errors.userNotFound;
  if (!hasRootRole(u)) throw Errors.permissionDenied;
}

export function checkRead(state: AuthState, ai: AuthInfo, key: Uint8Array, rangeEnd?: Uint8Array): void {
  checkOp(state, ai, key, rangeEnd, READ);
}

export function checkWrite(state: AuthState, ai: AuthInfo, key: Uint8Array, rangeEnd?: Uint8Array): void {
  checkOp(state, ai, key, rangeEnd, WRITE);
}

function checkOp(state: AuthState, ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array | undefined, type: number): void {
  if (!state.enabled) return;
  if (!ai.revision) throw Errors.userEmpty;
  if (ai.revision < state.revision) throw Errors.authOldRevision;
  const user = userOf(state, ai.user);
  if (!user) throw Errors.permissionDenied;
  if (hasRootRole(user) || covered(state, user, key, rangeEnd, type)) return;
  throw Errors.permissionDenied;
}

/** A put, with etcd's extra checks: a prev_kv is a read; a lease's other keys must be writable too. */
export function checkPut(state: AuthState, ai: AuthInfo, req: Req, leaseKeys: (id: number) => Uint8Array[]): void {
  checkWrite(state, ai, req.key);
  if (req.lease) for (const key of leaseKeys(Number(req.lease))) checkWrite(state, ai, key);
  if (req.prev_kv) checkRead(state, ai, req.key);
}

export function checkDeleteRange(state: AuthState, ai: AuthInfo, req: Req): void {
  checkWrite(state, ai, req.key, req.range_end);
  if (req.prev_kv) checkRead(state, ai, req.key, req.range_end);
}

/** A txn needs read on every compare, and on both branches what each op needs, nested txns included (as etcd 3.5). */
export function checkTxn(state: AuthState, ai: AuthInfo, txn: Req): void {
  for (const c of txn.compare ?? []) checkRead(state, ai, c.key, c.range_end);
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])] as Req[]) {
    if (op.request_range) checkRead(state, ai, op.request_range.key, op.request_range.range_end);
    else if (op.request_put) checkWrite(state, ai, op.request_put.key);
    else if (op.request_delete_range) {
      if (op.request_delete_range.prev_kv) checkRead(state, ai, op.request_delete_range.key, op.request_delete_range.range_end);
      checkWrite(state, ai, op.request_delete_range.key, op.request_delete_range.range_end);
    } else if (op.request_txn) checkTxn(state, ai, op.request_txn);
  }
}

const isFromKey = (end: Uint8Array | undefined) => end?.length === 1 && end[0] === 0;

/** Half-open [start, end) over byte strings; `end` undefined is +infinity. */
interface Interval { start: Buffer; end: Buffer | undefined }

/**
 * What the user's roles grant of `type`, as intervals: a point is [key, key ‖ 0). A permission
 * with an empty key grants nothing: etcd's intervals place the empty key after every other.
 */
function grants(state: AuthState, user: UserRecord, type: number): Interval[] {
  // An auth state is replaced, never changed: what it grants is worked out once per user and type.
  let byUser = grantCache.get(state);
  if (!byUser) grantCache.set(state, (byUser = new Map()));
  const cacheKey = `${type}:${user.roles.join('\0')}`;
  let cached = byUser.get(cacheKey);
  if (!cached) byUser.set(cacheKey, (cached = intervalsOf(state, user, type)));
  return cached;
}

const grantCache = new WeakMap<AuthState, Map<string, Interval[]>>();

/** The user's grants of `type` as intervals sorted by start. */
function intervalsOf(state: AuthState, user: UserRecord, type: number): Interval[] {
  const out: Interval[] = [];
  for (const name of user.roles) {
    for (const p of roleOf(state, name)?.perms ?? []) {
      if (p.permType !== READWRITE && p.permType !== type) continue;
      if (!p.key?.length) continue;
      const start = Buffer.from(p.key);
      const end = !p.range_end?.length ? Buffer.concat([start, Buffer.of(0)]) : isFromKey(p.range_end) ? undefined : Buffer.from(p.range_end);
      out.push({ start, end });
    }
  }
  return out.sort((a, b) => Buffer.compare(a.start, b.start));
}

/** Whether the grants cover the key (a point) or all of [key, rangeEnd). */
function covered(state: AuthState, user: UserRecord, key: Uint8Array, rangeEnd: Uint8Array | undefined, type: number): boolean {
  const intervals = grants(state, user, type);
  const k = Buffer.from(key ?? []);
  const end = !rangeEnd?.length || isFromKey(rangeEnd) ? undefined : Buffer.from(rangeEnd);
  // A range ending at or before its key holds no key; etcd then asks for the key as a point.
  if (!rangeEnd?.length || (end && Buffer.compare(k, end) >= 0)) {
    return intervals.some((i) => Buffer.compare(i.start, k) <= 0 && (!i.end || Buffer.compare(k, i.end) < 0));
  }
  // Sweep from the key: each grant that starts at or before the covered point extends it.
  let reached: Buffer | undefined = k;
  for (const i of intervals) {
    if (!reached) return true;
    if (Buffer.compare(i.start, reached) > 0) break;
    if (!i.end) reached = undefined;
    else if (Buffer.compare(i.end, reached) > 0) reached = i.end;
    if (reached && end && Buffer.compare(reached, end) >= 0) return true;
  }
  return !reached;
}
