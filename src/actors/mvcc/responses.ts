// Encodes an apply result as the protobuf response its request expects.
import type { WriteOp } from './store.js';
import { encodeDeleteRangeResponse, encodePutResponse, encodeTxnResponse, type Header } from '../../protocol/encode.js';
import { encodeMessage, messageType } from '../../protocol/codec.js';

const CompactionResponse = messageType('etcdserverpb.CompactionResponse');
const LeaseGrantResponse = messageType('etcdserverpb.LeaseGrantResponse');
const LeaseRevokeResponse = messageType('etcdserverpb.LeaseRevokeResponse');
const AlarmResponse = messageType('etcdserverpb.AlarmResponse');

export function encodeResponse(op: WriteOp, header: Header, response: any): Uint8Array {
  switch (op.type) {
    case 'put': return encodePutResponse(header, response);
    case 'deleteRange': return encodeDeleteRangeResponse(header, response);
    case 'txn': return encodeTxnResponse(header, response);
    case 'compact': return encodeMessage(CompactionResponse, { header });
    case 'leaseGrant': return encodeMessage(LeaseGrantResponse, { header, ...response });
    case 'leaseRevoke': return encodeMessage(LeaseRevokeResponse, { header });
    case 'alarm': return encodeMessage(AlarmResponse, response); // as etcd 3.4: no header
    case 'auth': return encodeMessage(messageType(authResponseType(op.call.method)), { header, ...response });
    case 'leaseCheckpoint':
    case 'noop':
    case 'member': return new Uint8Array(0); // the gateway answers from the membership it is sent
  }
}

/** The response message of an Auth service method: AuthEnable → AuthEnableResponse, UserAdd → AuthUserAddResponse. */
export const authResponseType = (method: string) => `etcdserverpb.${method.startsWith('Auth') ? method : `Auth${method}`}Response`;
