// Durable file system changes: a file's data, and the directory entry of a created or renamed
// file (fsync the directory), survive a crash only once fsynced.
import fs from 'node:fs';

/** fsync of a file or a directory. */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
