// What every tsctl command shares: the program with etcdctl's global flags (also as ETCDCTL_* or
// TSCTL_* variables), the client call that fails over between endpoints, output and errors.
import { Command, Option } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { connect, type Client } from '../client/client.js';
import { parseDuration } from '../server/config.js';
import { Errors, goStatusText } from '../protocol/errors.js';
import { dialTarget } from './security.js';


/** etcdctl's exit codes. */
export const EXIT_ERROR = 1;
export const EXIT_BAD_CONNECTION = 2;
export const EXIT_INVALID_INPUT = 3;
export const EXIT_BAD_FEATURE = 4;
export const EXIT_INTERRUPTED = 5;
export const EXIT_BAD_ARGS = 128;

export class UsageError extends Error {}
export class FeatureError extends Error {}
export class InputError extends Error {}
export class ConnectionError extends Error {}
/** A stream the server ended (a canceled watch). */
export class InterruptedError extends Error {}

const env = (name: string) => process.env[`TSCTL_${name}`] ?? process.env[`ETCDCTL_${name}`];

interface Globals {
  endpoints: string; dialTimeout: string; commandTimeout: string; keepaliveTime: string; keepaliveTimeout: string; writeOut: string; hex: boolean;
  cacert?: string; cert?: string; key?: string; insecureSkipTlsVerify: boolean; insecureTransport: boolean; user?: string; password?: string;
}

const flagValue = (v: string | undefined) => v !== undefined && v !== 'false' && v !== '0';

export const program = new Command('tsctl')
  .description('A simple command line client for kvd and etcd3.')
  .addOption(new Option('--endpoints <list>', 'gRPC endpoints').default(env('ENDPOINTS') ?? '127.0.0.1:2379'))
  .addOption(new Option('--dial-timeout <duration>', 'dial timeout for client connections').default(env('DIAL_TIMEOUT') ?? '2s'))
  .addOption(new Option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout)').default(env('COMMAND_TIMEOUT') ?? '5s'))
  .addOption(new Option('--keepalive-time <duration>', 'keepalive time for client connections').default(env('KEEPALIVE_TIME') ?? '2s'))
  .addOption(new Option('--keepalive-timeout <duration>', 'keepalive timeout for client connections').default(env('KEEPALIVE_TIMEOUT') ?? '6s'))
  .addOption(new Option('-w, --write-out <format>', 'set the output format (fields, json, protobuf, simple, table)').default(env('WRITE_OUT') ?? 'simple'))
  .addOption(new Option('--hex', 'print byte strings as hex encoded strings').default(env('HEX') === 'true'))
  .addOption(new Option('--user <username[:password]>', 'username[:password] for authentication (prompt if password is not supplied)').default(env('USER')))
  .addOption(new Option('--password <password>', 'password for authentication (if this option is used, --user option shouldn\'t include password)').default(env('PASSWORD')))
  .addOption(new Option('--cacert <file>', 'verify certificates of TLS-enabled secure servers using this CA bundle').default(env('CACERT')))
  .addOption(new Option('--cert <file>', 'identify secure client using this TLS certificate file').default(env('CERT')))
  .addOption(new Option('--key <file>', 'identify secure client using this TLS key file').default(env('KEY')))
  .addOption(new Option('--insecure-skip-tls-verify [bool]', 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)')
    .default(flagValue(env('INSECURE_SKIP_TLS_VERIFY'))).argParser(flagValue))
  .addOption(new Option('--insecure-transport [bool]', 'disable transport security for client connections')
    .default(env('INSECURE_TRANSPORT') === undefined || flagValue(env('INSECURE_TRANSPORT'))).argParser(flagValue))
  .exitOverride()
  // An unknown flag is reported as etcdctl reports it (see main.ts), not in the parser's words.
  .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: (s, write) => (s.includes('unknown option') ? undefined : write(s)) });

export const globals = (): Globals => program.opts<Globals>();

/** The --endpoints list as given (scheme and all). */
export const endpointList = () => globals().endpoints.split(',').map((e) => e.trim()).filter(Boolean);

/** The command timeout, in milliseconds. */
export const commandTimeoutMs = () => parseDuration(globals().commandTimeout) ?? 5000;

/** gRPC's client keepalive never pings more often than every 10 s, whatever is asked (as etcdctl's gRPC). */
const MIN_KEEPALIVE_MS = 10_000;

/** A client of one endpoint (host:port, http:// or https://) with the global TLS and keepalive flags, not yet logged in. */
function open(endpoint: string, channelOptions: grpc.ChannelOptions = {}): Client {
  const g = globals();
  const { address, credentials: tls } = dialTarget(endpoint, g);
  const keepalive = {
    'grpc.keepalive_time_ms': Math.max(MIN_KEEPALIVE_MS, parseDuration(g.keepaliveTime) ?? 2000),
    'grpc.keepalive_timeout_ms': parseDuration(g.keepaliveTimeout) ?? 6000,
  };
  return connect(address, { ...keepalive, ...channelOptions }, tls);
}

let credentials: Promise<{ name: string; password: string } | undefined> | undefined;

/** Logs `client` in when --user is given (the password is asked for once); closes it on failure. */
async function login(client: Client): Promise<Client> {
  const given = await (credentials ??= credentialsOf(globals()));
  try {
    if (given) await authenticate(client, given, commandTimeoutMs());
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}

/** A client of one endpoint, with the global TLS flags, logged in when --user is given. */
export const dial = (endpoint: string, channelOptions: grpc.ChannelOptions = {}): Promise<Client> => login(open(endpoint, channelOptions));

/** When a dial started now must have connected (--dial-timeout). */
export const dialDeadline = () => Date.now() + (parseDuration(globals().dialTimeout) ?? 2000);

/** Resolves whether the client's connection is up by `deadline`. */
export const connected = (client: Client, deadline: number): Promise<boolean> =>
  new Promise((resolve) => client.raw('etcdserverpb.KV').waitForReady(deadline, (err) => resolve(!err)));

/**
 * A client on the first endpoint that accepts a connection within the dial timeout, for the
 * long-running commands (watch, lock, elect, make-mirror) that hold one connection throughout.
 */
export async function connectFirst(endpoints = endpointList()): Promise<Client> {
  for (const endpoint of endpoints) {
    const client = open(endpoint);
    if (await connected(client, dialDeadline())) return login(client);
    client.close();
  }
  throw new ConnectionError('context deadline exceeded');
}

/** An error's text as etcdctl prints it: etcd's own errors by their text, other gRPC errors as Go prints a status, the client's own as Go's context errors. */
export function errorText(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  // etcd's client waits out the deadline for an endpoint it cannot reach.
  if (e.code === grpc.status.DEADLINE_EXCEEDED || e.code === grpc.status.UNAVAILABLE) return 'context deadline exceeded';
  if (e.code === grpc.status.CANCELLED) return 'context canceled';
  if (typeof e.code === 'number' && e.details !== undefined && !e.details.startsWith('etcdserver: ')) return goStatusText(e.code, e.details);
  return e.details ?? e.message ?? String(err);
}

/**
 * Where etcdctl's printer for a command has no such format it stops with exit 4 (once the
 * request is made); `supported` lists those it has.
 */
export function requireFormat(supported: string[]): string {
  const format = globals().writeOut;
  if (!['simple', 'json', 'fields', 'table', 'protobuf'].includes(format)) throw new UsageError(`unknown output format ${format}`);
  if (!supported.includes(format)) throw new FeatureError(`${format} not supported as output format`);
  return format;
}

/** The formats etcdctl prints KV responses in (and the key a lock or election is held by). */
export const KV_FORMATS = ['simple', 'json', 'fields', 'protobuf'];

/** etcdctl 3.4 crashes on a nil pointer in some printers (e.g. a header the server left out). */
export function nilPointerPanic(): never {
  process.stderr.write('panic: runtime error: invalid memory address or nil pointer dereference\n');
  process.exit(2);
}

/** Runs `call` against the endpoints in order, moving on when one cannot be reached. */
export async function withClient<T>(call: (c: Client, deadlineMs: number) => Promise<T>): Promise<T> {
  const timeout = commandTimeoutMs();
  let last: unknown;
  for (const endpoint of endpointList()) {
    let client: Client | undefined;
    try {
      client = await dial(endpoint);
      return await call(client, timeout);
    } catch (err) {
      last = err;
      if ((err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE) throw err;
    } finally {
      client?.close();
    }
  }
  throw last;
}

/** --user and --password as etcdctl reads them: "name:password", or a prompted password. */
async function credentialsOf(g: Globals): Promise<{ name: string; password: string } | undefined> {
  if (!g.user) return undefined;
  if (g.password !== undefined) return { name: g.user, password: g.password };
  const colon = g.user.indexOf(':');
  if (colon >= 0) return { name: g.user.slice(0, colon), password: g.user.slice(colon + 1) };
  output('Password: ');
  return { name: g.user, password: firstWord(await readStdin()) };
}

/** Logs the client in; as etcdctl, a refused login is a failure to connect, and a server without auth is used as is. */
async function authenticate(client: Client, given: { name: string; password: string }, timeout: number): Promise<void> {
  try {
    const { token } = await client.service('etcdserverpb.Auth').Authenticate!(given, { deadlineMs: timeout });
    client.setToken(token);
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (e.code === grpc.status.UNAVAILABLE) throw err;
    if (e.details === Errors.authNotEnabled.message) return;
    throw new ConnectionError(errorText(err));
  }
}

/** All of standard input. */
export function readStdin(): Promise<string> {
  return new Promise<string>((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => resolve(text));
  });
}

/** The first whitespace-separated word, as Go's fmt.Scanf("%s") reads one. */
export const firstWord = (text: string) => text.trim().split(/\s+/)[0] ?? '';

export const output = (s: string | Uint8Array) => process.stdout.write(s);
export const printOptions = () => ({ format: globals().writeOut, hex: globals().hex });


