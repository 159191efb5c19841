// Calls the leader's client endpoint for the few requests only the leader can judge (etcd
// forwards them the same way), answering with the leader's response or error as is.
import type * as grpc from '@grpc/grpc-js';
import type { Member } from '../server/member.js';
import { Errors, fromServiceError } from '../protocol/errors.js';
import { credentialsOf } from './auth-info.js';

export async function forwardToLeader(member: Member, service: string, method: string, req: Record<string, any>, call: grpc.ServerUnaryCall<unknown, unknown>): Promise<unknown> {
  const leader = member.members.find((m) => m.id === member.board.get('leader'));
  const url = leader?.clientURLs[0];
  if (!url) throw Errors.noLeader;
  const client = member.connectTo(url);
  const deadline = call.getDeadline();
  const remaining = deadline instanceof Date ? deadline.getTime() - Date.now() : Number(deadline) - Date.now();
  try {
    const metadata = await credentialsOf(member, call);
    return await client.service(service)[method]!(req, Number.isFinite(remaining) && remaining > 0 ? { deadlineMs: remaining, metadata } : { metadata });
  } catch (err) {
    throw fromServiceError(err);
  } finally {
    client.close();
  }
}
