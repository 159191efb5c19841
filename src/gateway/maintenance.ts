// The Maintenance service: status, hashes, alarms, defragmentation and snapshots.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { root, serviceDefinition } from '../protocol/codec.js';
import { Errors } from '../protocol/errors.js';
import { failStream, unary } from './unary.js';
import { asMaintenanceError, requireMaintenanceAdmin, writerOf } from './auth-info.js';
import { SERVER_VERSION } from '../server/version.js';

type Req = Record<string, any>;

export const MAINTENANCE_SERVICE = serviceDefinition('etcdserverpb.Maintenance');

const SNAPSHOT_CHUNK = 32 * 1024;

const alarmName = (type: number) => root.lookupEnum('etcdserverpb.AlarmType').valuesById[type] ?? String(type);

export function maintenanceHandlers(member: Member): grpc.UntypedServiceImplementation {
  const header = (revision?: number) => member.header(revision);

  return {
    Status: unary(async () => {
      const b = member.board.snapshot();
      return {
        header: header(b.revision),
        version: SERVER_VERSION,
        dbSize: b.dbSize,
        dbSizeInUse: b.dbSizeInUse,
        leader: b.leader,
        raftIndex: b.commitIndex,
        raftTerm: b.term,
        raftAppliedIndex: b.appliedIndex,
        // As etcd: no leader, then each active alarm in protobuf's compact text form.
        errors: [...(b.leader ? [] : [Errors.noLeader.message]), ...member.alarms.map((a) => `memberID:${a.memberID} alarm:${alarmName(a.alarm)} `)],
        isLearner: member.isLearner(),
      };
    }),

    Hash: unary(async (_req, call) => {
      await requireMaintenanceAdmin(member, call);
      const { hash, revision } = await member.mvcc.hash();
      return { header: header(revision), hash };
    }),

    HashKV: unary<Req>(async (req, call) => {
      await requireMaintenanceAdmin(member, call);
      const r = await member.mvcc.hashKV(req.revision ?? 0);
      return { header: header(), hash: r.hash, compact_revision: r.compact_revision, hash_revision: r.hash_revision };
    }),

    // GET lists the active alarms; ACTIVATE and DEACTIVATE go through consensus. As etcd 3.4,
    // the answer carries no header.
    Alarm: unary<Req>(async (req, call) => {
      // Every alarm call goes through consensus in etcd 3.4, so its token must be valid.
      const writer = await writerOf(member, call).catch(asMaintenanceError);
      if (!req.action) {
        // etcd 3.4 lists them through consensus: without a quorum, no answer.
        await member.linearizableRead();
        return { alarms: member.alarms };
      }
      return member.propose({ type: 'alarm', req: { action: req.action, memberID: Number(req.memberID ?? 0), alarm: req.alarm ?? 0 } }, false, undefined, writer);
    }),

    Defragment: unary(async (_req, call) => {
      await requireMaintenanceAdmin(member, call);
      await member.defragment();
      return { header: header() };
    }),

    MoveLeader: unary<Req>(async (req) => {
      const target = member.members.find((m) => m.id === Number(req.targetID ?? 0));
      if (!target || target.isLearner) throw Errors.badLeaderTransferee;
      if (member.board.get('leader') !== member.id) throw Errors.notLeader;
      if (!(await member.transferLeadership(target.id))) throw Errors.leaderTransferTimeout;
      return { header: header() };
    }),

    Snapshot: (call: grpc.ServerWritableStream<Req, unknown>) => {
      requireMaintenanceAdmin(member, call).then(() => streamSnapshot(member, call, header())).catch((err) => {
        member.log.warn({ error: (err as Error).message }, 'failed to send snapshot');
        failStream(call, err);
      });
    },

    Downgrade: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'unknown method Downgrade for service etcdserverpb.Maintenance' }),
  };
}

/** Resolves when the stream takes more, or when its client has gone (it would never drain then). */
function drainedOrGone(call: grpc.ServerWritableStream<Req, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'cancelled', 'close']) call.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'cancelled', 'close']) call.on(event, done);
  });
}

// A consistent copy of the backend, streamed in chunks; the last chunk ends with the copy's
// sha256 so that `etcdctl snapshot save` and restore can verify it.
async function streamSnapshot(member: Member, call: grpc.ServerWritableStream<Req, unknown>, hdr: object): Promise<void> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'kvd-snapshot-'));
  const file = path.join(dir, 'db');
  try {
    await member.mvcc.backup(file);
    const size = (await fs.promises.stat(file)).size;
    const sha = createHash('sha256');
    let sent = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: SNAPSHOT_CHUNK })) {
      const blob = chunk as Buffer;
      sha.update(blob);
      sent += blob.length;
      if (call.cancelled) return;
      if (!call.write({ header: hdr, remaining_bytes: size - sent + 32, blob })) await drainedOrGone(call);
    }
    call.write({ header: hdr, remaining_bytes: 0, blob: sha.digest() });
    call.end();
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
