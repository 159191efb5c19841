// Cluster and maintenance commands: compaction, member list and endpoint health, printed as
// etcdctl does.
import { checkFormat, globals, output, printOptions, program, UsageError, withClient, dial } from './context.js';
import { goJson, goQuote } from './printers.js';
import { messageType } from '../protocol/codec.js';
import { Errors } from '../protocol/errors.js';
import type { Client } from '../client/client.js';

type Req = Record<string, any>;

/** A duration as Go prints one: 950ns, 12.5µs, 4.549605ms, 1.2s. */
export function goDuration(ns: number): string {
  const trim = (x: number) => x.toFixed(6).replace(/\.?0+$/, '');
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  return `${trim(ns / 1e9)}s`;
}

export function registerClusterCommands(): void {
  program.command('compaction').description('Compacts the event history in etcd')
    .argument('[revision]')
    .option('--physical', 'wait for the compaction to physically remove the compacted keys')
    .action(async (revText: string | undefined, o: Req) => {
      if (revText === undefined) throw new UsageError('compaction command needs 1 argument');
      if (!/^-?\d+$/.test(revText)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(revText)}: invalid syntax`);
      const revision = Number(revText);
      await withClient((c, t) => c.kv.Compact!({ revision, physical: !!o.physical }, { deadlineMs: t }));
      output(`compacted revision ${revision}\n`);
    });

  const member = program.command('member').description('Membership related commands');
  member.command('list').description('Lists all members in the cluster')
    .action(async () => {
      const format = printOptions().format;
      if (format !== 'simple' && format !== 'json' && format !== 'fields') checkFormat();
      const res = await withClient((c, t) => c.cluster.MemberList!({}, { deadlineMs: t }));
      const members: Req[] = res.members ?? [];
      if (format === 'json') return void output(goJson(messageType('etcdserverpb.MemberListResponse'), res) + '\n');
      if (format === 'fields') {
        const h = res.header ?? {};
        const lines = [`"ClusterID" : ${h.cluster_id ?? 0}`, `"MemberID" : ${h.member_id ?? 0}`, `"Revision" : ${h.revision ?? 0}`, `"RaftTerm" : ${h.raft_term ?? 0}`];
        for (const m of members) {
          lines.push(`"ID" : ${m.ID ?? 0}`, `"Name" : ${goQuote(Buffer.from(m.name ?? ''))}`);
          for (const u of m.peerURLs ?? []) lines.push(`"PeerURL" : ${goQuote(Buffer.from(u))}`);
          for (const u of m.clientURLs ?? []) lines.push(`"ClientURL" : ${goQuote(Buffer.from(u))}`);
          lines.push(`"IsLearner" : ${!!m.isLearner}`);
        }
        return void output(lines.join('\n') + '\n\n');
      }
      output(members.map((m) => [
        Number(m.ID ?? 0).toString(16), m.name ? 'started' : 'unstarted', m.name ?? '', (m.peerURLs ?? []).join(','), (m.clientURLs ?? []).join(','), String(!!m.isLearner),
      ].join(', ') + '\n').join(''));
    });

  const endpoint = program.command('endpoint').description('Endpoint related commands');
  endpoint.command('health').description('Checks the healthiness of endpoints specified in `--endpoints` flag')
    .action(async () => {
      const endpoints = globals().endpoints.split(',').map((e) => e.trim()).filter(Boolean);
      // As etcd's: a linearizable read of the key "health" through each endpoint, in parallel.
      const results = await Promise.all(endpoints.map(async (ep) => {
        const started = process.hrtime.bigint();
        let client: Client | undefined;
        try {
          client = await dial(ep);
          await client.kv.Range!({ key: Buffer.from('health') }, { deadlineMs: 5000 });
          return { endpoint: ep, health: true, took: goDuration(Number(process.hrtime.bigint() - started)) };
        } catch (err) {
          const e = err as { code?: number; details?: string };
          // As etcdctl: a member that refuses the read for want of permission is answering, so healthy.
          if (e.details === Errors.permissionDenied.message) return { endpoint: ep, health: true, took: goDuration(Number(process.hrtime.bigint() - started)) };
          const error = e.code === 4 ? 'context deadline exceeded' : e.details ?? String(err);
          return { endpoint: ep, health: false, took: goDuration(Number(process.hrtime.bigint() - started)), error };
        } finally {
          client?.close();
        }
      }));
      if (printOptions().format === 'json') output(JSON.stringify(results) + '\n');
      else {
        // As etcdctl 3.4: the simple format reports every endpoint on standard error.
        for (const r of results) {
          if (r.health) process.stderr.write(`${r.endpoint} is healthy: successfully committed proposal: took = ${r.took}\n`);
          else process.stderr.write(`${r.endpoint} is unhealthy: failed to commit proposal: ${r.error}\n`);
        }
      }
      if (results.some((r) => !r.health)) throw new Error('unhealthy cluster');
    });
}
