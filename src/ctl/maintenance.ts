// Maintenance commands: endpoint health, status and hashkv (each endpoint of --endpoints, or of
// the member list with --cluster), alarm list and disarm, defrag and move-leader, printed as
// etcdctl 3.4 does in each of its formats.
import type { Command } from 'commander';
import {
  commandTimeoutMs, dial, endpointList, errorText, nilPointerPanic, output, program, requireFormat, UsageError, withClient,
} from './context.js';
import { fieldsHeader, goJson, goQuote, protobufBytes } from './printers.js';
import { renderTable } from './table.js';
import { messageType, root } from '../protocol/codec.js';
import type { Client } from '../client/client.js';
import { humanBytes } from './humanize.js';
import { Errors } from '../protocol/errors.js';

type Res = Record<string, any>;

/** A duration as Go prints one: 950ns, 12.5µs, 4.549605ms, 1.2s. */
export function goDuration(ns: number): string {
  const trim = (x: number) => x.toFixed(6).replace(/\.?0+$/, '');
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  return `${trim(ns / 1e9)}s`;
}

/** Member IDs, as etcdctl prints them in text: hexadecimal. */
const hex = (id: number | undefined) => Number(id ?? 0).toString(16);

/** A call on one endpoint's own connection, as etcdctl's per-endpoint maintenance calls. */
async function onEndpoint<T>(endpoint: string, call: (c: Client, deadlineMs: number) => Promise<T>): Promise<T> {
  const client = await dial(endpoint);
  try {
    return await call(client, commandTimeoutMs());
  } finally {
    client.close();
  }
}

/** The endpoints a command works on: --endpoints, or with --cluster every member's client URLs. */
export async function targetEndpoints(cluster: boolean): Promise<string[]> {
  if (!cluster) return endpointList();
  try {
    const res = await withClient((c, t) => c.cluster.MemberList!({}, { deadlineMs: t }));
    return (res.members ?? []).flatMap((m: Res) => m.clientURLs ?? []);
  } catch (err) {
    throw new Error(`failed to fetch endpoints from etcd cluster member list: ${errorText(err)}`);
  }
}

/** Prints per-endpoint results in `format`; `fields` gives each one's lines. */
function printPerEndpoint(format: string, json: () => unknown, header: string[], rows: string[][], fields: () => string[][]): void {
  if (format === 'json') output(JSON.stringify(json()) + '\n');
  else if (format === 'table') output(renderTable(header, rows));
  else if (format === 'fields') output(fields().map((lines) => lines.join('\n') + '\n\n').join(''));
  else output(rows.map((r) => r.join(', ') + '\n').join(''));
}

function registerEndpointCommands(): void {
  const endpoint = program.command('endpoint').description('Endpoint related commands');
  const CLUSTER = ['--cluster', 'use all endpoints from the cluster member list'] as const;

  endpoint.command('health').description('Checks the healthiness of endpoints specified in `--endpoints` flag')
    .option(...CLUSTER)
    .action(async (o: { cluster?: boolean }) => {
      const endpoints = await targetEndpoints(!!o.cluster);
      // As etcd's: a linearizable read of the key "health" through each endpoint, in parallel,
      // reported in the order the answers come.
      const results: { endpoint: string; health: boolean; took: string; error?: string }[] = [];
      await Promise.all(endpoints.map(async (ep) => {
        const started = process.hrtime.bigint();
        const took = () => goDuration(Number(process.hrtime.bigint() - started));
        try {
          await onEndpoint(ep, (c, t) => c.kv.Range!({ key: Buffer.from('health') }, { deadlineMs: t }));
          results.push({ endpoint: ep, health: true, took: took() });
        } catch (err) {
          // As etcdctl: a member that refuses the read for want of permission is answering, so healthy.
          if ((err as { details?: string }).details === Errors.permissionDenied.message) results.push({ endpoint: ep, health: true, took: took() });
          else results.push({ endpoint: ep, health: false, took: took(), error: errorText(err) });
        }
      }));
      const format = requireFormat(['simple', 'json', 'fields', 'table']);
      if (format === 'simple') {
        // As etcdctl 3.4: the simple format reports every endpoint on standard error.
        for (const r of results) {
          if (r.health) process.stderr.write(`${r.endpoint} is healthy: successfully committed proposal: took = ${r.took}\n`);
          else process.stderr.write(`${r.endpoint} is unhealthy: failed to commit proposal: ${r.error}\n`);
        }
      } else {
        printPerEndpoint(format, () => results, ['endpoint', 'health', 'took', 'error'],
          results.map((r) => [r.endpoint, String(r.health), r.took, r.error ?? '']),
          () => results.map((r) => [`"Endpoint" : ${goQuote(Buffer.from(r.endpoint))}`, `"Health" : ${r.health}`, `"Took" : ${r.took}`, `"Error" : ${r.error ?? ''}`]));
      }
      if (results.some((r) => !r.health)) throw new Error('unhealthy cluster');
    });

  endpoint.command('status').description('Prints out the status of endpoints specified in `--endpoints` flag')
    .option(...CLUSTER)
    .action(async (o: { cluster?: boolean }) => {
      const statuses: { ep: string; res: Res }[] = [];
      let failed = false;
      for (const ep of await targetEndpoints(!!o.cluster)) {
        try {
          statuses.push({ ep, res: await onEndpoint(ep, (c, t) => c.maintenance.Status!({}, { deadlineMs: t })) });
        } catch (err) {
          failed = true;
          process.stderr.write(`Failed to get the status of endpoint ${ep} (${errorText(err)})\n`);
        }
      }
      const format = requireFormat(['simple', 'json', 'fields', 'table']);
      const type = messageType('etcdserverpb.StatusResponse');
      printPerEndpoint(format, () => statuses.map(({ ep, res }) => ({ Endpoint: ep, Status: JSON.parse(goJson(type, res)) })),
        ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'],
        statuses.map(({ ep, res }) => [
          ep, hex(res.header?.member_id), res.version ?? '', humanBytes(Number(res.dbSize ?? 0)), String(Number(res.leader ?? 0) === Number(res.header?.member_id ?? 0)),
          String(!!res.isLearner), String(res.raftTerm ?? 0), String(res.raftIndex ?? 0), String(res.raftAppliedIndex ?? 0), (res.errors ?? []).join(', '),
        ]),
        () => statuses.map(({ ep, res }) => [
          ...fieldsHeader(res.header ?? {}), `"Version" : ${goQuote(Buffer.from(res.version ?? ''))}`, `"DBSize" : ${res.dbSize ?? 0}`, `"Leader" : ${res.leader ?? 0}`,
          `"IsLearner" : ${!!res.isLearner}`, `"RaftIndex" : ${res.raftIndex ?? 0}`, `"RaftTerm" : ${res.raftTerm ?? 0}`, `"RaftAppliedIndex" : ${res.raftAppliedIndex ?? 0}`,
          `"Errors" : [${(res.errors ?? []).join(' ')}]`, `"Endpoint" : ${goQuote(Buffer.from(ep))}`,
        ]));
      if (failed) process.exitCode = 1;
    });

  endpoint.command('hashkv').description('Prints the KV history hash for each endpoint in --endpoints')
    .option(...CLUSTER)
    .option('--rev <revision>', 'maximum revision to hash (default: all revisions)', '0')
    .action(async (o: { cluster?: boolean; rev: string }) => {
      const hashes: { ep: string; res: Res }[] = [];
      let last: unknown;
      for (const ep of await targetEndpoints(!!o.cluster)) {
        try {
          // etcd 3.4's HashKVResponse has no hash_revision yet: its etcdctl never prints one.
          const { hash_revision: _newer, ...res } = await onEndpoint(ep, (c, t) => c.maintenance.HashKV!({ revision: Number(o.rev) }, { deadlineMs: t }));
          hashes.push({ ep, res });
        } catch (err) {
          last = err;
          process.stderr.write(`Failed to get the hash of endpoint ${ep} (${errorText(err)})\n`);
        }
      }
      const format = requireFormat(['simple', 'json', 'fields', 'table']);
      const type = messageType('etcdserverpb.HashKVResponse');
      printPerEndpoint(format, () => hashes.map(({ ep, res }) => ({ Endpoint: ep, HashKV: JSON.parse(goJson(type, res)) })), ['endpoint', 'hash'],
        hashes.map(({ ep, res }) => [ep, String(res.hash ?? 0)]),
        () => hashes.map(({ ep, res }) => [...fieldsHeader(res.header ?? {}), `"Endpoint" : ${goQuote(Buffer.from(ep))}`, `"Hash" : ${res.hash ?? 0}`]));
      if (last) throw new Error(errorText(last));
    });
}

/** An alarm response in etcdctl's formats; etcd's client answers a disarm-all without a header. */
function printAlarms(res: Res): void {
  const format = requireFormat(['simple', 'json', 'fields', 'protobuf']);
  const alarms: Res[] = res.alarms ?? [];
  const typeName = (a: Res) => root.lookupEnum('etcdserverpb.AlarmType').valuesById[a.alarm ?? 0] ?? String(a.alarm);
  if (format === 'json') output(goJson(messageType('etcdserverpb.AlarmResponse'), res) + '\n');
  else if (format === 'protobuf') output(protobufBytes('etcdserverpb.AlarmResponse', res));
  else if (format === 'fields') {
    if (!res.header) nilPointerPanic();
    output([...fieldsHeader(res.header), ...alarms.flatMap((a) => [`"MemberID" : ${a.memberID ?? 0}`, `"AlarmType" : ${typeName(a)}`, ''])].join('\n') + '\n');
  } else {
    // Go's %+v of an AlarmMember: its compact text form, zero fields left out.
    output(alarms.map((a) => `${a.memberID ? `memberID:${a.memberID} ` : ''}${a.alarm ? `alarm:${typeName(a)} ` : ''}\n`).join(''));
  }
}

function registerAlarmCommands(): void {
  const alarm = program.command('alarm').description('Alarm related commands');
  const noArgs = (cmd: Command, name: string) => {
    if (cmd.args.length) throw new UsageError(`alarm ${name} command accepts no arguments`);
  };
  alarm.command('list').description('Lists all alarms')
    .action(async (_o: unknown, cmd: Command) => {
      noArgs(cmd, 'list');
      printAlarms(await withClient((c, t) => c.maintenance.Alarm!({ action: 0 }, { deadlineMs: t })));
    });
  alarm.command('disarm').description('Disarms all alarms')
    .action(async (_o: unknown, cmd: Command) => {
      noArgs(cmd, 'disarm');
      // As etcd's client: every listed alarm is deactivated in turn, the answers gathered.
      const disarmed = await withClient(async (c, t) => {
        const listed: Res[] = (await c.maintenance.Alarm!({ action: 0 }, { deadlineMs: t })).alarms ?? [];
        const out: Res[] = [];
        for (const a of listed) out.push(...((await c.maintenance.Alarm!({ action: 2, memberID: a.memberID, alarm: a.alarm }, { deadlineMs: t })).alarms ?? []));
        return out;
      });
      printAlarms(disarmed.length ? { alarms: disarmed } : {});
    });
}

function registerDefragCommand(): void {
  program.command('defrag').description('Defragments the storage of the etcd members with given endpoints')
    .option('--cluster', 'use all endpoints from the cluster member list')
    .option('--data-dir <dir>', 'Optional. If present, defragments a data directory not in use by etcd.')
    .action(async (o: { cluster?: boolean; dataDir?: string }) => {
      if (o.dataDir) {
        // kvd's data directory is not etcd's bolt file: it compacts itself while it runs.
        process.stderr.write(`Failed to defragment etcd data[${o.dataDir}] (offline defragmentation of a data directory is not supported)\n`);
        process.exitCode = 1;
        return;
      }
      let failures = 0;
      for (const ep of await targetEndpoints(!!o.cluster)) {
        try {
          await onEndpoint(ep, (c, t) => c.maintenance.Defragment!({}, { deadlineMs: t }));
          output(`Finished defragmenting etcd member[${ep}]\n`);
        } catch (err) {
          failures++;
          process.stderr.write(`Failed to defragment etcd member[${ep}] (${errorText(err)})\n`);
        }
      }
      if (failures) process.exitCode = 1;
    });
}

function registerMoveLeaderCommand(): void {
  program.command('move-leader').description('Transfers leadership to another etcd cluster member.')
    .argument('[transferee-member-id]')
    .action(async (targetText: string | undefined, _o: unknown, cmd: Command) => {
      if (targetText === undefined || cmd.args.length !== 1) throw new UsageError('move-leader command needs 1 argument');
      if (!/^[0-9a-fA-F]+$/.test(targetText)) throw new UsageError(`strconv.ParseUint: parsing ${JSON.stringify(targetText)}: invalid syntax`);
      const target = parseInt(targetText, 16);
      const endpoints = endpointList();
      // As etcdctl: the endpoints are asked in order until one is the leader, which is told to hand over.
      for (const ep of endpoints) {
        const status = await onEndpoint(ep, (c, t) => c.maintenance.Status!({}, { deadlineMs: t })).catch((err) => {
          throw new Error(errorText(err));
        });
        if (Number(status.header?.member_id ?? 0) !== Number(status.leader ?? 0)) continue;
        const res = await onEndpoint(ep, (c, t) => c.maintenance.MoveLeader!({ targetID: target }, { deadlineMs: t })).catch((err) => {
          throw new Error(errorText(err));
        });
        const format = requireFormat(['simple', 'json', 'protobuf']);
        if (format === 'json') output(goJson(messageType('etcdserverpb.MoveLeaderResponse'), res) + '\n');
        else if (format === 'protobuf') output(protobufBytes('etcdserverpb.MoveLeaderResponse', res));
        else output(`Leadership transferred from ${hex(status.leader)} to ${hex(target)}\n`);
        return;
      }
      throw new UsageError(`no leader endpoint given at [${endpoints.join(' ')}]`);
    });
}

export function registerMaintenanceCommands(): void {
  registerEndpointCommands();
  registerAlarmCommands();
  registerDefragCommand();
  registerMoveLeaderCommand();
}
