// What `snapshot status` reports of a kvd snapshot file, computed as etcd computes it of its
// own: a hash over every database of the file (name, then each key and value in key order),
// the store's revision, the number of keys in all databases and the database's size. The hash
// depends only on what the databases hold, not on how LMDB laid out their pages.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { open } from 'lmdb';
import { unpack } from 'msgpackr';
import { DB_FILE } from '../actors/mvcc/store.js';
import { extractDatabase } from '../server/snapshot-file.js';
import { checkLmdbHeader } from './lmdb-header.js';

/** etcd's snapshot.Status, with its JSON names. */
export interface SnapshotStatus { hash: number; revision: number; totalKey: number; totalSize: number }

export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-status-'));
  try {
    const db = path.join(dir, DB_FILE);
    // A copy without the trailing hash, checked when present (a damaged file is refused, not read).
    await extractDatabase(file, db, 'ifPresent');
    checkLmdbHeader(db, file);
    const totalSize = fs.statSync(db).size;
    const root = open({ path: db, readOnly: true, encoding: 'binary', keyEncoding: 'binary' });
    try {
      let hash = 0;
      let totalKey = 0;
      let revision = 1; // as the store: an empty one is at revision 1
      // LMDB lists the names of its databases in the main one (NUL-terminated by lmdb-js).
      const names = [...root.getKeys({})].map((k) => Buffer.from(k as Buffer).toString().replace(/\0$/, ''));
      for (const name of names) {
        hash = zlib.crc32(name, hash);
        const sub = root.openDB({ name, encoding: 'binary', keyEncoding: 'binary' });
        for (const entry of sub.getRange({})) {
          hash = zlib.crc32(entry.value as Buffer, zlib.crc32(entry.key as Buffer, hash));
          totalKey++;
        }
        if (name === 'meta') {
          const stored = sub.getBinary(Buffer.from('revision'));
          if (stored) revision = Number(unpack(stored));
        }
      }
      return { hash, revision, totalKey, totalSize };
    } finally {
      await root.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
