// Permission checks as etcd's auth store makes them: who may read or write which keys, and who is an admin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ANONYMOUS, READ, READWRITE, WRITE, checkAdmin, checkDeleteRange, checkPut, checkRead, checkTxn, checkWrite,
  type AuthInfo, type AuthState, type Permission,
} from '../../../src/actors/mvcc/permissions.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const FROM_KEY = '\0';
const perm = (permType: number, key: string, rangeEnd = ''): Permission => ({ permType, key: bytes(key), range_end: bytes(rangeEnd) });

const REVISION = 7;
const alice: AuthInfo = { user: 'alice', revision: REVISION };
const root: AuthInfo = { user: 'root', revision: REVISION };

/** Auth enabled; alice holds the roles `aliceRoles`, root the root role. */
function enabledState(roles: Record<string, Permission[]>, aliceRoles = Object.keys(roles)): AuthState {
  return {
    enabled: true,
    revision: REVISION,
    users: { root: { roles: ['root'], noPassword: false }, alice: { roles: aliceRoles, noPassword: false } },
    roles: Object.fromEntries(Object.entries(roles).map(([name, perms]) => [name, { perms }])),
  };
}

const PERMISSION_DENIED = { message: 'etcdserver: permission denied' };
const USER_EMPTY = { message: 'etcdserver: user name is empty' };

/** Whether the check passes; a refusal other than permission denied fails the test. */
function allows(check: () => void): boolean {
  try {
    check();
    return true;
  } catch (err) {
    assert.equal((err as Error).message, PERMISSION_DENIED.message);
    return false;
  }
}

test('auth disabled: everything is allowed, even without credentials or permissions', () => {
  const state: AuthState = { ...enabledState({}), enabled: false };
  checkRead(state, ANONYMOUS, bytes('k'));
  checkWrite(state, ANONYMOUS, bytes('a'), bytes(FROM_KEY));
  checkPut(state, ANONYMOUS, { key: bytes('k'), prev_kv: true, lease: 5 }, () => [bytes('other')]);
  checkDeleteRange(state, ANONYMOUS, { key: bytes('a'), range_end: bytes('z'), prev_kv: true });
  checkTxn(state, ANONYMOUS, { compare: [{ key: bytes('c') }], success: [{ request_put: { key: bytes('k') } }] });
  checkAdmin(state, undefined);
  checkAdmin(state, alice);
});

test('who is asking: no user, an old auth revision, an unknown user', () => {
  const state = enabledState({ r: [perm(READWRITE, 'k')] });
  const cases: [string, AuthInfo, { message: string }][] = [
    ['anonymous', ANONYMOUS, USER_EMPTY],
    ['a user name without a revision', { user: 'alice', revision: 0 }, USER_EMPTY],
    ['a token from an older auth revision', { user: 'alice', revision: REVISION - 1 }, { message: 'etcdserver: revision of auth store is old' }],
    ['a user that does not exist', { user: 'ghost', revision: REVISION }, PERMISSION_DENIED],
  ];
  for (const [name, ai, error] of cases) {
    assert.throws(() => checkRead(state, ai, bytes('k')), error, name);
    assert.throws(() => checkWrite(state, ai, bytes('k')), error, name);
  }
  checkRead(state, { user: 'alice', revision: REVISION + 1 }, bytes('k'));
});

test('the root role may read and write every key and range', () => {
  const state = enabledState({});
  checkRead(state, root, bytes('anything'));
  checkWrite(state, root, bytes('a'), bytes('z'));
  checkWrite(state, root, bytes('\0'), bytes(FROM_KEY));
  checkPut(state, root, { key: bytes('k'), prev_kv: true, lease: 1 }, () => [bytes('x')]);
});

test('point, prefix and from-key permissions, by type', () => {
  const state = enabledState({ r: [perm(WRITE, 'k'), perm(READ, 'p', 'q'), perm(READWRITE, 'x', FROM_KEY)] });
  type Row = [string, 'read' | 'write', string, string | undefined, boolean];
  const rows: Row[] = [
    ['point: written', 'write', 'k', undefined, true],
    ['point: write only, not read', 'read', 'k', undefined, false],
    ['point: only that key', 'write', 'k\0', undefined, false],
    ['point: not as a range beyond it', 'write', 'k', 'l', false],
    ['prefix: its first key', 'read', 'p', undefined, true],
    ['prefix: a key inside', 'read', 'pzz', undefined, true],
    ['prefix: its end is excluded', 'read', 'q', undefined, false],
    ['prefix: the whole prefix', 'read', 'p', 'q', true],
    ['prefix: a range inside', 'read', 'pa', 'pb', true],
    ['prefix: a range past its end', 'read', 'p', 'r', false],
    ['prefix: read only, not written', 'write', 'p', undefined, false],
    ['from-key: its key, read', 'read', 'x', undefined, true],
    ['from-key: a later key, written', 'write', '\xff\xff', undefined, true],
    ['from-key: a range after its key', 'read', 'y', 'z', true],
    ['from-key: a from-key request at its key', 'write', 'x', FROM_KEY, true],
    ['from-key: a from-key request before its key', 'read', 'w', FROM_KEY, false],
    ['from-key: a key before it', 'read', 'w', undefined, false],
  ];
  for (const [name, op, key, rangeEnd, expected] of rows) {
    const check = op === 'read' ? checkRead : checkWrite;
    assert.equal(allows(() => check(state, alice, bytes(key), rangeEnd === undefined ? undefined : bytes(rangeEnd))), expected, name);
  }
});

test('a range is allowed when the union of the grants covers it', () => {
  type Row = [string, Permission[], string, string, boolean];
  const rows: Row[] = [
    ['two adjacent grants', [perm(READ, 'a', 'c'), perm(READ, 'c', 'e')], 'b', 'd', true],
    ['two adjacent grants, all of them', [perm(READ, 'a', 'c'), perm(READ, 'c', 'e')], 'a', 'e', true],
    ['past the last grant', [perm(READ, 'a', 'c'), perm(READ, 'c', 'e')], 'a', 'f', false],
    ['a gap between grants', [perm(READ, 'a', 'c'), perm(READ, 'd', 'f')], 'b', 'e', false],
    ['a grant inside another one', [perm(READ, 'a', 'd'), perm(READ, 'b', 'c'), perm(READ, 'd', 'f')], 'a', 'f', true],
    ['a point grant bridging two ranges', [perm(READ, 'a', 'b'), perm(READ, 'b'), perm(READ, 'b\0', 'c')], 'a', 'c', true],
    ['READWRITE counts as read', [perm(READ, 'a', 'c'), perm(READWRITE, 'c', 'e')], 'b', 'd', true],
    ['WRITE does not count as read', [perm(READ, 'a', 'c'), perm(WRITE, 'c', 'e')], 'b', 'd', false],
    ['a from-key request, covered by a from-key grant', [perm(READ, 'a', 'c'), perm(READ, 'c', FROM_KEY)], 'b', FROM_KEY, true],
    ['a from-key request, a gap before the from-key grant', [perm(READ, 'a', 'c'), perm(READ, 'd', FROM_KEY)], 'b', FROM_KEY, false],
    ['a from-key request, bounded grants only', [perm(READ, 'a', 'z')], 'b', FROM_KEY, false],
  ];
  for (const [name, perms, key, rangeEnd, expected] of rows) {
    assert.equal(allows(() => checkRead(enabledState({ r: perms }), alice, bytes(key), bytes(rangeEnd))), expected, name);
  }
});

test('grants of several roles add up', () => {
  const state = enabledState({ low: [perm(READWRITE, 'a', 'c')], high: [perm(READWRITE, 'c', 'e')], unused: [perm(READWRITE, 'e', 'g')] }, ['high', 'low']);
  checkWrite(state, alice, bytes('b'), bytes('d'));
  assert.equal(allows(() => checkWrite(state, alice, bytes('b'), bytes('f'))), false, 'a role alice does not hold grants nothing');
});

test('a point request inside a granted interval; the interval end is excluded', () => {
  const state = enabledState({ r: [perm(READ, 'a', 'c')] });
  assert.equal(allows(() => checkRead(state, alice, bytes('bzz'))), true);
  assert.equal(allows(() => checkRead(state, alice, bytes('a'))), true);
  assert.equal(allows(() => checkRead(state, alice, bytes('c'))), false);
});

test('a range ending at or before its key is checked as its key alone', () => {
  const state = enabledState({ r: [perm(READ, 'a', 'c')] });
  const rows: [string, string, boolean][] = [['b', 'b', true], ['b', 'a', true], ['c', 'b', false], ['d', 'b', false]];
  for (const [key, rangeEnd, expected] of rows) {
    assert.equal(allows(() => checkRead(state, alice, bytes(key), bytes(rangeEnd))), expected, `[${key}, ${rangeEnd})`);
  }
});

test('a permission with an empty key grants nothing', () => {
  const state = enabledState({ r: [perm(READWRITE, '', FROM_KEY), perm(READWRITE, '', 'z'), perm(READWRITE, '')] });
  for (const [key, rangeEnd] of [['a', undefined], ['\0', FROM_KEY], ['a', 'b'], ['', undefined]] as const) {
    assert.equal(allows(() => checkRead(state, alice, bytes(key), rangeEnd === undefined ? undefined : bytes(rangeEnd))), false, `${key}`);
  }
});

test('put: write on the key; read too with prev_kv; write on every key of its lease', () => {
  const leaseKeysOf = (keys: Record<number, string[]>) => (id: number) => (keys[id] ?? []).map(bytes);
  const writeOnly = enabledState({ r: [perm(WRITE, 'k'), perm(WRITE, 'mine')] });
  checkPut(writeOnly, alice, { key: bytes('k') }, leaseKeysOf({}));
  assert.equal(allows(() => checkPut(writeOnly, alice, { key: bytes('k'), prev_kv: true }, leaseKeysOf({}))), false, 'prev_kv needs read');
  const readWrite = enabledState({ r: [perm(READWRITE, 'k')] });
  checkPut(readWrite, alice, { key: bytes('k'), prev_kv: true }, leaseKeysOf({}));
  assert.equal(allows(() => checkPut(writeOnly, alice, { key: bytes('nope') }, leaseKeysOf({}))), false);

  const asked: number[] = [];
  const leaseKeys = (id: number) => (asked.push(id), leaseKeysOf({ 5: ['mine'], 6: ['mine', 'theirs'] })(id));
  checkPut(writeOnly, alice, { key: bytes('k'), lease: 5 }, leaseKeys);
  assert.equal(allows(() => checkPut(writeOnly, alice, { key: bytes('k'), lease: '6' }, leaseKeys)), false, 'a key of the lease is not writable');
  assert.deepEqual(asked, [5, 6]);
  checkPut(writeOnly, alice, { key: bytes('k'), lease: 0 }, () => assert.fail('no lease, no lookup'));
});

test('delete range: write over the range; read too with prev_kv', () => {
  const writeOnly = enabledState({ r: [perm(WRITE, 'a', 'c')] });
  checkDeleteRange(writeOnly, alice, { key: bytes('a'), range_end: bytes('c') });
  checkDeleteRange(writeOnly, alice, { key: bytes('b') });
  assert.equal(allows(() => checkDeleteRange(writeOnly, alice, { key: bytes('a'), range_end: bytes('d') })), false);
  assert.equal(allows(() => checkDeleteRange(writeOnly, alice, { key: bytes('a'), range_end: bytes('c'), prev_kv: true })), false);
  checkDeleteRange(enabledState({ r: [perm(READWRITE, 'a', 'c')] }), alice, { key: bytes('a'), range_end: bytes('c'), prev_kv: true });
});

test('txn: read on every compare; each op of both branches; nested txns', () => {
  const state = enabledState({ r: [perm(READ, 'r', 's'), perm(WRITE, 'w', 'x')] });
  const put = (key: string) => ({ request_put: { key: bytes(key) } });
  const range = (key: string, rangeEnd?: string) => ({ request_range: { key: bytes(key), range_end: rangeEnd && bytes(rangeEnd) } });
  const del = (key: string, prevKv = false) => ({ request_delete_range: { key: bytes(key), prev_kv: prevKv } });
  const rows: [string, Record<string, unknown>, boolean][] = [
    ['all allowed', { compare: [{ key: bytes('r1') }], success: [put('w1'), range('r', 's')], failure: [del('w2')] }, true],
    ['a compare on a write-only key', { compare: [{ key: bytes('w1') }] }, false],
    ['a compare over a range partly unreadable', { compare: [{ key: bytes('r'), range_end: bytes('t') }] }, false],
    ['a put on a read-only key in success', { success: [put('r1')] }, false],
    ['a range on a write-only key in failure', { failure: [range('w1')] }, false],
    ['a delete with prev_kv needs read', { failure: [del('w1', true)] }, false],
    ['a delete without prev_kv', { failure: [del('w1')] }, true],
    ['a nested txn, allowed', { success: [{ request_txn: { compare: [{ key: bytes('r1') }], failure: [put('w1')] } }] }, true],
    ['a nested txn writing a read-only key', { success: [{ request_txn: { failure: [put('r1')] } }] }, false],
    ['a nested compare on a write-only key', { failure: [{ request_txn: { success: [{ request_txn: { compare: [{ key: bytes('w1') }] } }] } }] }, false],
  ];
  for (const [name, txn, expected] of rows) assert.equal(allows(() => checkTxn(state, alice, txn)), expected, name);
});

test('admin: the root role is needed, whatever the auth revision', () => {
  const state = enabledState({ r: [perm(READWRITE, '\0', FROM_KEY)] });
  const rows: [string, AuthInfo | undefined, { message: string } | undefined][] = [
    ['no credentials', undefined, USER_EMPTY],
    ['anonymous', ANONYMOUS, USER_EMPTY],
    ['an unknown user', { user: 'ghost', revision: REVISION }, { message: 'etcdserver: user name not found' }],
    ['a user that may write every key', alice, PERMISSION_DENIED],
    ['root', root, undefined],
    ['root with an old token', { user: 'root', revision: 1 }, undefined],
  ];
  for (const [name, ai, error] of rows) {
    if (error) assert.throws(() => checkAdmin(state, ai), error, name);
    else checkAdmin(state, ai);
  }
});
