// Errors of the mvcc layer, as etcd reports them.
import { Errors, type EtcdError } from '../../protocol/errors.js';

export class MvccError extends Error {
  constructor(readonly etcd: EtcdError) {
    super(etcd.message);
  }
  get code(): number {
    return this.etcd.code;
  }
}

export const compacted = () => new MvccError(Errors.compacted);
export const futureRev = () => new MvccError(Errors.futureRev);
export const keyNotFound = () => new MvccError(Errors.keyNotFound);
export const leaseNotFound = () => new MvccError(Errors.leaseNotFound);
export const leaseExists = () => new MvccError(Errors.leaseExist);
export const noSpace = () => new MvccError(Errors.noSpace);
export const corrupt = () => new MvccError(Errors.corrupt);
