// What every tsctl command shares: the program with etcdctl's global flags (also as ETCDCTL_* or
// TSCTL_* variables), the client call that fails over between endpoints, output and errors.
import { Command, Option } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { connect, type Client } from '../client/client.js';
import { parseDuration } from '../server/config.js';
import { dialTarget } from './security.js';


/** etcdctl's exit codes. */
export const EXIT_ERROR = 1;
export const EXIT_BAD_CONNECTION = 2;
export const EXIT_INVALID_INPUT = 3;
export const EXIT_BAD_FEATURE = 4;
export const EXIT_BAD_ARGS = 128;

export class UsageError extends Error {}
export class FeatureError extends Error {}
export class InputError extends Error {}
export class ConnectionError extends Error {}

const env = (name: string) => process.env[`TSCTL_${name}`] ?? process.env[`ETCDCTL_${name}`];

interface Globals {
  endpoints: string; dialTimeout: string; commandTimeout: string; writeOut: string; hex: boolean;
  cacert?: string; cert?: string; key?: string; insecureSkipTlsVerify: boolean; insecureTransport: boolean;
}

const flagValue = (v: string | undefined) => v !== undefined && v !== 'false' && v !== '0';

export const program = new Command('tsctl')
  .description('A simple command line client for kvd and etcd3.')
  .addOption(new Option('--endpoints <list>', 'gRPC endpoints').default(env('ENDPOINTS') ?? '127.0.0.1:2379'))
  .addOption(new Option('--dial-timeout <duration>', 'dial timeout for client connections').default(env('DIAL_TIMEOUT') ?? '2s'))
  .addOption(new Option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout)').default(env('COMMAND_TIMEOUT') ?? '5s'))
  .addOption(new Option('-w, --write-out <format>', 'set the output format (fields, json, simple)').default(env('WRITE_OUT') ?? 'simple'))
  .addOption(new Option('--hex', 'print byte strings as hex encoded strings').default(env('HEX') === 'true'))
  .addOption(new Option('--cacert <file>', 'verify certificates of TLS-enabled secure servers using this CA bundle').default(env('CACERT')))
  .addOption(new Option('--cert <file>', 'identify secure client using this TLS certificate file').default(env('CERT')))
  .addOption(new Option('--key <file>', 'identify secure client using this TLS key file').default(env('KEY')))
  .addOption(new Option('--insecure-skip-tls-verify [bool]', 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)')
    .default(flagValue(env('INSECURE_SKIP_TLS_VERIFY'))).argParser(flagValue))
  .addOption(new Option('--insecure-transport [bool]', 'disable transport security for client connections')
    .default(env('INSECURE_TRANSPORT') === undefined || flagValue(env('INSECURE_TRANSPORT'))).argParser(flagValue))
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

export const globals = (): Globals => program.opts<Globals>();

/** A client of one endpoint (host:port, http:// or https://) with the global TLS flags. */
export function dial(endpoint: string): Client {
  const { address, credentials } = dialTarget(endpoint, globals());
  return connect(address, {}, credentials);
}

/** Runs `call` against the endpoints in order, moving on when one cannot be reached. */
export async function withClient<T>(call: (c: Client, deadlineMs: number) => Promise<T>): Promise<T> {
  const g = globals();
  const endpoints = g.endpoints.split(',').map((e) => e.trim()).filter(Boolean);
  const timeout = parseDuration(g.commandTimeout) ?? 5000;
  let last: unknown;
  for (const endpoint of endpoints) {
    const client = dial(endpoint);
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

export const output = (s: string) => process.stdout.write(s);
export const printOptions = () => ({ format: globals().writeOut, hex: globals().hex });

/** The KV commands print simple, json or fields; etcdctl refuses a table for them. */
export function checkFormat(): void {
  const format = globals().writeOut;
  if (format === 'table') throw new FeatureError('table not supported as output format');
  if (!['simple', 'json', 'fields'].includes(format)) throw new UsageError(`unknown output format ${format}`);
}

