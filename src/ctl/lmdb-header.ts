// A look at an LMDB file's two meta pages before LMDB maps it: LMDB trusts them, so a file
// that is not LMDB, or is shorter than its meta page says, would crash the process when read.
// Offsets are those of lmdb-js's LMDB build (24-byte page header, 64-bit sizes).
import fs from 'node:fs';

const MAGIC = 0xbeefc0de;
const PAGE_HEADER = 24;
const META = { magic: 0, pageSize: 24, lastPage: 120, txnId: 128 };
const MIN_PAGE = 4096;

/** Throws unless `file` starts with valid LMDB meta pages describing no more than the file holds. */
export function checkLmdbHeader(file: string, label = file): void {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const readMeta = (at: number) => {
      const b = Buffer.alloc(PAGE_HEADER + META.txnId + 8);
      if (fs.readSync(fd, b, 0, b.length, at) < b.length) return undefined;
      const m = PAGE_HEADER;
      if (b.readUInt32LE(m + META.magic) !== MAGIC) return undefined;
      return { pageSize: b.readUInt32LE(m + META.pageSize), lastPage: Number(b.readBigUInt64LE(m + META.lastPage)), txnId: b.readBigUInt64LE(m + META.txnId) };
    };
    const first = readMeta(0);
    if (!first || first.pageSize < MIN_PAGE || first.pageSize & (first.pageSize - 1)) throw new Error(`${label} is not a kvd snapshot (no LMDB database)`);
    const second = readMeta(first.pageSize);
    const current = second && second.txnId > first.txnId ? second : first;
    const needed = (current.lastPage + 1) * current.pageSize;
    if (needed > size) throw new Error(`snapshot file integrity check failed: the database needs ${needed} bytes, ${label} holds ${size}`);
  } finally {
    fs.closeSync(fd);
  }
}
