// Auth, user and role commands, printed as etcdctl 3.4 prints them.
import { authResponseType } from '../actors/mvcc/responses.js';
import { FeatureError, firstWord, output, program, readStdin, requireFormat, UsageError, withClient } from './context.js';
import { fieldsHeader, goJson, goQuote, protobufBytes } from './printers.js';
import { messageType } from '../protocol/codec.js';
import { prefixEnd } from '../protocol/prefix-end.js';
import { Errors } from '../protocol/errors.js';
import type { Client } from '../client/client.js';

type Res = Record<string, any>;

const PERM_TYPES = ['READ', 'WRITE', 'READWRITE'];

/** Calls an Auth method with the command timeout. */
const auth = (method: string, req: Res = {}) => withClient((c, t) => authCall(c, method, req, t));
const authCall = (c: Client, method: string, req: Res, t: number) => c.service('etcdserverpb.Auth')[method]!(req, { deadlineMs: t });

/**
 * Prints a response: `simple` as etcdctl's simple printer, json as the response, fields as its
 * header and `fields` (undefined where etcdctl has no fields printer for it).
 */
function print(method: string, res: Res, simple: string, fields?: string[]): void {
  const format = requireFormat(['simple', 'json', 'fields', 'protobuf']);
  if (format === 'json') output(goJson(messageType(authResponseType(method)), res) + '\n');
  else if (format === 'protobuf') output(protobufBytes(authResponseType(method), res));
  else if (format === 'fields') {
    if (!fields) throw new FeatureError('fields not supported as output format');
    output([...fieldsHeader(res.header ?? {}), ...fields].join('\n') + '\n');
  } else output(simple);
}

const str = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString();


function roleText(role: string, perms: Res[]): string {
  const range = (p: Res) => {
    const key = str(p.key);
    const end = str(p.range_end);
    if (!end.length) return `\t${key}\n`;
    const shown = end !== '\0' ? `\t[${key}, ${end})` : `\t[${key}, <open ended>`;
    return `${shown}${prefixEnd(Buffer.from(p.key ?? [])).equals(Buffer.from(p.range_end)) ? ` (prefix ${key})` : ''}\n`;
  };
  const of = (types: number[]) => perms.filter((p) => types.includes(p.permType ?? 0)).map(range).join('');
  return `Role ${role}\nKV Read:\n${of([0, 2])}KV Write:\n${of([1, 2])}`;
}

/** Reads a password as etcdctl: from standard input with --interactive=false, else asked twice. */
async function readPassword(name: string, interactive: boolean): Promise<string> {
  if (!interactive) return firstWord(await readStdin());
  output(`Password of ${name}: `);
  const [first, second] = (await readStdin()).split('\n');
  if (!first) throw new UsageError('empty password');
  output(`Type password of ${name} again for confirmation: `);
  if (first !== second) throw new UsageError('given passwords are different');
  return first;
}

/** The key and range end of a permission, from its arguments and --prefix/--from-key (etcdctl's permRange). */
function permRange(args: string[], o: Res): [string, string] {
  if (o.prefix && o.fromKey) throw new UsageError('--from-key and --prefix flags are mutually exclusive');
  const key = args[0]!;
  if (!key.length) return ['\0', o.prefix || o.fromKey ? '\0' : ''];
  if (args.length === 1) return [key, o.prefix ? prefixEnd(b(key)).toString('latin1') : o.fromKey ? '\0' : ''];
  if (o.prefix) throw new UsageError('unexpected endkey argument with --prefix flag');
  if (o.fromKey) throw new UsageError('unexpected endkey argument with --from-key flag');
  return [key, args[1]!];
}

const b = (s: string) => Buffer.from(s, 'latin1');

export function registerAuthCommands(): void {
  const authCmd = program.command('auth').description('Enable or disable authentication');
  authCmd.command('enable').description('Enables authentication').argument('[args...]')
    .action(async (args: string[]) => {
      if (args.length) throw new UsageError('auth enable command does not accept any arguments');
      // As etcdctl: the root role is made and granted to root when only it is missing.
      await withClient(async (c, t) => {
        for (;;) {
          try {
            return await authCall(c, 'AuthEnable', {}, t);
          } catch (err) {
            if ((err as { details?: string }).details !== Errors.rootRoleNotExist.message) throw err;
            await authCall(c, 'RoleAdd', { name: 'root' }, t);
            await authCall(c, 'UserGrantRole', { user: 'root', role: 'root' }, t);
          }
        }
      });
      output('Authentication Enabled\n');
    });
  authCmd.command('disable').description('Disables authentication').argument('[args...]')
    .action(async (args: string[]) => {
      if (args.length) throw new UsageError('auth disable command does not accept any arguments');
      await auth('AuthDisable');
      output('Authentication Disabled\n');
    });

  const user = program.command('user').description('User related commands');
  user.command('add').description('Adds a new user').argument('[user]')
    .option('--interactive [bool]', 'Read password from stdin instead of interactive terminal', true)
    .option('--new-user-password <password>', 'Supply password from the command line flag')
    .option('--no-password', 'Create a user without password (CN based auth only)')
    .action(async (arg: string | undefined, o: Res) => {
      if (arg === undefined) throw new UsageError('user add command requires user name as its argument');
      let name = arg;
      let password = '';
      const noPassword = o.password === false;
      if (!noPassword) {
        if (o.newUserPassword) password = o.newUserPassword;
        else if (arg.includes(':')) {
          [name, password] = [arg.slice(0, arg.indexOf(':')), arg.slice(arg.indexOf(':') + 1)];
          if (!name) throw new UsageError('empty user name is not allowed');
        } else password = await readPassword(arg, o.interactive !== 'false' && o.interactive !== false);
      }
      const res = await auth('UserAdd', { name, password, options: { no_password: noPassword } });
      print('UserAdd', res, `User ${name} created\n`, []);
    });
  user.command('delete').description('Deletes a user').argument('[user]')
    .action(async (name: string | undefined) => {
      if (name === undefined) throw new UsageError('user delete command requires user name as its argument');
      print('UserDelete', await auth('UserDelete', { name }), `User ${name} deleted\n`, []);
    });
  user.command('get').description('Gets detailed information of a user').argument('[user]')
    .option('--detail', 'Show permissions of roles granted to the user')
    .action(async (name: string | undefined, o: Res) => {
      if (name === undefined) throw new UsageError('user get command requires user name as its argument');
      const res = await auth('UserGet', { name });
      const roles: string[] = res.roles ?? [];
      if (!o.detail) return print('UserGet', res, `User: ${name}\nRoles:${roles.map((r) => ` ${r}`).join('')}\n`);
      output(`User: ${name}\n`);
      for (const role of roles) {
        const r = await auth('RoleGet', { role });
        output('\n');
        print('RoleGet', r, roleText(role, r.perm ?? []));
      }
    });
  user.command('list').description('Lists all users').argument('[args...]')
    .action(async (args: string[]) => {
      if (args.length) throw new UsageError('user list command requires no arguments');
      const res = await auth('UserList');
      const users: string[] = res.users ?? [];
      print('UserList', res, users.map((u) => `${u}\n`).join(''));
    });
  user.command('passwd').description('Changes password of user').argument('[user]')
    .option('--interactive [bool]', 'If true, read password from stdin instead of interactive terminal', true)
    .action(async (name: string | undefined, o: Res) => {
      if (name === undefined) throw new UsageError('user passwd command requires user name as its argument');
      const password = await readPassword(name, o.interactive !== 'false' && o.interactive !== false);
      print('UserChangePassword', await auth('UserChangePassword', { name, password }), 'Password updated\n', []);
    });
  user.command('grant-role').description('Grants a role to a user').argument('[user]').argument('[role]')
    .action(async (name: string | undefined, role: string | undefined) => {
      if (name === undefined || role === undefined) throw new UsageError('user grant command requires user name and role name as its argument');
      print('UserGrantRole', await auth('UserGrantRole', { user: name, role }), `Role ${role} is granted to user ${name}\n`, []);
    });
  user.command('revoke-role').description('Revokes a role from a user').argument('[user]').argument('[role]')
    .action(async (name: string | undefined, role: string | undefined) => {
      if (name === undefined || role === undefined) throw new UsageError('user revoke-role requires user name and role name as its argument');
      print('UserRevokeRole', await auth('UserRevokeRole', { name, role }), `Role ${role} is revoked from user ${name}\n`, []);
    });

  const role = program.command('role').description('Role related commands');
  role.command('add').description('Adds a new role').argument('[role]')
    .action(async (name: string | undefined) => {
      if (name === undefined) throw new UsageError('role add command requires role name as its argument');
      print('RoleAdd', await auth('RoleAdd', { name }), `Role ${name} created\n`, []);
    });
  role.command('delete').description('Deletes a role').argument('[role]')
    .action(async (name: string | undefined) => {
      if (name === undefined) throw new UsageError('role delete command requires role name as its argument');
      print('RoleDelete', await auth('RoleDelete', { role: name }), `Role ${name} deleted\n`, []);
    });
  role.command('get').description('Gets detailed information of a role').argument('[role]')
    .action(async (name: string | undefined) => {
      if (name === undefined) throw new UsageError('role get command requires role name as its argument');
      const res = await auth('RoleGet', { role: name });
      const perms: Res[] = res.perm ?? [];
      print('RoleGet', res, roleText(name, perms), perms.flatMap((p) => [`"PermType" :  ${PERM_TYPES[p.permType ?? 0]}`, `"Key" : ${goQuote(p.key)}`, `"RangeEnd" : ${goQuote(p.range_end)}`]));
    });
  role.command('list').description('Lists all roles').argument('[args...]')
    .action(async (args: string[]) => {
      if (args.length) throw new UsageError('role list command requires no arguments');
      const res = await auth('RoleList');
      const roles: string[] = res.roles ?? [];
      print('RoleList', res, roles.map((r) => `${r}\n`).join(''), [`"Roles" :${roles.map((r) => ` ${goQuote(Buffer.from(r))}`).join('')}`]);
    });
  role.command('grant-permission').description('Grants a key to a role').argument('[args...]')
    .option('--prefix', 'grant a prefix permission')
    .option('--from-key', 'grant a permission of keys that are greater than or equal to the given key using byte compare')
    .action(async (args: string[], o: Res) => {
      if (args.length < 3) throw new UsageError('role grant command requires role name, permission type, and key [endkey] as its argument');
      const permType = PERM_TYPES.indexOf(args[1]!.toUpperCase());
      if (permType < 0) throw new UsageError(`invalid permission type: ${args[1]}`);
      const [key, end] = permRange(args.slice(2), o);
      const res = await auth('RoleGrantPermission', { name: args[0], perm: { permType, key: b(key), range_end: b(end) } });
      print('RoleGrantPermission', res, `Role ${args[0]} updated\n`, []);
    });
  role.command('revoke-permission').description('Revokes a key from a role').argument('[args...]')
    .option('--prefix', 'revoke a prefix permission')
    .option('--from-key', 'revoke a permission of keys that are greater than or equal to the given key using byte compare')
    .action(async (args: string[], o: Res) => {
      if (args.length < 2) throw new UsageError('role revoke-permission command requires role name and key [endkey] as its argument');
      const [key, end] = permRange(args.slice(1), o);
      const res = await auth('RoleRevokePermission', { role: args[0], key: b(key), range_end: b(end) });
      const what = !end.length ? `key ${args[1]}` : end !== '\0' ? `range [${args[1]}, ${end})` : `range [${args[1]}, <open ended>`;
      print('RoleRevokePermission', res, `Permission of ${what} is revoked from role ${args[0]}\n`, []);
    });
}
