// The lease commands: grant, revoke, timetolive, list and keep-alive, printed as etcdctl does.
import * as grpc from '@grpc/grpc-js';
import { requireFormat, ConnectionError, endpointList, output, printOptions, program, UsageError, withClient, dial } from './context.js';
import { goJson, leaseId, protobufBytes } from './printers.js';
import { messageType } from '../protocol/codec.js';

type Req = Record<string, any>;

const parseId = (text: string | undefined, command: string): number => {
  if (text === undefined) throw new UsageError(`${command} command needs 1 argument`);
  const id = parseInt(text, 16);
  if (Number.isNaN(id)) throw new UsageError(`bad lease ID arg (strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax), expecting ID in Hex`);
  return id;
};

/** etcdctl words some failures itself: "failed to revoke lease (<server's message>)". */
async function wrapped<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new Error(`${what} (${(err as { details?: string }).details ?? (err as Error).message})`);
  }
}

/** etcdctl prints some lease answers with the header's fields inlined. */
const flatHeader = (h: Req = {}) => ({ cluster_id: h.cluster_id ?? 0, member_id: h.member_id ?? 0, revision: h.revision ?? 0, raft_term: h.raft_term ?? 0 });

const json = (type: string, res: Req) => output(goJson(messageType(`etcdserverpb.${type}`), res) + '\n');

/** The formats etcdctl prints lease responses in. */
const LEASE_FORMATS = ['simple', 'json', 'fields', 'protobuf'];

/**
 * etcdctl's protobuf output of a lease response: its client's response types embed the header,
 * whose encoding is what gets written, so the header alone.
 */
const protobufHeader = (res: Req) => output(protobufBytes('etcdserverpb.ResponseHeader', res.header ?? {}));

/** The lease commands on the command line. */
export function registerLeaseCommands(): void {
  const lease = program.command('lease').description('Lease related commands');

  lease.command('grant').description('Creates leases').argument('[ttl]')
    .action(async (ttlText: string | undefined) => {
      if (ttlText === undefined) throw new UsageError('lease grant command needs TTL argument');
      const ttl = Number(ttlText);
      if (!/^-?\d+$/.test(ttlText)) throw new UsageError(`bad TTL (strconv.ParseInt: parsing ${JSON.stringify(ttlText)}: invalid syntax)`);
      requireFormat(LEASE_FORMATS);
      const res = await wrapped('failed to grant lease', withClient((c, t) => c.service('etcdserverpb.Lease').LeaseGrant!({ TTL: ttl }, { deadlineMs: t })));
      if (printOptions().format === 'protobuf') protobufHeader(res);
      else if (printOptions().format === 'json') json('LeaseGrantResponse', res);
      else output(`lease ${leaseId(res.ID)} granted with TTL(${res.TTL ?? 0}s)\n`);
    });

  lease.command('revoke').description('Revokes leases').argument('[leaseID]')
    .action(async (idText: string | undefined) => {
      const id = parseId(idText, 'lease revoke');
      requireFormat(LEASE_FORMATS);
      const res = await wrapped('failed to revoke lease', withClient((c, t) => c.service('etcdserverpb.Lease').LeaseRevoke!({ ID: id }, { deadlineMs: t })));
      if (printOptions().format === 'protobuf') protobufHeader(res);
      else if (printOptions().format === 'json') json('LeaseRevokeResponse', res);
      else output(`lease ${leaseId(id)} revoked\n`);
    });

  lease.command('timetolive').description('Get lease information').argument('[leaseID]')
    .option('--keys', 'Get keys attached to this lease')
    .action(async (idText: string | undefined, o: Req) => {
      const id = parseId(idText, 'lease timetolive');
      requireFormat(LEASE_FORMATS);
      const res = await withClient((c, t) => c.service('etcdserverpb.Lease').LeaseTimeToLive!({ ID: id, keys: !!o.keys }, { deadlineMs: t }));
      const ttl = Number(res.TTL ?? 0);
      if (printOptions().format === 'protobuf') return void protobufHeader(res);
      if (printOptions().format === 'json') {
        const keys: Buffer[] = res.keys ?? [];
        output(JSON.stringify({
          ...flatHeader(res.header), id: Number(res.ID ?? 0), ttl, 'granted-ttl': Number(res.grantedTTL ?? 0), keys: keys.length ? keys.map((k) => k.toString('base64')) : null,
        }) + '\n');
        return;
      }
      if (ttl === -1) {
        output(`lease ${leaseId(id)} already expired\n`);
        return;
      }
      const keys = (res.keys ?? []).map((k: Buffer) => k.toString()).join(' ');
      output(`lease ${leaseId(id)} granted with TTL(${res.grantedTTL ?? 0}s), remaining(${ttl}s)${o.keys ? `, attached keys([${keys}])` : ''}\n`);
    });

  lease.command('list').description('List all active leases')
    .action(async () => {
      requireFormat(LEASE_FORMATS);
      const res = await withClient((c, t) => c.service('etcdserverpb.Lease').LeaseLeases!({}, { deadlineMs: t }));
      const leases: Req[] = res.leases ?? [];
      if (printOptions().format === 'protobuf') protobufHeader(res);
      else if (printOptions().format === 'json') output(JSON.stringify({ ...flatHeader(res.header), leases: leases.map((l) => ({ id: Number(l.ID ?? 0) })) }) + '\n');
      else output(`found ${leases.length} leases\n` + leases.map((l) => `${leaseId(l.ID)}\n`).join(''));
    });

  lease.command('keep-alive').description('Keeps leases alive (renew)').argument('[leaseID]')
    .option('--once', 'Resets the keep-alive time to its original value and exits immediately')
    .action(async (idText: string | undefined, o: Req) => {
      const id = parseId(idText, 'lease keep-alive');
      requireFormat(LEASE_FORMATS);
      await keepAlive(id, !!o.once);
    });
}

/** Renews every third of the TTL (as etcd's client), printing each answer, until interrupted. */
async function keepAlive(id: number, once: boolean): Promise<void> {
  const client = await dial(endpointList()[0]!);
  const raw = client.raw('etcdserverpb.Lease') as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<Req, Req> };
  const call = raw.LeaseKeepAlive();
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(timer);
      call.cancel();
      client.close();
      resolve();
    };
    // Interrupted (Ctrl-C), it ends by the signal, as etcdctl does.
    call.on('data', (res: Req) => {
      const ttl = Number(res.TTL ?? 0);
      if (once && ttl <= 0) {
        // As etcd's client: a single renewal of a lease that is gone is an error.
        reject(new ConnectionError('etcdserver: requested lease not found'));
        stop();
        return;
      }
      if (printOptions().format === 'protobuf') protobufHeader(res);
      else if (printOptions().format === 'json') output(JSON.stringify({ ...flatHeader(res.header), ID: Number(res.ID ?? 0), TTL: ttl }) + '\n');
      else if (ttl <= 0) output(`lease ${leaseId(id)} expired or revoked.\n`);
      else output(`lease ${leaseId(id)} keepalived with TTL(${ttl})\n`);
      if (once || ttl <= 0) return stop();
      timer = setTimeout(() => call.write({ ID: id }), Math.max(500, (ttl * 1000) / 3));
    });
    call.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? resolve() : reject(err)));
    call.write({ ID: id });
  });
}
