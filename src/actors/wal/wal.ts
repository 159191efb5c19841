// The write-ahead log: preallocated segment files `<seq>-<first index>.wal` (hex) in one
// directory. Replay rebuilds the raft log and hard state; a torn tail in the last segment is
// cut off, corruption anywhere else stops start-up with the file and offset.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath } from '../fsync.js';
import { decodeSegment, encodeRecords, RecordType, type Entry, type HardState, type WalRecord } from './records.js';

export interface WalOptions { segmentBytes?: number; onTornTail?: (file: string, offset: number) => void }

export interface Replayed { hardState: HardState; entries: Entry[]; snapshot?: { index: number; term: number } }

const SEGMENT_BYTES = 64 * 1024 * 1024;
const hex = (n: number) => n.toString(16).padStart(16, '0');
const segmentName = (seq: number, firstIndex: number) => `${hex(seq)}-${hex(firstIndex)}.wal`;
const firstIndexOf = (name: string) => Number.parseInt(name.slice(17, 33), 16);


export class Wal {
  private fd = -1;
  private file = '';
  private seq = 0;
  private offset = 0;
  private crc = 0;
  private lastIndex = 0;

  private constructor(private readonly dir: string, private readonly segmentBytes: number) {}

  static open(dir: string, opts: WalOptions = {}): { wal: Wal; replayed: Replayed } {
    fs.mkdirSync(dir, { recursive: true });
    const wal = new Wal(dir, opts.segmentBytes ?? SEGMENT_BYTES);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
    const replayed: Replayed = { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
    files.forEach((name, i) => {
      const file = path.join(dir, name);
      const decoded = decodeSegment(fs.readFileSync(file));
      const isLast = i === files.length - 1;
      if (decoded.kind === 'corrupt' || (decoded.kind === 'torn' && !isLast)) {
        const offset = decoded.kind === 'corrupt' ? decoded.offset : decoded.end;
        throw new Error(`wal: corrupt record in ${file} at offset ${offset}`);
      }
      for (const r of decoded.records) replayRecord(replayed, r);
      if (isLast) {
        if (decoded.kind === 'torn') {
          opts.onTornTail?.(file, decoded.end);
          wal.zeroFrom(file, decoded.end);
        }
        wal.resume(file, Number.parseInt(name.slice(0, 16), 16), decoded.end, decoded.crc);
      }
    });
    wal.lastIndex = replayed.entries.at(-1)?.index ?? replayed.snapshot?.index ?? 0;
    if (wal.fd < 0) wal.cut(0, wal.lastIndex + 1);
    return { wal, replayed };
  }

  // Overwrites a torn tail with zeros so that later replays end cleanly where writing resumes.
  private zeroFrom(file: string, at: number): void {
    const fd = fs.openSync(file, 'r+');
    try {
      const size = fs.fstatSync(fd).size;
      const zeros = Buffer.alloc(64 * 1024);
      for (let pos = at; pos < size; pos += zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, size - pos), pos);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  private resume(file: string, seq: number, offset: number, crc: number): void {
    this.fd = fs.openSync(file, 'r+');
    this.file = file;
    this.seq = seq;
    this.offset = offset;
    this.crc = crc;
  }

  private cut(seq: number, firstIndex: number): void {
    if (this.fd >= 0) {
      fs.fdatasyncSync(this.fd);
      fs.closeSync(this.fd);
    }
    const file = path.join(this.dir, segmentName(seq, firstIndex));
    const fd = fs.openSync(file, 'wx+');
    fs.ftruncateSync(fd, this.segmentBytes);
    fs.fsyncSync(fd);
    fsyncPath(this.dir);
    this.fd = fd;
    this.file = file;
    this.seq = seq;
    this.offset = 0;
    this.crc = 0;
  }

  /**
   * Writes entries (an entry at or below the last index replaces the log from there) and the
   * hard state; with `restored`, first the mark of a snapshot installed in the store (replay
   * keeps only the entries after it). Not yet durable.
   */
  append(entries: Entry[], hardState?: HardState, restored?: { index: number; term: number }): void {
    // A segment's name must never claim a first index below what it may hold: keep the larger.
    if (restored) this.lastIndex = Math.max(this.lastIndex, restored.index);
    const records: WalRecord[] = restored ? [{ type: RecordType.SnapshotMark, ...restored }] : [];
    records.push(...entries.map((entry): WalRecord => ({ type: RecordType.Entry, entry })));
    if (hardState) records.push({ type: RecordType.HardState, hardState });
    this.write(records, entries[0]?.index ?? this.lastIndex + 1);
    if (entries.length) this.lastIndex = entries[entries.length - 1]!.index;
  }

  /**
   * Records that the state machine durably holds everything up to `mark` (replay starts after
   * it) with the current hard state; once synced, release() may delete the older segments.
   */
  markCompacted(mark: { index: number; term: number }, hardState: HardState): void {
    this.write([{ type: RecordType.SnapshotMark, ...mark }, { type: RecordType.HardState, hardState }], this.lastIndex + 1);
  }

  /** Deletes the segments before the current one whose entries all lie at or below `index`. */
  release(index: number): string[] {
    const files = fs.readdirSync(this.dir).filter((f) => f.endsWith('.wal')).sort();
    const current = files.indexOf(path.basename(this.file));
    const removed: string[] = [];
    // A segment holds indexes below its successor's first index (later writes override).
    for (let i = 0; i < current && firstIndexOf(files[i + 1]!) <= index + 1; i++) {
      fs.rmSync(path.join(this.dir, files[i]!));
      removed.push(files[i]!);
    }
    if (removed.length) fsyncPath(this.dir);
    return removed;
  }

  private write(records: WalRecord[], firstIndex: number): void {
    if (!records.length) return;
    let { bytes, crc } = encodeRecords(records, this.crc);
    if (this.offset + bytes.length > this.segmentBytes && this.offset > 0) {
      this.cut(this.seq + 1, firstIndex);
      ({ bytes, crc } = encodeRecords(records, 0));
    }
    fs.writeSync(this.fd, bytes, 0, bytes.length, this.offset);
    this.offset += bytes.length;
    this.crc = crc;
  }

  /** Makes everything appended so far durable. */
  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  get segment(): string {
    return this.file;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Replays one record onto what the records before it built (also the simulation's WAL model). */
export function replayRecord(out: Replayed, r: WalRecord): void {
  if (r.type === RecordType.Entry) {
    const first = out.entries[0]?.index ?? r.entry.index;
    if (r.entry.index < first) out.entries = [];
    else out.entries.length = Math.min(out.entries.length, r.entry.index - first);
    out.entries.push(r.entry);
  } else if (r.type === RecordType.HardState) out.hardState = r.hardState;
  else {
    out.snapshot = { index: r.index, term: r.term };
    out.entries = out.entries.filter((e) => e.index > r.index);
  }
}
