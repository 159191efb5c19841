// etcdctl's lock and elect on kvd's v3lockpb and v3electionpb services: a session lease kept
// alive while the command holds the lock or leads (or observes), released on Ctrl-C.
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { connectFirst, KV_FORMATS, requireFormat, errorText, output, printOptions, program, UsageError } from './context.js';
import { printGet } from './printers.js';
import type { Client } from '../client/client.js';

type Res = Record<string, any>;

/** A lease granted for the command and renewed every third of its TTL, as etcd's sessions are. */
interface Session { lease: number; expired: Promise<void>; close(): void }

async function openSession(client: Client, ttl: number): Promise<Session> {
  const granted = await client.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl });
  const lease = Number(granted.ID);
  const raw = client.raw('etcdserverpb.Lease') as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<Res, Res> };
  const call = raw.LeaseKeepAlive();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    call.on('data', (res: Res) => {
      if (Number(res.TTL ?? 0) <= 0) return resolve();
      timer = setTimeout(() => call.write({ ID: lease }), (Number(granted.TTL) * 1000) / 3);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) resolve();
    });
  });
  call.write({ ID: lease });
  return { lease, expired, close: () => (clearTimeout(timer), call.cancel()) };
}

/** Resolves on the first SIGINT or SIGTERM (etcdctl's lock and elect end cleanly on either). */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** A blocking call that an interrupt cancels: it then fails as etcd's client does, "context canceled". */
async function cancellable<T>(start: (handle: { cancel?: () => void }) => Promise<T>, interrupt: Promise<void>): Promise<T> {
  const handle: { cancel?: () => void } = {};
  const call = start(handle);
  void interrupt.then(() => handle.cancel?.());
  try {
    return await call;
  } catch (err) {
    throw new Error(errorText(err));
  }
}

/** A unary call whose gRPC call object is kept, so that it can be cancelled. */
function unaryCall(client: Client, service: string, method: string, req: Res, handle: { cancel?: () => void }): Promise<Res> {
  const raw = client.raw(service) as unknown as Record<string, (req: Res, cb: (err: Error | null, res: Res) => void) => grpc.ClientUnaryCall>;
  return new Promise((resolve, reject) => {
    const call = raw[method]!.call(client.raw(service), req, (err, res) => (err ? reject(err) : resolve(res)));
    handle.cancel = () => call.cancel();
  });
}

/** The key the lock or leadership is held by, printed as `get` prints it. */
async function printKey(client: Client, key: Buffer): Promise<Res> {
  const res = await client.kv.Range!({ key });
  requireFormat(KV_FORMATS);
  output(printGet(res, { ...printOptions(), keysOnly: false, valueOnly: false }));
  return res;
}

async function lock(name: string, command: string[], ttl: number): Promise<void> {
  const client = await connectFirst();
  const interrupt = interrupted();
  const session = await openSession(client, ttl);
  const locked = await cancellable((h) => unaryCall(client, 'v3lockpb.Lock', 'Lock', { name: Buffer.from(name), lease: session.lease }, h), interrupt);
  const key: Buffer = locked.key;
  const unlock = () => client.service('v3lockpb.Lock').Unlock!({ key });
  if (command.length) {
    // The command runs while the lock is held, told the key and revision it holds it by.
    const env = { ETCD_LOCK_KEY: key.toString(), ETCD_LOCK_REV: String(locked.header?.revision ?? 0), ...process.env };
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
    const failure = await new Promise<string | undefined>((resolve) => child
      .once('error', () => resolve(`exec: ${JSON.stringify(command[0])}: executable file not found in $PATH`))
      .once('exit', (code, signal) => resolve(code === 0 ? undefined : signal ? `signal: ${signal}` : `exit status ${code}`)));
    await unlock();
    session.close();
    client.close();
    if (failure) throw new Error(failure);
    return;
  }
  if (!(await printKey(client, key)).kvs?.length) throw new Error('lock lost on init');
  const how = await Promise.race([interrupt.then(() => 'interrupted'), session.expired.then(() => 'expired')]);
  if (how === 'expired') throw new Error('session expired');
  await unlock();
  session.close();
  client.close();
}

async function campaign(name: string, proposal: string): Promise<void> {
  const client = await connectFirst();
  const interrupt = interrupted();
  // etcd's sessions default to a 60 second TTL.
  const session = await openSession(client, 60);
  const req = { name: Buffer.from(name), lease: session.lease, value: Buffer.from(proposal) };
  const { leader } = await cancellable((h) => unaryCall(client, 'v3electionpb.Election', 'Campaign', req, h), interrupt);
  await printKey(client, leader.key);
  const how = await Promise.race([interrupt.then(() => 'interrupted'), session.expired.then(() => 'expired')]);
  if (how === 'expired') throw new Error('elect: session expired');
  await client.service('v3electionpb.Election').Resign!({ leader });
  session.close();
  client.close();
}

async function observe(name: string): Promise<void> {
  const client = await connectFirst();
  const interrupt = interrupted();
  const session = await openSession(client, 60);
  const raw = client.raw('v3electionpb.Election') as unknown as { Observe(req: Res): grpc.ClientReadableStream<Res> };
  const stream = raw.Observe({ name: Buffer.from(name) });
  let unprintable: unknown;
  const lost = new Promise<void>((resolve) => {
    stream.on('data', (res: Res) => {
      try {
        requireFormat(KV_FORMATS);
        output(printGet({ header: res.header, kvs: [res.kv] }, { ...printOptions(), keysOnly: false, valueOnly: false }));
      } catch (err) {
        unprintable = err;
        resolve();
      }
    });
    stream.on('error', () => resolve()).on('end', () => resolve());
  });
  const how = await Promise.race([interrupt.then(() => 'interrupted'), lost.then(() => 'lost')]);
  if (unprintable) throw unprintable;
  stream.cancel();
  session.close();
  client.close();
  if (how === 'lost') throw new Error('elect: observer lost');
}

export function registerConcurrencyCommands(): void {
  program.command('lock').description('Acquires a named lock')
    .argument('[lockname]').argument('[exec-command...]')
    .option('--ttl <seconds>', 'timeout for session', '10')
    .action(async (name: string | undefined, command: string[], o: { ttl: string }) => {
      if (name === undefined) throw new UsageError('lock takes a lock name argument and an optional command to execute');
      await lock(name, command, Number(o.ttl));
    });

  program.command('elect').description('Observes and participates in leader election')
    .argument('[election-name]').argument('[proposal]')
    .option('-l, --listen', 'observation mode')
    .action(async (name: string | undefined, proposal: string | undefined, o: { listen?: boolean }, cmd) => {
      if (name === undefined || cmd.args.length > 2) throw new UsageError('elect takes one election name argument and an optional proposal argument');
      if (proposal === undefined) {
        if (!o.listen) throw new UsageError('no proposal argument but -l not set');
        return observe(name);
      }
      if (o.listen) throw new UsageError('proposal given but -l is set');
      return campaign(name, proposal);
    });
}
