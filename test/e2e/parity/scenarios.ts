// etcdctl scripts run on a fresh server, step by step.
import os from 'node:os';
import path from 'node:path';
import type { Step } from './normalize.js';

/** Where both servers' snapshots are saved in turn (the path is part of etcdctl's output). */
export const SNAPSHOT_FILE = path.join(os.tmpdir(), `kvd-parity-${process.pid}.db`);

const s = (...args: string[]): Step => ({ args });
const txn = (stdin: string, ...args: string[]): Step => ({ args: ['txn', ...args], stdin });

const watch = (args: string[], during: Step[], stdin?: string): Step => ({ args: ['watch', ...args], during, ...(stdin ? { stdin } : {}) });
const echoEvent = 'echo "$ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE rev=$ETCD_WATCH_REVISION"';

const grant = (name: string, ttl: string): Step => ({ args: ['lease', 'grant', ttl], capture: { name, pattern: /^lease ([0-9a-f]+) granted/ } });

export const SCENARIOS: Record<string, Step[]> = {
  'leases': [
    grant('A', '100'), grant('C', '100'),
    // etcd lists a lease's keys in no set order: at most one is attached where they are listed.
    s('put', '--lease=$A', 'l/1', 'x'), s('put', 'l/3', 'z'),
    s('lease', 'timetolive', '$A'), s('lease', 'timetolive', '$A', '--keys'), s('lease', 'timetolive', '$A', '--keys', '-w', 'json'),
    s('put', '--lease=$A', 'l/2', 'y'), s('put', 'l/1', 'x', '--ignore-lease'),
    s('lease', 'timetolive', '$C', '--keys'),
    s('put', '--lease=$C', 'l/2', 'moved'), s('lease', 'timetolive', '$A', '--keys'), s('get', 'l/2', '-w', 'json'),
    s('put', 'l/2', 'again', '--ignore-lease'), s('put', 'l/1', 'free'), s('lease', 'timetolive', '$A', '--keys'), s('lease', 'timetolive', '$C', '--keys'),
    s('lease', 'keep-alive', '--once', '$A'), s('lease', 'keep-alive', '--once', '-w', 'json', '$A'),
    { args: ['lease', 'keep-alive', '$A'], during: [] }, // renews at once, then every TTL/3 until interrupted
    s('lease', 'revoke', '$C'), s('get', '--prefix', 'l/'), s('lease', 'timetolive', '$C'), s('lease', 'revoke', '$C'),
    s('lease', 'keep-alive', '--once', '$C'),
    s('lease', 'list'), s('lease', 'list', '-w', 'json'),
    s('put', '--lease=1234', 'k', 'v'), s('lease', 'revoke', '1234'), s('lease', 'timetolive', '1234'),
    s('lease', 'grant', '9000000001'), s('lease', 'grant', 'x'), s('lease', 'revoke', '$A'), s('get', '--prefix', 'l/'),
    txn('\nput --lease=$A t 1\n\n\n'),
    s('lease', 'grant', '1'), // raised to the minimum TTL: 1.5 election timeouts, in whole seconds
  ],
  'watch live': [
    s('put', 'foo', '0'),
    watch(['foo'], [s('put', 'foo', '1'), s('put', 'foo', '2'), s('del', 'foo'), s('put', 'bar', 'x')]),
    watch(['--prefix', 'foo', '-w', 'json'], [
      s('put', 'foo/a', '1'), txn('\nput foo/b 2\nput foo/c 3\ndel foo/a\n\n\n'), s('put', 'food', '4'), s('put', 'fo', 'no'),
    ]),
    watch(['foo', '--prev-kv'], [s('put', 'foo', '3'), s('put', 'foo', '4'), s('del', 'foo')]),
    watch(['foo', '--prev-kv', '-w', 'json'], [s('put', 'foo', '5'), s('del', 'foo', '--prev-kv')]),
    watch(['a', 'c'], [s('put', 'a', '1'), s('put', 'b', '2'), s('put', 'c', '3'), s('del', 'a', 'z')]),
    watch(['-i'], [s('put', 'foo', '6'), s('put', 'bar', '7'), s('put', 'baz', '8')], 'watch foo\nwatch --prefix ba\n'),
    watch(['foo', '--', 'sh', '-c', echoEvent], [s('put', 'foo', '9'), s('del', 'foo')]),
  ],
  'watch history': [
    s('put', 'h', '1'), s('put', 'h', '2'), s('put', 'h/x', '3'), s('del', 'h'), s('put', 'h', '4'),
    txn('\nput h/y 5\nput h/z 6\n\n\n'),
    watch(['--rev', '1', '--prefix', 'h', '-w', 'json'], []),
    watch(['--rev', '2', 'h', '--prev-kv'], []),
    watch(['--rev', '3', '--prefix', 'h', '--prev-kv', '-w', 'json'], [s('put', 'h', '7')]),
    s('compaction', '4'),
    watch(['--rev', '2', 'h'], []),
    watch(['--rev', '4', 'h'], []),
    watch(['b', 'a'], []),
  ],

  'put and get': [
    s('put', 'foo', 'bar'), s('put', 'foo1', 'bar1'), s('put', 'foo2', 'bar2'), s('put', 'fop', 'x'),
    s('get', 'foo'), s('get', 'foo', '--print-value-only'), s('get', 'missing'),
    s('get', '--prefix', 'foo'), s('get', '--prefix', 'foo', '--keys-only'), s('get', '--prefix', 'foo', '--limit', '2'),
    s('get', '--prefix', 'foo', '--count-only', '-w', 'json'),
    s('get', 'foo1', '--from-key'), s('get', 'foo', 'foo2'), s('get', 'a', 'z', '-w', 'json'),
    s('get', '--prefix', 'foo', '-w', 'fields'), s('get', '--prefix', 'foo', '-w', 'table'),
    s('get', '--prefix', 'foo', '--limit', '1', '-w', 'json'),
  ],
  'revisions and sorting': [
    s('put', 'k', 'v1'), s('put', 'k', 'v2'), s('put', 'k', 'v3'), s('put', 'j', 'z'), s('put', 'l', 'a'),
    s('get', 'k', '--rev', '1'), s('get', 'k', '--rev', '2', '-w', 'json'), s('get', 'k', '--rev', '99'),
    ...(['KEY', 'VERSION', 'CREATE', 'MODIFY', 'VALUE'] as const).flatMap((by) =>
      ['ASCEND', 'DESCEND'].map((order) => s('get', '', '--from-key', `--sort-by=${by}`, `--order=${order}`))),
    s('get', 'j', 'm', '--sort-by=VALUE'),
  ],
  'delete': [
    s('put', 'a', '1'), s('put', 'b', '2'), s('put', 'c', '3'), s('put', 'p/1', 'x'), s('put', 'p/2', 'y'),
    s('del', 'a'), s('del', 'a'), s('del', 'b', '--prev-kv'), s('del', 'p/', '--prefix', '-w', 'json'),
    s('del', 'c', '--from-key', '--prev-kv'), s('get', '', '--from-key'),
    s('put', 'a', 'again', '--prev-kv'), s('put', 'a', 'third', '--prev-kv', '-w', 'json'),
    s('put', 'a', '--ignore-value'), s('get', 'a'), s('put', 'nokey', '--ignore-value'),
  ],
  'txn': [
    s('put', 'user', 'alice'), s('put', 'count', '1'),
    txn('value("user") = "alice"\n\nput user bob\nget count\n\nput user carol\n\n'),
    txn('value("user") = "alice"\n\nput user dave\n\nput user erin\n\n', '-w', 'json'),
    txn('version("count") = "1"\nmod("user") > "0"\n\nget user\n\n\n'),
    txn('create("nokey") = "0"\n\nput nokey created\n\n\n', '-w', 'json'),
    txn('value("count") != "1"\n\n\ndel count\n\n'),
    s('get', '', '--from-key'),
  ],
  'compaction and errors': [
    s('put', 'x', '1'), s('put', 'x', '2'), s('put', 'x', '3'), s('compaction', '2'),
    s('get', 'x', '--rev', '1'), s('get', 'x', '--rev', '2'), s('get', 'x', '--rev', '3'), s('compaction', '2'), s('compaction', '50'),
    s('put', '', 'empty'), s('get', ''), s('del', ''),
    txn('\n' + Array.from({ length: 129 }, (_, i) => `put k${i} v`).join('\n') + '\n\n\n'),
    txn('\nput dup 1\nput dup 2\n\n\n'),
    txn('\nput d/1 1\ndel d/ d0\n\n\n'),
  ],
  'maintenance': [
    s('put', 'm', '1'),
    { args: ['endpoint', 'status'], loose: true }, { args: ['endpoint', 'status', '-w', 'json'], loose: true },
    { args: ['endpoint', 'status', '-w', 'table'], loose: true },
    s('endpoint', 'health'), { args: ['endpoint', 'hashkv'], loose: true },
    s('member', 'list'), { args: ['member', 'list', '-w', 'table'], loose: true }, { args: ['member', 'list', '-w', 'json'], loose: true },
    s('alarm', 'list'), s('alarm', 'disarm'), s('defrag'), s('get', 'm'),
    s('snapshot', 'save', SNAPSHOT_FILE),
  ],
  'auth': [
    // etcdctl's auth enable adds the root role and grants it to root when it is missing.
    s('auth', 'enable'), s('user', 'add', 'root:rootpw'), s('user', 'add', 'root:again'),
    s('role', 'add', 'root'), s('user', 'grant-role', 'root', 'root'), s('user', 'get', 'root'), s('user', 'get', 'nobody'),
    s('role', 'add', 'r1'), s('role', 'add', 'r1'), s('role', 'add', 'r2'),
    s('role', 'grant-permission', 'r1', 'read', 'a'), s('role', 'grant-permission', 'r1', 'write', 'b', '--prefix'),
    s('role', 'grant-permission', 'r1', 'readwrite', 'c', '--from-key'), s('role', 'grant-permission', 'r1', 'readwrite', 'd', 'f'),
    s('role', 'grant-permission', 'r1', 'readwrite', 'a'), s('role', 'grant-permission', 'nope', 'read', 'a'), s('role', 'grant-permission', 'r1', 'bad', 'a'),
    s('role', 'get', 'r1'), s('role', 'get', 'r1', '-w', 'json'), s('role', 'get', 'nope'),
    s('role', 'revoke-permission', 'r1', 'd', 'f'), s('role', 'revoke-permission', 'r1', 'zzz'), s('role', 'get', 'r1'),
    s('user', 'add', 'alice:pw'), s('user', 'grant-role', 'alice', 'r1'), s('user', 'grant-role', 'alice', 'r2'), s('user', 'grant-role', 'alice', 'nope'),
    s('user', 'revoke-role', 'alice', 'r2'), s('user', 'revoke-role', 'alice', 'r2'), s('user', 'get', 'alice', '--detail'), s('user', 'get', 'alice', '-w', 'json'),
    s('user', 'list'), s('role', 'list'), s('role', 'list', '-w', 'json'), s('role', 'list', '-w', 'fields'), s('user', 'list', '-w', 'fields'),
    s('user', 'get', 'alice', '-w', 'fields'), s('role', 'get', 'r1', '-w', 'fields'), s('role', 'add', 'r3', '-w', 'fields'), s('role', 'get', 'r1', '-w', 'table'),
    s('role', 'grant-permission', 'r3', 'read', 'x', '--prefix', '--from-key'), s('role', 'grant-permission', 'r3', 'read', 'x', 'y', '--prefix'),
    s('role', 'grant-permission', 'r3', 'read', '', '--prefix'), s('role', 'get', 'r3'), s('role', 'revoke-permission', 'r3', '', '--prefix'), s('role', 'grant-permission', 'r3'),
    s('user', 'add', ':pw'), s('user', 'add', 'nopw', '--no-password'), s('user', 'get', 'nopw'), s('user', 'add'), s('user', 'grant-role', 'alice'),
    { args: ['user', 'add', 'frank', '--interactive=false'], stdin: 'frankpw\n' }, s('user', 'add', 'gina', '--new-user-password', 'gpw'),
    s('auth', 'enable'), s('put', 'a', '1'), s('get', 'a'), s('--user', 'alice:pw', 'get', 'a'), s('--user', 'alice:wrong', 'get', 'a'), s('--user', 'nobody:pw', 'get', 'a'),
    s('--user', 'nopw:x', 'get', 'a'), s('--user', 'frank:frankpw', 'get', 'a'), s('--user', 'gina', '--password', 'gpw', 'get', 'a'), s('--password', 'x', 'get', 'a'),
    s('--user', 'alice:pw', 'put', 'a', '1'), s('--user', 'alice:pw', 'put', 'b1', '1'), s('--user', 'alice:pw', 'get', 'b1'), s('--user', 'alice:pw', 'put', 'cz', '2'),
    s('--user', 'alice:pw', 'get', 'c', '--from-key'), s('--user', 'alice:pw', 'get', 'b', '--prefix'), s('--user', 'alice:pw', 'del', 'b1', '--prev-kv'),
    s('--user', 'alice:pw', 'user', 'list'), s('--user', 'alice:pw', 'user', 'get', 'alice'), s('--user', 'alice:pw', 'role', 'get', 'r1'), s('--user', 'alice:pw', 'role', 'get', 'root'),
    s('--user', 'alice:pw', 'auth', 'disable'),
    s('--user', 'root:rootpw', 'user', 'delete', 'root'), s('--user', 'root:rootpw', 'role', 'delete', 'root'), s('--user', 'root:rootpw', 'user', 'revoke-role', 'root', 'root'),
    { args: ['--user', 'root:rootpw', 'user', 'passwd', 'alice', '--interactive=false'], stdin: 'newpw\n' },
    s('--user', 'alice:pw', 'get', 'a'), s('--user', 'alice:newpw', 'get', 'a'),
    s('--user', 'root:rootpw', 'role', 'delete', 'r1'), s('--user', 'root:rootpw', 'user', 'get', 'alice'), s('--user', 'alice:newpw', 'get', 'a'),
    s('--user', 'root:rootpw', 'user', 'delete', 'alice'), s('--user', 'root:rootpw', 'user', 'delete', 'alice'),
    s('--user', 'root:rootpw', 'auth', 'disable'), s('auth', 'disable'), s('get', 'a'), s('--user', 'root:rootpw', 'get', 'a'),
  ],
};
