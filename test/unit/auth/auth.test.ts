// The Auth service's changes to the auth state as etcd's auth store applies them: checks, errors and revisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyAuth } from '../../../src/actors/mvcc/auth.js';
import { ANONYMOUS, READ, READWRITE, WRITE, emptyAuthState, packAuth, unpackAuth, type AuthInfo, type AuthState } from '../../../src/actors/mvcc/permissions.js';
import { decode, encode } from '../../../src/actors/channel.js';

type Req = Record<string, unknown>;

const apply = (state: AuthState, method: string, req: Req = {}, ai?: AuthInfo, index = 1) => applyAuth(state, { method, req }, ai, index);

/** The state after each call in turn, made by root once auth is enabled. */
function after(state: AuthState, ...calls: [string, Req?][]): AuthState {
  for (const [method, req] of calls) state = apply(state, method, req, { user: 'root', revision: state.revision }).state;
  return state;
}

const error = (message: string) => ({ message: `etcdserver: ${message}` });

/** Auth disabled; root (with the root role) and alice (with role "reader") exist. */
const withUsers = () =>
  after(emptyAuthState(), ['UserAdd', { name: 'root', hashed: 'h-root' }], ['UserGrantRole', { user: 'root', role: 'root' }],
    ['RoleAdd', { name: 'reader' }], ['UserAdd', { name: 'alice', hashed: 'h-alice' }], ['UserGrantRole', { user: 'alice', role: 'reader' }]);

const enabled = () => after(withUsers(), ['AuthEnable']);

const bytes = (s: string) => Buffer.from(s);
const grant = (name: string, permType: number, key: string, rangeEnd = '') =>
  ['RoleGrantPermission', { name, perm: { permType, key: bytes(key), range_end: bytes(rangeEnd) } }] as [string, Req];
/** A role's permissions as [type, key, range end] strings. */
const permsOf = (state: AuthState, role: string) =>
  state.roles[role]!.perms.map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.range_end).toString()]);

test('AuthEnable needs a root user holding the root role; it does not change the revision', () => {
  assert.throws(() => apply(emptyAuthState(), 'AuthEnable'), error('root user does not exist'));
  const rootWithoutRole = after(emptyAuthState(), ['UserAdd', { name: 'root', hashed: 'h' }]);
  assert.throws(() => apply(rootWithoutRole, 'AuthEnable'), error('root user does not have root role'));
  const before = withUsers();
  const { state } = apply(before, 'AuthEnable');
  assert.equal(state.enabled, true);
  assert.equal(state.revision, before.revision);
  assert.equal(apply(state, 'AuthEnable', {}, { user: 'root', revision: state.revision }).state, state, 'enabling again changes nothing');
});

test('AuthDisable bumps the revision; when already disabled it changes nothing', () => {
  const on = enabled();
  const { state } = apply(on, 'AuthDisable', {}, { user: 'root', revision: on.revision });
  assert.equal(state.enabled, false);
  assert.equal(state.revision, on.revision + 1);
  assert.equal(apply(state, 'AuthDisable').state, state);
});

test('Authenticate: a simple token is "<prefix>.<log index>"; anyone may ask; nothing changes', () => {
  const state = after(enabled(), ['UserAdd', { name: 'svc', options: { no_password: true } }]);
  const { state: next, response } = apply(state, 'Authenticate', { name: 'alice', prefix: 'AbCdEf' }, ANONYMOUS, 42);
  assert.equal(response.token, 'AbCdEf.42');
  assert.equal(next, state);
  assert.equal(apply(state, 'Authenticate', { name: 'alice' }, ANONYMOUS, 43).response.token, undefined, 'without a prefix the token is made elsewhere');
  assert.throws(() => apply(state, 'Authenticate', { name: 'ghost', prefix: 'p' }, ANONYMOUS), error('authentication failed, invalid user ID or password'));
  assert.throws(() => apply(state, 'Authenticate', { name: 'svc', prefix: 'p' }, ANONYMOUS), error('authentication failed, invalid user ID or password'));
  assert.throws(() => apply(withUsers(), 'Authenticate', { name: 'alice', prefix: 'p' }), error('authentication is not enabled'));
});

test('UserAdd: a hashed password or none; name checks; one revision', () => {
  const before = emptyAuthState();
  const state = after(before, ['UserAdd', { name: 'bob', hashed: 'h-bob' }], ['UserAdd', { name: 'svc', options: { no_password: true } }]);
  assert.deepEqual(state.users.bob, { password: 'h-bob', roles: [], noPassword: false });
  assert.deepEqual(state.users.svc, { roles: [], noPassword: true });
  assert.equal(state.revision, before.revision + 2);
  assert.throws(() => apply(state, 'UserAdd', { name: '', hashed: 'h' }), error('user name is empty'));
  assert.throws(() => apply(state, 'UserAdd', { name: 'bob', hashed: 'h' }), error('user name already exists'));
});

test('UserDelete and UserChangePassword: unknown users; the password is replaced, roles kept', () => {
  const state = withUsers();
  assert.throws(() => apply(state, 'UserDelete', { name: 'ghost' }), error('user name not found'));
  assert.throws(() => apply(state, 'UserChangePassword', { name: 'ghost', hashed: 'h' }), error('user name not found'));
  const deleted = apply(state, 'UserDelete', { name: 'alice' }).state;
  assert.equal(deleted.users.alice, undefined);
  assert.equal(deleted.revision, state.revision + 1);
  const changed = apply(state, 'UserChangePassword', { name: 'alice', hashed: 'h-new' }).state;
  assert.deepEqual(changed.users.alice, { password: 'h-new', roles: ['reader'], noPassword: false });
  assert.equal(changed.revision, state.revision + 1);
  assert.equal(state.users.alice!.password, 'h-alice', 'the state applied to is left as it was');
});

test('UserGrantRole: roles kept sorted; the root role needs no role record; granting twice changes nothing', () => {
  const state = after(withUsers(), ['RoleAdd', { name: 'admin' }]);
  const granted = apply(state, 'UserGrantRole', { user: 'alice', role: 'admin' }).state;
  assert.deepEqual(granted.users.alice!.roles, ['admin', 'reader']);
  assert.equal(granted.revision, state.revision + 1);
  assert.equal(apply(granted, 'UserGrantRole', { user: 'alice', role: 'admin' }).state, granted);
  assert.equal(state.roles.root, undefined);
  assert.deepEqual(apply(state, 'UserGrantRole', { user: 'alice', role: 'root' }).state.users.alice!.roles, ['reader', 'root']);
  assert.throws(() => apply(state, 'UserGrantRole', { user: 'ghost', role: 'admin' }), error('user name not found'));
  assert.throws(() => apply(state, 'UserGrantRole', { user: 'alice', role: 'nope' }), error('role name not found'));
});

test('UserRevokeRole: only a granted role; one revision', () => {
  const state = withUsers();
  const revoked = apply(state, 'UserRevokeRole', { name: 'alice', role: 'reader' }).state;
  assert.deepEqual(revoked.users.alice!.roles, []);
  assert.equal(revoked.revision, state.revision + 1);
  assert.throws(() => apply(revoked, 'UserRevokeRole', { name: 'alice', role: 'reader' }), error('role is not granted to the user'));
  assert.throws(() => apply(state, 'UserRevokeRole', { name: 'ghost', role: 'reader' }), error('user name not found'));
});

test('UserGet and UserList: roles of a user; names in byte order; nothing changes', () => {
  const state = after(withUsers(), ['UserAdd', { name: '\u{1F600}', hashed: 'h' }], ['UserAdd', { name: '\uE000', hashed: 'h' }], ['UserAdd', { name: 'Zed', hashed: 'h' }]);
  const got = apply(state, 'UserGet', { name: 'alice' });
  assert.deepEqual(got.response.roles, ['reader']);
  assert.equal(got.state, state);
  assert.deepEqual(apply(state, 'UserList').response.users, ['Zed', 'alice', 'root', '\uE000', '\u{1F600}']);
  assert.throws(() => apply(state, 'UserGet', { name: 'ghost' }), error('user name not found'));
});

test('RoleAdd, RoleGet, RoleList: name checks; one revision for an added role', () => {
  const state = withUsers();
  const added = apply(state, 'RoleAdd', { name: 'writer' }).state;
  assert.deepEqual(added.roles.writer, { perms: [] });
  assert.equal(added.revision, state.revision + 1);
  assert.throws(() => apply(state, 'RoleAdd', { name: '' }), error('role name is empty'));
  assert.throws(() => apply(state, 'RoleAdd', { name: 'reader' }), error('role name already exists'));
  assert.deepEqual(apply(added, 'RoleList').response.roles, ['reader', 'writer']);
  assert.deepEqual(apply(added, 'RoleGet', { role: 'writer' }).response.perm, []);
  assert.throws(() => apply(state, 'RoleGet', { role: 'nope' }), error('role name not found'));
});

test('RoleDelete takes the role from every user that holds it', () => {
  const state = after(withUsers(), ['UserGrantRole', { user: 'root', role: 'reader' }]);
  const { state: deleted } = apply(state, 'RoleDelete', { role: 'reader' });
  assert.equal(deleted.roles.reader, undefined);
  assert.deepEqual(deleted.users.alice!.roles, []);
  assert.deepEqual(deleted.users.root!.roles, ['root']);
  assert.equal(deleted.revision, state.revision + 1);
  assert.throws(() => apply(deleted, 'RoleDelete', { role: 'reader' }), error('role name not found'));
});

test('RoleGrantPermission: kept in key order; the same key and range end updated in place; every grant a revision', () => {
  const state = after(withUsers(), grant('reader', READ, 'm'), grant('reader', READ, 'b', 'c'), grant('reader', READ, 'm', 'n'), grant('reader', READ, 'a'));
  assert.deepEqual(permsOf(state, 'reader'), [[READ, 'a', ''], [READ, 'b', 'c'], [READ, 'm', ''], [READ, 'm', 'n']]);
  const updated = after(state, grant('reader', WRITE, 'm'));
  assert.deepEqual(permsOf(updated, 'reader'), [[READ, 'a', ''], [READ, 'b', 'c'], [WRITE, 'm', ''], [READ, 'm', 'n']]);
  assert.equal(updated.revision, state.revision + 1);
  assert.equal(after(updated, grant('reader', WRITE, 'm')).revision, updated.revision + 1, 'an identical grant still counts');
  // As etcd: only the first permission on the key is looked at, so [m, n) is added beside the one it would replace.
  assert.deepEqual(permsOf(after(updated, grant('reader', READWRITE, 'm', 'n')), 'reader'),
    [[READ, 'a', ''], [READ, 'b', 'c'], [WRITE, 'm', ''], [READ, 'm', 'n'], [READWRITE, 'm', 'n']]);
  assert.throws(() => apply(state, ...grant('nope', READ, 'a')), error('role name not found'));
});

test('RoleRevokePermission: only the permission with that exact key and range end', () => {
  const state = after(withUsers(), grant('reader', READ, 'a'), grant('reader', READ, 'a', 'b'));
  const revoked = apply(state, 'RoleRevokePermission', { role: 'reader', key: bytes('a'), range_end: bytes('b') }).state;
  assert.deepEqual(permsOf(revoked, 'reader'), [[READ, 'a', '']]);
  assert.equal(revoked.revision, state.revision + 1);
  assert.throws(() => apply(revoked, 'RoleRevokePermission', { role: 'reader', key: bytes('a'), range_end: bytes('b') }), error('permission is not granted to the role'));
  assert.throws(() => apply(state, 'RoleRevokePermission', { role: 'nope', key: bytes('a') }), error('role name not found'));
});

test('while auth is enabled, root and its role are protected; while disabled they are not', () => {
  const rootCalls: [string, Req][] = [['UserDelete', { name: 'root' }], ['UserRevokeRole', { name: 'root', role: 'root' }], ['RoleDelete', { role: 'root' }]];
  const on = after(enabled(), ['RoleAdd', { name: 'root' }]);
  for (const [method, req] of rootCalls) {
    assert.throws(() => apply(on, method, req, { user: 'root', revision: on.revision }), error('invalid auth management'), method);
  }
  const off = after(withUsers(), ['RoleAdd', { name: 'root' }]);
  for (const [method, req] of rootCalls) assert.equal(apply(off, method, req).state.revision, off.revision + 1, method);
});

test('every call but Authenticate and the gets needs an admin once auth is enabled', () => {
  const state = after(enabled(), ['RoleAdd', { name: 'writer' }], grant('reader', READ, 'a'));
  const adminCalls: [string, Req][] = [
    ['AuthEnable', {}], ['AuthDisable', {}], ['UserAdd', { name: 'bob', hashed: 'h' }], ['UserDelete', { name: 'alice' }],
    ['UserChangePassword', { name: 'alice', hashed: 'h' }], ['UserGrantRole', { user: 'alice', role: 'root' }],
    ['UserRevokeRole', { name: 'alice', role: 'reader' }], ['UserList', {}], ['RoleAdd', { name: 'other' }],
    grant('reader', READ, 'b'), ['RoleRevokePermission', { role: 'reader', key: bytes('a') }], ['RoleDelete', { role: 'reader' }], ['RoleList', {}],
    ['UserGet', { name: 'root' }], ['RoleGet', { role: 'writer' }],
  ];
  const callers: [string, AuthInfo | undefined, { message: string }][] = [
    ['no credentials', undefined, error('user name is empty')],
    ['anonymous', ANONYMOUS, error('user name is empty')],
    ['an unknown user', { user: 'ghost', revision: state.revision }, error('user name not found')],
    ['a user without the root role', { user: 'alice', revision: state.revision }, error('permission denied')],
  ];
  for (const [method, req] of adminCalls) {
    for (const [who, ai, expected] of callers) assert.throws(() => apply(state, method, req, ai), expected, `${method} by ${who}`);
    apply(state, method, req, { user: 'root', revision: state.revision });
  }
});

test('a user may get its own user and the roles it holds', () => {
  const state = after(enabled(), grant('reader', READWRITE, 'a', 'b'));
  const alice = { user: 'alice', revision: state.revision };
  assert.deepEqual(apply(state, 'UserGet', { name: 'alice' }, alice).response.roles, ['reader']);
  assert.deepEqual(apply(state, 'RoleGet', { role: 'reader' }, alice).response.perm.map((p: { permType: number }) => p.permType), [READWRITE]);
  assert.throws(() => apply(state, 'RoleGet', { role: 'root' }, alice), error('permission denied'));
});

test('names that every JavaScript object has a property for are names like others: unknown until added, then kept', () => {
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
  for (const name of names) {
    assert.throws(() => apply(emptyAuthState(), 'RoleGrantPermission', { name, perm: { permType: READWRITE, key: bytes('a') } }), error('role name not found'), name);
    assert.throws(() => apply(emptyAuthState(), 'RoleRevokePermission', { role: name, key: bytes('a') }), error('role name not found'), name);
    assert.throws(() => apply(emptyAuthState(), 'UserGrantRole', { user: name, role: 'root' }), error('user name not found'), name);
    assert.throws(() => apply(emptyAuthState(), 'UserRevokeRole', { name, role: 'x' }), error('user name not found'), name);
    assert.throws(() => apply(emptyAuthState(), 'UserChangePassword', { name, hashed: 'h' }), error('user name not found'), name);
  }
  const state = after(emptyAuthState(), ...names.flatMap((name): [string, Req][] => [['UserAdd', { name, hashed: 'h' }], ['RoleAdd', { name }], ['UserGrantRole', { user: name, role: name }]]));
  assert.deepEqual(apply(state, 'UserList').response.users, [...names].sort());
  assert.deepEqual(apply(state, 'RoleList').response.roles, [...names].sort());
  assert.deepEqual(apply(state, 'UserGet', { name: '__proto__' }).response.roles, ['__proto__']);
  assert.equal(Object.getPrototypeOf(state.users), Object.prototype, 'adding "__proto__" did not replace the prototype');
});

test('the auth state packed for storage and messages keeps every name through msgpack', () => {
  const state = after(emptyAuthState(), ['UserAdd', { name: '__proto__', hashed: 'h' }], ['RoleAdd', { name: 'constructor' }], ['UserGrantRole', { user: '__proto__', role: 'constructor' }]);
  const through = unpackAuth(decode(encode(packAuth(state))));
  assert.deepEqual(Object.keys(through.users), ['__proto__']);
  assert.deepEqual(through.users['__proto__']!.roles, ['constructor']);
  assert.deepEqual(Object.keys(through.roles), ['constructor']);
  // A state stored by an earlier version, as plain maps, still reads.
  assert.deepEqual(unpackAuth(decode(encode({ ...state, users: { alice: { roles: [], noPassword: false } } }))).users, { alice: { roles: [], noPassword: false } });
});
