// WAL records: [u32 length][u32 crc][u8 type][payload], crc = crc32(type ‖ payload) seeded
// with the previous record's crc, so a record only verifies in its place in the chain. Each
// segment's chain starts from 0 so that a segment can be verified on its own.
import zlib from 'node:zlib';

export const enum RecordType { Entry = 1, HardState = 2, SnapshotMark = 3 }

export interface Entry { term: number; index: number; type: number; data: Uint8Array }
export interface HardState { term: number; vote: number; commit: number }

export type WalRecord =
  | { type: RecordType.Entry; entry: Entry }
  | { type: RecordType.HardState; hardState: HardState }
  | { type: RecordType.SnapshotMark; index: number; term: number };

export const HEADER_BYTES = 9;

function payloadOf(r: WalRecord): Buffer {
  switch (r.type) {
    case RecordType.Entry: {
      const b = Buffer.allocUnsafe(17 + r.entry.data.length);
      b.writeBigUInt64BE(BigInt(r.entry.term), 0);
      b.writeBigUInt64BE(BigInt(r.entry.index), 8);
      b.writeUInt8(r.entry.type, 16);
      b.set(r.entry.data, 17);
      return b;
    }
    case RecordType.HardState: {
      const b = Buffer.allocUnsafe(24);
      b.writeBigUInt64BE(BigInt(r.hardState.term), 0);
      b.writeBigUInt64BE(BigInt(r.hardState.vote), 8);
      b.writeBigUInt64BE(BigInt(r.hardState.commit), 16);
      return b;
    }
    case RecordType.SnapshotMark: {
      const b = Buffer.allocUnsafe(16);
      b.writeBigUInt64BE(BigInt(r.index), 0);
      b.writeBigUInt64BE(BigInt(r.term), 8);
      return b;
    }
  }
}

/** Encodes records after `prevCrc`; returns the bytes and the crc to chain the next ones on. */
export function encodeRecords(records: WalRecord[], prevCrc: number): { bytes: Buffer; crc: number } {
  const parts: Buffer[] = [];
  let crc = prevCrc;
  for (const r of records) {
    const payload = payloadOf(r);
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    head.writeUInt32BE(payload.length + 1, 0);
    head.writeUInt8(r.type, 8);
    crc = zlib.crc32(payload, zlib.crc32(head.subarray(8, 9), crc));
    head.writeUInt32BE(crc, 4);
    parts.push(head, payload);
  }
  return { bytes: Buffer.concat(parts), crc };
}

const num = (b: Buffer, at: number) => Number(b.readBigUInt64BE(at));

function decodeRecord(type: number, p: Buffer): WalRecord | undefined {
  if (type === RecordType.Entry && p.length >= 17) {
    return { type, entry: { term: num(p, 0), index: num(p, 8), type: p[16]!, data: Uint8Array.prototype.slice.call(p, 17) } };
  }
  if (type === RecordType.HardState && p.length === 24) return { type, hardState: { term: num(p, 0), vote: num(p, 8), commit: num(p, 16) } };
  if (type === RecordType.SnapshotMark && p.length === 16) return { type, index: num(p, 0), term: num(p, 8) };
  return undefined;
}

export type Decoded =
  | { kind: 'ok'; records: WalRecord[]; end: number; crc: number }              // clean end (zeros or EOF)
  | { kind: 'torn'; records: WalRecord[]; end: number; crc: number }            // an incomplete last record
  | { kind: 'corrupt'; records: WalRecord[]; offset: number };                   // a bad record with data after it

const zerosFrom = (b: Buffer, at: number) => {
  for (let i = at; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
};

/** Walks a segment's bytes, telling a torn tail (crash while writing) from corruption. */
export function decodeSegment(buf: Buffer): Decoded {
  const records: WalRecord[] = [];
  let crc = 0;
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < HEADER_BYTES) {
      return zerosFrom(buf, at) ? { kind: 'ok', records, end: at, crc } : { kind: 'torn', records, end: at, crc };
    }
    const len = buf.readUInt32BE(at);
    if (len === 0) {
      return zerosFrom(buf, at) ? { kind: 'ok', records, end: at, crc } : { kind: 'corrupt', records, offset: at };
    }
    const stop = at + 8 + len;
    if (stop > buf.length) return { kind: 'torn', records, end: at, crc };
    const body = buf.subarray(at + 8, stop);
    const expect = zlib.crc32(body, crc);
    const record = expect === buf.readUInt32BE(at + 4) ? decodeRecord(body[0]!, body.subarray(1)) : undefined;
    if (!record) return zerosFrom(buf, stop) ? { kind: 'torn', records, end: at, crc } : { kind: 'corrupt', records, offset: at };
    records.push(record);
    crc = expect;
    at = stop;
  }
  return { kind: 'ok', records, end: at, crc };
}
