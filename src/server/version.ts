// The etcd API version kvd serves (clients read it from Status and /version) and kvd's own.
import { readFileSync } from 'node:fs';

export const SERVER_VERSION = '3.5.0';
/** The cluster version etcd 3.4 reports at /version. */
export const CLUSTER_VERSION = '3.4.0';
export const KVD_VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
