// Watch creates under auth, as etcd: the stream's user needs read permission on the watched
// range; a refused create is answered canceled (watch ID -1) with the reason, the stream stays.
import type { Member } from '../server/member.js';
import type { WatchPermission } from './watch.js';
import { authInfoOf } from './auth-info.js';
import { ANONYMOUS, checkRead } from '../actors/mvcc/permissions.js';
import { encodeMessage, messageType } from '../protocol/codec.js';
import { Errors, EtcdError, goStatusText } from '../protocol/errors.js';

/** An error as etcd's cancel reasons spell it: Go's text of its gRPC status. */
function cancelReason(err: unknown): string {
  const e = err instanceof EtcdError ? err : Errors.permissionDenied;
  return goStatusText(e.code, e.message);
}

const WatchResponse = messageType('etcdserverpb.WatchResponse');

export function watchPermission(member: Member): WatchPermission {
  return {
    required: ({ metadata }) => member.auth.enabled || metadata.get('token').length > 0 || metadata.get('authorization').length > 0,
    check: async (call, create) => {
      const ai = await authInfoOf(member, call);
      // An empty key watches from the smallest key, "\0".
      checkRead(member.auth, ai ?? ANONYMOUS, create.key?.length ? create.key : Buffer.of(0), create.range_end);
    },
    refusal: (err) => encodeMessage(WatchResponse, { header: member.header(), watch_id: -1, created: true, canceled: true, cancel_reason: cancelReason(err) }),
  };
}
