// The store's history as the watch core reads it: the revisions database in one LMDB read
// transaction, each event with the KeyValue its key had just before it.
import { openDatabases, viewOf, type Databases } from '../mvcc/store.js';
import { revKey, revKeyMain } from '../mvcc/key-index.js';
import type { View } from '../mvcc/range.js';
import { keyOfKeyValue } from '../mvcc/keyvalue.js';
import type { WatchEvent } from '../mvcc/store.js';
import type { History, HistoryView, RevisionEvents } from './core.js';

const TOMBSTONE = 1;

export class LmdbHistory implements History {
  private dbs: Databases | undefined;

  constructor(private readonly dbDir: string) {}

  view(): HistoryView {
    const dbs = (this.dbs ??= openDatabases(this.dbDir));
    // A fresh snapshot: the writer commits before it reports a revision.
    dbs.root.resetReadTxn();
    const transaction = dbs.root.useReadTransaction();
    const opts = { transaction } as never;
    const store = viewOf(dbs, transaction);
    return {
      currentRev: (dbs.meta.get('revision', opts) as number | undefined) ?? 1,
      compactRev: (dbs.meta.get('compactRevision', opts) as number | undefined) ?? 0,
      read: (from, to, limits) => {
        const revisions: RevisionEvents[] = [];
        let bytes = 0;
        let through = from - 1;
        for (const { key, value } of dbs.rev.getRange({ start: revKey(from, 0), end: revKey(to + 1, 0), transaction } as never)) {
          const main = revKeyMain(key as Buffer);
          if (main !== through) {
            // A revision is whole before the next one starts: stop at a boundary once full.
            if (revisions.length >= limits.maxRevs || bytes >= limits.maxBytes) break;
            revisions.push({ rev: main, events: [] });
          }
          const v = value as Buffer;
          const kv = Buffer.from(v.subarray(1));
          const event: WatchEvent = { type: v[0] === TOMBSTONE ? 1 : 0, kv };
          const prev = limits.withPrev ? previous(store, kv, main) : undefined;
          if (prev) event.prev_kv = prev;
          revisions.at(-1)!.events.push(event);
          bytes += kv.length + (prev?.length ?? 0);
          through = main;
        }
        // Nothing stopped the read early: every revision up to `to` is covered, changed or not.
        if (revisions.length < limits.maxRevs && bytes < limits.maxBytes) through = to;
        return { revisions, through };
      },
      done: () => {
        transaction.done();
        dbs.root.resetReadTxn();
      },
    };
  }

  /** Closes the database handles (before the file is replaced); the next view reopens them. */
  async close(): Promise<void> {
    const dbs = this.dbs;
    this.dbs = undefined;
    await dbs?.root.close();
  }
}

/** The key's KeyValue before revision `main`, if it existed and is not compacted away. */
function previous(view: View, kv: Buffer, main: number): Buffer | undefined {
  const r = view.revisionBefore(keyOfKeyValue(kv), main);
  const stored = r && !r.tombstone ? view.revision(r) : undefined;
  return stored ? Buffer.from(stored) : undefined;
}
