// The WAL: round trips, log overwrite on replay, segment cuts, torn tails, corruption and
// compaction marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wal } from '../../../src/actors/wal/wal.js';
import type { Entry } from '../../../src/actors/wal/records.js';

const entry = (index: number, term = 1, data = `e${index}`): Entry => ({ index, term, type: 0, data: new TextEncoder().encode(data) });
const withDir = async (fn: (dir: string) => Promise<void> | void) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-test-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

test('entries and hard state round-trip; a rewritten index replaces the log from there', () =>
  withDir(async (dir) => {
    const { wal } = Wal.open(dir, { segmentBytes: 1 << 20 });
    wal.append([1, 2, 3, 4].map((i) => entry(i)), { term: 1, vote: 1, commit: 2 });
    wal.append([entry(3, 2, 'new3')], { term: 2, vote: 1, commit: 3 });
    wal.sync();
    wal.close();
    const { replayed } = Wal.open(dir, { segmentBytes: 1 << 20 });
    assert.deepEqual(replayed.entries.map((e) => [e.index, e.term, new TextDecoder().decode(e.data)]), [[1, 1, 'e1'], [2, 1, 'e2'], [3, 2, 'new3']]);
    assert.deepEqual(replayed.hardState, { term: 2, vote: 1, commit: 3 });
  }));

test('segments are cut at the preallocated size and replayed in order', () =>
  withDir(async (dir) => {
    const { wal } = Wal.open(dir, { segmentBytes: 64 * 1024 });
    for (let i = 1; i <= 200; i++) wal.append([entry(i, 1, 'x'.repeat(1000))]);
    wal.sync();
    wal.close();
    assert.ok(segments(dir).length >= 3);
    assert.equal(fs.statSync(path.join(dir, segments(dir)[0]!)).size, 64 * 1024, 'segments are preallocated');
    const { replayed } = Wal.open(dir, { segmentBytes: 64 * 1024 });
    assert.deepEqual(replayed.entries.map((e) => e.index), Array.from({ length: 200 }, (_, i) => i + 1));
  }));

function dataEnd(file: string): number {
  const buf = fs.readFileSync(file);
  let end = buf.length;
  while (end > 0 && buf[end - 1] === 0) end--;
  return end;
}

test('a torn last record is truncated; writing resumes and survives the next replay', () =>
  withDir(async (dir) => {
    const { wal } = Wal.open(dir, { segmentBytes: 1 << 20 });
    wal.append([1, 2, 3].map((i) => entry(i)));
    wal.sync();
    wal.close();
    const file = path.join(dir, segments(dir)[0]!);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(4), 0, 4, dataEnd(file) - 4);
    fs.closeSync(fd);
    const torn: number[] = [];
    const reopened = Wal.open(dir, { segmentBytes: 1 << 20, onTornTail: (_f, at) => torn.push(at) });
    assert.equal(torn.length, 1);
    assert.deepEqual(reopened.replayed.entries.map((e) => e.index), [1, 2]);
    reopened.wal.append([entry(3, 1, 'again')]);
    reopened.wal.sync();
    reopened.wal.close();
    assert.deepEqual(Wal.open(dir, { segmentBytes: 1 << 20 }).replayed.entries.map((e) => new TextDecoder().decode(e.data)), ['e1', 'e2', 'again']);
  }));

test('a corrupt record before the tail refuses to open, naming file and offset', () =>
  withDir(async (dir) => {
    const { wal } = Wal.open(dir, { segmentBytes: 1 << 20 });
    wal.append([1, 2, 3, 4, 5].map((i) => entry(i)));
    wal.sync();
    wal.close();
    const file = path.join(dir, segments(dir)[0]!);
    const buf = fs.readFileSync(file);
    buf[20] = buf[20]! ^ 0xff;
    fs.writeFileSync(file, buf);
    assert.throws(() => Wal.open(dir, { segmentBytes: 1 << 20 }), new RegExp(`wal: corrupt record in .*${segments(dir)[0]} at offset \\d+`));
  }));

test('a compaction mark lets older segments go; replay starts after the mark with the entries that follow', () =>
  withDir(async (dir) => {
    const { wal } = Wal.open(dir, { segmentBytes: 64 * 1024 });
    for (let i = 1; i <= 200; i++) wal.append([entry(i, 1, 'x'.repeat(1000))], { term: 1, vote: 1, commit: i });
    wal.markCompacted({ index: 150, term: 1 }, { term: 1, vote: 1, commit: 200 });
    wal.sync();
    const before = segments(dir);
    const removed = wal.release(150);
    assert.ok(removed.length >= 1, 'old segments released');
    assert.deepEqual(segments(dir), before.filter((f) => !removed.includes(f)));
    wal.close();
    const { replayed } = Wal.open(dir, { segmentBytes: 64 * 1024 });
    assert.deepEqual(replayed.snapshot, { index: 150, term: 1 });
    assert.deepEqual(replayed.entries.map((e) => e.index), Array.from({ length: 50 }, (_, i) => 151 + i));
    assert.equal(replayed.hardState.commit, 200);
  }));
