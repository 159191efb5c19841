// The reader pool's task (piscina): one range in one LMDB read transaction, answered as the
// encoded RangeResponse, so the main thread only writes bytes to the client.
import { openDatabases, viewOf, type Databases } from '../mvcc/store.js';
import { range } from '../mvcc/range.js';
import { MvccError } from '../mvcc/errors.js';
import { keyOfKeyValue } from '../mvcc/keyvalue.js';
import { encodeRangeResponse, type Header } from '../../protocol/encode.js';

export interface RangeTask {
  dbDir: string;
  req: Record<string, any>;
  header: Omit<Header, 'revision'>;
  /** Set for the pages of a RangeStream: `continued` pages carry no header and no count. */
  page?: { continued: boolean };
}

export interface RangePage { bytes: Uint8Array; revision: number; more: boolean; keys: number; lastKey?: Uint8Array }
export type RangeTaskResult = RangePage | { error: { code: number; message: string } };

const opened = new Map<string, Databases>();

/** Closes this thread's handles (before the database file is replaced). */
export async function closeReaders(): Promise<void> {
  for (const dbs of opened.values()) await dbs.root.close();
  opened.clear();
}

function databases(dbDir: string): Databases {
  let dbs = opened.get(dbDir);
  if (!dbs) {
    dbs = openDatabases(dbDir);
    opened.set(dbDir, dbs);
  }
  return dbs;
}

/** The keys a lease holds, read where it is called (a short index scan). */
export function leaseKeys(dbDir: string, id: number): Buffer[] {
  const dbs = databases(dbDir);
  dbs.root.resetReadTxn();
  return dbs.leases.keysOf(id);
}

export default function rangeTask(task: RangeTask): RangeTaskResult {
  const dbs = databases(task.dbDir);
  // A fresh snapshot: the writer may have committed since this thread last read.
  dbs.root.resetReadTxn();
  const txn = dbs.root.useReadTransaction();
  try {
    const current = (dbs.meta.get('revision', { transaction: txn } as never) as number | undefined) ?? 0;
    const compacted = (dbs.meta.get('compactRevision', { transaction: txn } as never) as number | undefined) ?? 0;
    const out = range(viewOf(dbs, txn), task.req, current, compacted);
    const continued = task.page?.continued;
    const bytes = encodeRangeResponse(continued ? undefined : { ...task.header, revision: out.revision }, { kvs: out.kvs, more: out.more, count: continued ? 0 : out.count });
    const last = out.kvs.at(-1);
    return { bytes, revision: task.req.revision > 0 ? task.req.revision : out.revision, more: out.more, keys: out.kvs.length, lastKey: task.page && last ? keyOfKeyValue(last) : undefined };
  } catch (err) {
    if (err instanceof MvccError) return { error: { code: err.code, message: err.message } };
    throw err;
  } finally {
    txn.done();
    // Release the snapshot now: an idle reader holding it would keep LMDB from reusing pages.
    dbs.root.resetReadTxn();
  }
}
