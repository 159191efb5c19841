// Records what a watching client sees, resuming as etcd's clients do when its stream breaks
// (a new stream on the next endpoint, from the last revision seen + 1), and checks it against
// the writes the writers had acknowledged: etcd's watch guarantees.
import assert from 'node:assert/strict';
import { connect, type Client } from '../../../src/client/client.js';
import { openWatch, type WatchStream } from '../../../src/client/watch.js';

type Req = Record<string, any>;

export interface SeenEvent { rev: number; key: string; type: 'PUT' | 'DELETE'; value: string; prevValue?: string; response: number }

/** A write as acknowledged to its writer: the revision and the events it must produce. */
export interface AckedWrite { rev: number; events: { key: string; type: 'PUT' | 'DELETE'; value: string }[] }

export class WatchRecorder {
  readonly events: SeenEvent[] = [];
  /** Revisions of progress responses, with the number of events seen before each. */
  readonly bookmarks: { rev: number; eventsBefore: number }[] = [];
  /** The newest revision this client knows it has seen everything up to. */
  seenRev: number;
  resumes = 0;
  private responses = 0;
  private client?: Client;
  private stream?: WatchStream;
  private endpointAt = 0;
  private stopped = false;
  private failures: string[] = [];

  constructor(private readonly endpoints: string[], private readonly create: Req, startRev: number) {
    this.seenRev = startRev - 1;
  }

  start(): void {
    if (this.stopped) return;
    const endpoint = this.endpoints[this.endpointAt % this.endpoints.length]!;
    this.client = connect(endpoint);
    const stream = (this.stream = openWatch(this.client));
    stream.events.on('response', (r: Req) => this.onResponse(r));
    const resume = () => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      this.resumes++;
      this.client?.close();
      this.endpointAt++;
      setTimeout(() => this.start(), 200);
    };
    stream.events.on('error', resume);
    stream.events.on('end', resume);
    stream.create({ ...this.create, start_revision: this.seenRev + 1 });
  }

  /** Moves to another endpoint now, from the last revision seen + 1 (as after a broken stream). */
  reconnect(): void {
    const old = this.stream;
    this.stream = undefined;
    old?.close();
    this.client?.close();
    this.endpointAt++;
    this.start();
  }

  requestProgress(): void {
    this.stream?.requestProgress();
  }

  /** Waits until this client has seen everything up to `rev` (asking for progress meanwhile). */
  async reach(rev: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seenRev < rev) {
      if (Date.now() > deadline) throw new Error(`watcher stuck at revision ${this.seenRev}, wanted ${rev}`);
      this.requestProgress();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    this.stopped = true;
    this.stream?.close();
    this.client?.close();
  }

  private onResponse(r: Req): void {
    const n = this.responses++;
    if (r.canceled) this.failures.push(`watch canceled: ${r.cancel_reason ?? ''} compact ${r.compact_revision ?? 0}`);
    if (r.created) return;
    const events: Req[] = r.events ?? [];
    if (!events.length) {
      // A progress response: everything up to its revision has been sent before it.
      const rev = Number(r.header.revision);
      this.bookmarks.push({ rev, eventsBefore: this.events.length });
      this.seenRev = Math.max(this.seenRev, rev);
      return;
    }
    for (const e of events) {
      this.events.push({
        rev: Number(e.kv.mod_revision), key: e.kv.key.toString(), type: e.type === 1 ? 'DELETE' : 'PUT',
        value: e.kv.value?.toString() ?? '', prevValue: e.prev_kv?.value?.toString(), response: n,
      });
    }
    this.seenRev = Math.max(this.seenRev, Number(events.at(-1)!.kv.mod_revision));
  }

  /**
   * etcd's guarantees for the writes acknowledged in `acked` (every write, when `everyWrite`:
   * acknowledged or not, `attempted` values are the only ones that may appear):
   * ordered, unique, reliable, atomic, bookmarkable, and no event that nobody wrote.
   */
  check(acked: AckedWrite[], attempted: Set<string>, inRange: (key: string) => boolean, fromRev: number): void {
    assert.deepEqual(this.failures, [], 'no watcher was canceled');
    const ev = this.events;
    for (let i = 1; i < ev.length; i++) {
      // Ordered and unique: revisions never go back, and a (revision, key) comes once.
      assert.ok(ev[i]!.rev >= ev[i - 1]!.rev, `ordered: revision ${ev[i]!.rev} after ${ev[i - 1]!.rev}`);
      if (ev[i]!.rev === ev[i - 1]!.rev) {
        assert.notEqual(ev[i]!.key, ev[i - 1]!.key, `unique: ${ev[i]!.key}@${ev[i]!.rev} twice`);
        // Atomic: the events of one revision arrive in one response.
        assert.equal(ev[i]!.response, ev[i - 1]!.response, `atomic: revision ${ev[i]!.rev} split across responses`);
      }
    }
    const seen = new Map(ev.map((e) => [`${e.rev}/${e.key}`, e]));
    assert.equal(seen.size, ev.length, 'unique: no event delivered twice');
    for (const e of ev) {
      assert.ok(e.rev >= fromRev, `event ${e.key}@${e.rev} before the start revision ${fromRev}`);
      assert.ok(inRange(e.key), `event on ${e.key} outside the watched range`);
      if (e.type === 'PUT') assert.ok(attempted.has(e.value), `event ${e.key}=${e.value}@${e.rev} that no writer wrote`);
    }
    // Reliable: every acknowledged write in range shows up, with its value.
    let expected = 0;
    for (const w of acked) {
      if (w.rev < fromRev) continue;
      for (const x of w.events) {
        if (!inRange(x.key)) continue;
        expected++;
        const got = seen.get(`${w.rev}/${x.key}`);
        assert.ok(got, `reliable: ${x.type} ${x.key}@${w.rev} was acknowledged but never delivered`);
        assert.equal(got.type, x.type);
        if (x.type === 'PUT') assert.equal(got.value, x.value);
      }
    }
    assert.ok(expected > 0, 'the writers acknowledged writes in the watched range');
    // Bookmarkable: no event at or below a progress revision arrives after it.
    for (const b of this.bookmarks) {
      for (const e of ev.slice(b.eventsBefore)) assert.ok(e.rev > b.rev, `bookmark ${b.rev} followed by an event at ${e.rev}`);
    }
  }
}

/** Writers that put, put several keys in one txn, and delete under `prefix`, recording what was acknowledged. */
export class Writers {
  readonly acked: AckedWrite[] = [];
  readonly attempted = new Set<string>();
  failed = 0;

  constructor(private readonly endpoints: string[], private readonly prefix: string) {}

  async run(writers: number, opsEach: number): Promise<void> {
    await Promise.all(Array.from({ length: writers }, (_, w) => this.writer(w, opsEach)));
  }

  private async writer(w: number, ops: number): Promise<void> {
    let at = w;
    let client = connect(this.endpoints[at % this.endpoints.length]!);
    try {
      for (let i = 0; i < ops; i++) {
        const key = (k: number) => `${this.prefix}${w}/${k}`;
        const value = `v${w}-${i}`;
        this.attempted.add(value);
        try {
          switch (i % 5) {
            case 3: {
              const keys = [key(i % 7), key((i + 1) % 7), key((i + 2) % 7)];
              const vals = keys.map((_, j) => `${value}-${j}`);
              vals.forEach((v) => this.attempted.add(v));
              const r = await client.kv.Txn!({ success: keys.map((k, j) => ({ request_put: { key: Buffer.from(k), value: Buffer.from(vals[j]!) } })) }, { deadlineMs: 10_000 });
              this.acked.push({ rev: Number(r.header.revision), events: keys.map((k, j) => ({ key: k, type: 'PUT', value: vals[j]! })) });
              break;
            }
            case 4: {
              const r = await client.kv.DeleteRange!({ key: Buffer.from(key(i % 7)) }, { deadlineMs: 10_000 });
              if (Number(r.deleted ?? 0) > 0) this.acked.push({ rev: Number(r.header.revision), events: [{ key: key(i % 7), type: 'DELETE', value: '' }] });
              break;
            }
            default: {
              const r = await client.kv.Put!({ key: Buffer.from(key(i % 7)), value: Buffer.from(value) }, { deadlineMs: 10_000 });
              this.acked.push({ rev: Number(r.header.revision), events: [{ key: key(i % 7), type: 'PUT', value }] });
            }
          }
        } catch {
          // Unacknowledged: it may or may not have happened. Try the next endpoint.
          this.failed++;
          client.close();
          client = connect(this.endpoints[++at % this.endpoints.length]!);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      client.close();
    }
  }

  get lastRev(): number {
    return Math.max(0, ...this.acked.map((a) => a.rev));
  }
}
