// What every tsctl command shares: the program with etcdctl's global flags (also as ETCDCTL_* or
// TSCTL_* variables), the client call that fails over between endpoints, output and errors.
import { Command, Option } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { connect, type Client } from '../client/client.js';
import { parseDuration } from '../server/config.js';


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

interface Globals { endpoints: string; dialTimeout: string; commandTimeout: string; writeOut: string; hex: boolean }

export const program = new Command('tsctl')
  .description('A simple command line client for kvd and etcd3.')
  .addOption(new Option('--endpoints <list>', 'gRPC endpoints').default(env('ENDPOINTS') ?? '127.0.0.1:2379'))
  .addOption(new Option('--dial-timeout <duration>', 'dial timeout for client connections').default(env('DIAL_TIMEOUT') ?? '2s'))
  .addOption(new Option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout)').default(env('COMMAND_TIMEOUT') ?? '5s'))
  .addOption(new Option('-w, --write-out <format>', 'set the output format (fields, json, protobuf, simple, table)').default(env('WRITE_OUT') ?? 'simple'))
  .addOption(new Option('--hex', 'print byte strings as hex encoded strings').default(env('HEX') === 'true'))
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

export const globals = (): Globals => program.opts<Globals>();

/** The --endpoints list as given (scheme and all). */
export const endpointList = () => globals().endpoints.split(',').map((e) => e.trim()).filter(Boolean);

/** An endpoint as the gRPC client dials it. */
export const dialTarget = (endpoint: string) => endpoint.replace(/^https?:\/\//, '');

/** An error's text as etcdctl prints it: the server's message, or the client's own. */
export function errorText(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  // etcd's client waits out the deadline for an endpoint it cannot reach.
  if (e.code === grpc.status.DEADLINE_EXCEEDED || e.code === grpc.status.UNAVAILABLE) return 'context deadline exceeded';
  if (e.code === grpc.status.CANCELLED) return 'context canceled';
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

export const commandTimeoutMs = () => parseDuration(globals().commandTimeout) ?? 5000;

/** Runs `call` against the endpoints in order, moving on when one cannot be reached. */
export async function withClient<T>(call: (c: Client, deadlineMs: number) => Promise<T>): Promise<T> {
  const endpoints = endpointList().map(dialTarget);
  const timeout = commandTimeoutMs();
  let last: unknown;
  for (const endpoint of endpoints) {
    const client = connect(endpoint);
    try {
      return await call(client, timeout);
    } catch (err) {
      last = err;
      if ((err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE) throw err;
    } finally {
      client.close();
    }
  }
  throw last;
}

/**
 * A client on the first endpoint that accepts a connection within the dial timeout, for the
 * long-running commands (watch, lock, elect, make-mirror) that hold one connection throughout.
 */
export async function connectFirst(endpoints = endpointList()): Promise<Client> {
  const dialMs = parseDuration(globals().dialTimeout) ?? 2000;
  for (const endpoint of endpoints) {
    const client = connect(dialTarget(endpoint));
    const ready = await new Promise<boolean>((resolve) => client.raw('etcdserverpb.KV').waitForReady(Date.now() + dialMs, (err) => resolve(!err)));
    if (ready) return client;
    client.close();
  }
  throw new ConnectionError('context deadline exceeded');
}

export const output = (s: string | Uint8Array) => process.stdout.write(s);
export const printOptions = () => ({ format: globals().writeOut, hex: globals().hex });

/** The KV commands print simple, json or fields; etcdctl refuses a table for them. */
export function checkFormat(): void {
  const format = globals().writeOut;
  if (format === 'table') throw new FeatureError('table not supported as output format');
  if (!['simple', 'json', 'fields'].includes(format)) throw new UsageError(`unknown output format ${format}`);
}

