// etcd's client-facing errors: gRPC status code and the exact message text, since clients
// (etcdctl, clientv3, Kubernetes) match on the text.
import { status as Code, Metadata, type ServiceError } from '@grpc/grpc-js';

export class EtcdError extends Error {
  constructor(readonly code: Code, message: string) {
    super(message);
  }
}

const e = (code: Code, message: string) => new EtcdError(code, message);

export const Errors = {
  emptyKey: e(Code.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: e(Code.INVALID_ARGUMENT, 'etcdserver: key not found'),
  // kvd's own: LMDB keys are limited in size
  keyTooLong: e(Code.INVALID_ARGUMENT, 'etcdserver: key is too long (kvd keeps keys up to 1958 bytes)'),
  valueProvided: e(Code.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: e(Code.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: e(Code.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: e(Code.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  invalidSortOption: e(Code.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  compacted: e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: e(Code.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  noSpace: e(Code.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  leaseNotFound: e(Code.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExist: e(Code.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTTLTooLarge: e(Code.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  watchCanceled: e(Code.CANCELLED, 'etcdserver: watch canceled'),
  memberExist: e(Code.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  peerURLExist: e(Code.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  memberNotEnoughStarted: e(Code.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'),
  memberBadURLs: e(Code.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  memberNotFound: e(Code.NOT_FOUND, 'etcdserver: member not found'),
  memberNotLearner: e(Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  learnerNotReady: e(Code.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: e(Code.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  requestTooLarge: e(Code.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  tooManyRequests: e(Code.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),
  rootUserNotExist: e(Code.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  rootRoleNotExist: e(Code.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  userAlreadyExist: e(Code.FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  userEmpty: e(Code.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  userNotFound: e(Code.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  roleAlreadyExist: e(Code.FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  roleNotFound: e(Code.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleEmpty: e(Code.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  authFailed: e(Code.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'),
  permissionDenied: e(Code.PERMISSION_DENIED, 'etcdserver: permission denied'),
  roleNotGranted: e(Code.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: e(Code.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'),
  authNotEnabled: e(Code.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  invalidAuthToken: e(Code.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  invalidAuthMgmt: e(Code.INVALID_ARGUMENT, 'etcdserver: invalid auth management'),
  authOldRevision: e(Code.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'),
  noLeader: e(Code.UNAVAILABLE, 'etcdserver: no leader'),
  notLeader: e(Code.FAILED_PRECONDITION, 'etcdserver: not leader'),
  leaderChanged: e(Code.UNAVAILABLE, 'etcdserver: leader changed'),
  notCapable: e(Code.UNAVAILABLE, 'etcdserver: not capable'),
  stopped: e(Code.UNAVAILABLE, 'etcdserver: server stopped'),
  timeout: e(Code.UNAVAILABLE, 'etcdserver: request timed out'),
  timeoutDueToLeaderFail: e(Code.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'),
  timeoutDueToConnectionLost: e(Code.UNAVAILABLE, 'etcdserver: request timed out, possibly due to connection lost'),
  leaderTransferTimeout: e(Code.UNAVAILABLE, 'etcdserver: request timed out, leader transfer took too long'),
  unhealthy: e(Code.UNAVAILABLE, 'etcdserver: unhealthy cluster'),
  corrupt: e(Code.DATA_LOSS, 'etcdserver: corrupt cluster'),
  notSupportedForLearner: e(Code.UNAVAILABLE, 'etcdserver: rpc not supported for learner'),
  badLeaderTransferee: e(Code.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  canceled: e(Code.CANCELLED, 'etcdserver: request canceled'),
  deadlineExceeded: e(Code.DEADLINE_EXCEEDED, 'etcdserver: context deadline exceeded'),
  // The election service's own, which etcd returns as plain errors (code Unknown).
  electionNoLeader: e(Code.UNKNOWN, 'election: no leader'),
  electionNotLeader: e(Code.UNKNOWN, 'election: not leader'),
  missingLeaderKey: e(Code.UNKNOWN, '"leader" field must be provided'),
} as const;

/** A gRPC error from another member or from this one's own client, as the EtcdError it carries. */
export function fromServiceError(err: unknown): unknown {
  const e = err as Partial<ServiceError>;
  return typeof e?.code === 'number' && e.details ? new EtcdError(e.code, e.details) : err;
}

const byMessage = new Map<string, EtcdError>(Object.values(Errors).map((e) => [e.message, e]));

/**
 * The form @grpc/grpc-js sends: code, details (the message) and empty metadata. An error of
 * etcd's that crossed from an actor's thread, which keeps only its message, keeps its code.
 */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof EtcdError ? err.code : byMessage.get(message)?.code ?? Code.UNKNOWN;
  return { code, details: message, metadata: new Metadata() };
}

/** A gRPC status as Go prints it ("rpc error: code = PermissionDenied desc = …"), as etcd's clients show errors they do not know. */
export function goStatusText(code: Code, message: string): string {
  const name = Code[code]!.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
  return `rpc error: code = ${name} desc = ${message}`;
}
