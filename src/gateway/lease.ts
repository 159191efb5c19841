// The Lease service. Grants and revokes go through consensus; renewals and time-to-live are
// answered by the leader's lease clock (a follower forwards them, as etcd does).
import { randomInt } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { serviceDefinition } from '../protocol/codec.js';
import { Errors, fromServiceError } from '../protocol/errors.js';
import { leaseKeys } from '../actors/reader/task.js';
import { failStream, unary } from './unary.js';
import { forwardToLeader } from './forward.js';
import { writeCost } from './kv.js';
import { writerOf } from './auth-info.js';

type Req = Record<string, any>;

export const LEASE_SERVICE = serviceDefinition('etcdserverpb.Lease');

/** etcd's MaxLeaseTTL, in seconds. */
const MAX_LEASE_TTL = 9_000_000_000;

export function leaseHandlers(member: Member): grpc.UntypedServiceImplementation {
  // As etcd: no lease may be shorter than 1.5 election timeouts, rounded up to whole seconds.
  const minTTL = Math.ceil((1.5 * member.config.electionTimeoutMs) / 1000);
  const leading = () => member.board.get('leader') === member.id;

  return {
    LeaseGrant: unary<Req>(async (req, call) => {
      const ttl = Number(req.TTL ?? 0);
      if (ttl > MAX_LEASE_TTL) throw Errors.leaseTTLTooLarge;
      member.checkSpace(writeCost(req));
      let id = Number(req.ID ?? 0);
      // Server-chosen IDs stay below 2^53, exact as JavaScript numbers; a client's is kept,
      // and refused when it exists.
      if (!id) do id = randomInt(1, 2 ** 48) * 32 + randomInt(32); while (member.leases.clock.exists(id));
      // Not checked against permissions, but as every write its token must be valid (etcd 3.4).
      return member.propose({ type: 'leaseGrant', req: { ID: id, TTL: Math.max(ttl, minTTL) } }, false, undefined, await writerOf(member, call));
    }),

    LeaseRevoke: unary<Req>(async (req, call) => {
      return member.propose({ type: 'leaseRevoke', req: { ID: Number(req.ID ?? 0) } }, false, undefined, await writerOf(member, call));
    }),

    LeaseTimeToLive: unary<Req>(async (req, call) => {
      if (!leading()) return forwardToLeader(member, 'etcdserverpb.Lease', 'LeaseTimeToLive', req, call);
      await member.caughtUp();
      member.leases.followLeadership();
      const id = Number(req.ID ?? 0);
      const t = member.leases.clock.timeToLive(id, Date.now());
      if (!t) return { header: member.header(), ID: id, TTL: -1 };
      return { header: member.header(), ID: id, TTL: t.ttl, grantedTTL: t.grantedTTL, keys: req.keys ? leaseKeys(member.dbDir, id) : [] };
    }),

    LeaseLeases: unary<Req>(async () => ({ header: member.header(), leases: member.leases.clock.ids().map((ID) => ({ ID })) })),

    LeaseKeepAlive: (call: grpc.ServerDuplexStream<Req, Req>) => keepAlive(member, call),
  };
}

/**
 * Renewals in order on one stream. The leader renews itself; a follower relays the stream to
 * the leader and its answers back, and ends it with an error when that link breaks, so the
 * client starts over (etcd's clients do).
 */
function keepAlive(member: Member, call: grpc.ServerDuplexStream<Req, Req>): void {
  let relay: grpc.ClientDuplexStream<Req, Req> | undefined;
  let closeRelay = () => {};
  let queue = Promise.resolve();
  const fail = (err: grpc.ServiceError | Error) => {
    closeRelay();
    failStream(call, fromServiceError(err));
  };
  const toLeader = (req: Req) => {
    if (!relay) {
      const leader = member.members.find((m) => m.id === member.board.get('leader'));
      const url = leader?.clientURLs[0];
      if (!url) return fail(Errors.noLeader);
      const client = member.connectTo(url);
      const raw = client.raw('etcdserverpb.Lease') as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<Req, Req> };
      relay = raw.LeaseKeepAlive();
      closeRelay = () => {
        relay?.cancel();
        client.close();
      };
      relay.on('data', (r: Req) => call.write({ ...r, header: member.header() }));
      relay.on('error', (err: grpc.ServiceError) => err.code !== grpc.status.CANCELLED && fail(err));
    }
    relay.write(req);
  };
  call.on('data', (req: Req) => {
    queue = queue.then(async () => {
      const id = Number(req.ID ?? 0);
      if (relay || member.board.get('leader') !== member.id) return toLeader(req);
      await member.caughtUp();
      const r = member.leases.renew(id);
      if ('notPrimary' in r) return toLeader(req);
      call.write({ header: member.header(), ID: id, TTL: 'ttl' in r ? r.ttl : 0 });
    });
  });
  // The client is done asking (as etcd, the stream ends once the renewals asked for are answered).
  call.on('end', () => {
    queue = queue.then(() => {
      closeRelay();
      call.end();
    });
  });
  call.on('cancelled', () => closeRelay());
  call.on('error', () => closeRelay());
}
