// Cluster commands: compaction and the member commands (add, remove, update, promote, list),
// printed as etcdctl 3.4 does.
import type { Command } from 'commander';
import { globals, nilPointerPanic, output, program, requireFormat, UsageError, withClient } from './context.js';
import { fieldsHeader, goJson, goQuote, protobufBytes } from './printers.js';
import { renderTable } from './table.js';
import { messageType } from '../protocol/codec.js';

type Req = Record<string, any>;

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

  registerMemberCommands();
}

/** A member ID argument: hexadecimal, as etcdctl parses it. */
function memberId(args: string[]): number {
  if (args.length !== 1) throw new UsageError('member ID is not provided');
  if (!/^[0-9a-fA-F]+$/.test(args[0]!)) throw new UsageError(`bad member ID arg (strconv.ParseUint: parsing ${JSON.stringify(args[0])}: invalid syntax), expecting ID in Hex`);
  return parseInt(args[0]!, 16);
}

/** An ID as Go's %16x prints it: hexadecimal, padded with spaces to 16 columns. */
const hex16 = (id: number | undefined) => Number(id ?? 0).toString(16).padStart(16, ' ');

/** A membership change's answer: one line in the simple format, the response in json or protobuf. */
function printMemberChange(type: string, res: Req, line: string): void {
  const format = requireFormat(['simple', 'json', 'protobuf']);
  if (format === 'json') output(goJson(messageType(`etcdserverpb.${type}`), res) + '\n');
  else if (format === 'protobuf') output(protobufBytes(`etcdserverpb.${type}`, res));
  else output(line);
}

const peerUrls = (text: string | undefined) => {
  if (!text) throw new UsageError('member peer urls not provided');
  return text.split(',');
};

function registerMemberCommands(): void {
  const member = program.command('member').description('Membership related commands');

  member.command('add').description('Adds a member into the cluster')
    .argument('[memberName]')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the new member.')
    .option('--learner', 'indicates if the new member is raft learner')
    .action(async (_name: string | undefined, o: Req, cmd: Command) => {
      const args = cmd.args;
      if (args.length < 1) throw new UsageError('member name not provided');
      if (args.length > 1) {
        const hints = args.filter((a) => a.toLowerCase().startsWith('http')).map((a) => `, did you mean --peer-urls=${a}`);
        throw new UsageError(`too many arguments${hints.join('')}`);
      }
      const name = args[0]!;
      const urls = peerUrls(o.peerUrls);
      const res = await withClient((c, t) => c.cluster.MemberAdd!({ peerURLs: urls, isLearner: !!o.learner }, { deadlineMs: t }));
      const added = Number(res.member?.ID ?? 0);
      printMemberChange('MemberAddResponse', res, `Member ${hex16(added)} added to cluster ${hex16(res.header?.cluster_id)}\n`);
      if (globals().writeOut !== 'simple') return;
      // What the new member is to be started with, as etcdctl prints it.
      const initial = (res.members ?? []).flatMap((m: Req) => (m.peerURLs ?? []).map((u: string) => `${Number(m.ID ?? 0) === added ? name : m.name ?? ''}=${u}`));
      const q = (t: string) => goQuote(Buffer.from(t));
      output(`\nETCD_NAME=${q(name)}\nETCD_INITIAL_CLUSTER=${q(initial.join(','))}\nETCD_INITIAL_ADVERTISE_PEER_URLS=${q(o.peerUrls)}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`);
    });

  member.command('remove').description('Removes a member from the cluster')
    .argument('[memberID]')
    .action(async (_id: string | undefined, _o: Req, cmd: Command) => {
      const id = memberId(cmd.args);
      const res = await withClient((c, t) => c.cluster.MemberRemove!({ ID: id }, { deadlineMs: t }));
      printMemberChange('MemberRemoveResponse', res, `Member ${hex16(id)} removed from cluster ${hex16(res.header?.cluster_id)}\n`);
    });

  member.command('update').description('Updates a member in the cluster')
    .argument('[memberID]')
    .option('--peer-urls <urls>', 'comma separated peer URLs for the updated member.')
    .action(async (_id: string | undefined, o: Req, cmd: Command) => {
      const id = memberId(cmd.args);
      const urls = peerUrls(o.peerUrls);
      const res = await withClient((c, t) => c.cluster.MemberUpdate!({ ID: id, peerURLs: urls }, { deadlineMs: t }));
      printMemberChange('MemberUpdateResponse', res, `Member ${hex16(id)} updated in cluster ${hex16(res.header?.cluster_id)}\n`);
    });

  member.command('promote').description('Promotes a non-voting member in the cluster')
    .argument('[memberID]')
    .action(async (_id: string | undefined, _o: Req, cmd: Command) => {
      const id = memberId(cmd.args);
      const res = await withClient((c, t) => c.cluster.MemberPromote!({ ID: id }, { deadlineMs: t }));
      // etcdctl 3.4 has a promote printer for the simple format only.
      if (globals().writeOut !== 'simple') nilPointerPanic();
      output(`Member ${hex16(id)} promoted in cluster ${hex16(res.header?.cluster_id)}\n`);
    });

  member.command('list').description('Lists all members in the cluster')
    .action(async () => {
      const res = await withClient((c, t) => c.cluster.MemberList!({}, { deadlineMs: t }));
      const format = requireFormat(['simple', 'json', 'fields', 'table', 'protobuf']);
      const members: Req[] = res.members ?? [];
      if (format === 'json') return void output(goJson(messageType('etcdserverpb.MemberListResponse'), res) + '\n');
      if (format === 'protobuf') return void output(protobufBytes('etcdserverpb.MemberListResponse', res));
      if (format === 'fields') {
        const lines = fieldsHeader(res.header ?? {});
        for (const m of members) {
          lines.push(`"ID" : ${m.ID ?? 0}`, `"Name" : ${goQuote(Buffer.from(m.name ?? ''))}`);
          for (const u of m.peerURLs ?? []) lines.push(`"PeerURL" : ${goQuote(Buffer.from(u))}`);
          for (const u of m.clientURLs ?? []) lines.push(`"ClientURL" : ${goQuote(Buffer.from(u))}`);
          lines.push(`"IsLearner" : ${!!m.isLearner}`, '');
        }
        return void output(lines.join('\n') + '\n');
      }
      const rows = members.map((m) => [
        Number(m.ID ?? 0).toString(16), m.name ? 'started' : 'unstarted', m.name ?? '', (m.peerURLs ?? []).join(','), (m.clientURLs ?? []).join(','), String(!!m.isLearner),
      ]);
      if (format === 'table') output(renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], rows));
      else output(rows.map((r) => r.join(', ') + '\n').join(''));
    });
}
