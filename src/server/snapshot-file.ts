// A snapshot file as `snapshot save` writes it (etcd's format, which kvd's Snapshot stream
// follows): a consistent copy of the database, then the sha256 of that copy.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { fsyncPath } from '../actors/fsync.js';

const SHA256_BYTES = 32;

/** As etcd: a database is whole 512-byte sectors, so a remainder of 32 bytes is the hash. */
export const hasChecksum = (size: number) => size % 512 === SHA256_BYTES;

/** Go's %v of a byte slice: [1 2 3]. */
const goBytes = (b: Buffer) => `[${[...b].join(' ')}]`;

/** Go's message for a file that cannot be opened. */
function goFileError(err: unknown, op: string, file: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new Error(`${op} ${file}: no such file or directory`);
  if (e.code === 'EACCES') return new Error(`${op} ${file}: permission denied`);
  return e;
}

/** The size of a snapshot file, with etcd's error when it cannot be read. */
export function snapshotSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (err) {
    throw goFileError(err, 'stat', file);
  }
}

/** When the trailing hash is checked: always (restore), when the file has one (status), never. */
export type HashCheck = 'required' | 'ifPresent' | 'skip';

/**
 * Copies the database a snapshot file holds to `dest`, without the hash, checking the hash as
 * `check` says (etcd's restore rules and messages for 'required' and 'skip').
 */
export async function extractDatabase(file: string, dest: string, check: HashCheck): Promise<void> {
  const size = snapshotSize(file);
  const checksummed = hasChecksum(size);
  if (!checksummed && check === 'required') throw new Error('snapshot missing hash but --skip-hash-check=false');
  const dbBytes = checksummed ? size - SHA256_BYTES : size;
  const sha = createHash('sha256');
  const source = fs.createReadStream(file, { start: 0, end: dbBytes - 1 });
  source.on('data', (chunk) => sha.update(chunk as Buffer));
  await pipeline(source, fs.createWriteStream(dest, { mode: 0o600 }));
  fsyncPath(dest);
  if (!checksummed || check === 'skip') return;
  const expected = Buffer.alloc(SHA256_BYTES);
  const snapshot = fs.openSync(file, 'r');
  try {
    fs.readSync(snapshot, expected, 0, SHA256_BYTES, dbBytes);
  } finally {
    fs.closeSync(snapshot);
  }
  const actual = sha.digest();
  if (!actual.equals(expected)) throw new Error(`expected sha256 ${goBytes(expected)}, got ${goBytes(actual)}`);
}
