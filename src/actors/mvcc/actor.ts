// The mvcc actor: the only LMDB writer. It applies committed entries in log order, many per
// LMDB transaction, publishes applied index and revision on the status board, sends the
// proposing gateway its already-encoded responses and, while anyone watches, the watch actor
// the events. It runs on the raft actor's thread, which hands it each Ready's committed entries
// by a call: on a machine with few cores, a thread of its own cost a wake-up and a message per
// batch and made a put slower, not faster.
import type { MessagePort } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE, MvccStore, type ApplyItem, type ApplyResult } from './store.js';
import { decodeProposal, type AppliedBatch } from './proposal.js';
import { send } from '../channel.js';
import { StatusBoard } from '../../server/status-board.js';
import { SharedHistogram } from '../../server/shared-histogram.js';
import { fsyncPath } from '../fsync.js';
import type { ApplyBatch } from '../raft/messages.js';
import { encodeResponse } from './responses.js';
import { packAuth } from './permissions.js';
import type { AppliedEvents } from '../watch/messages.js';
import type { RevisionEvents } from '../watch/core.js';

export interface MvccConfig {
  dbDir: string;
  memberId: number;
  clusterId: number;
  boot: number;
  board: SharedArrayBuffer;
  commitTimes: SharedArrayBuffer;
  gatewayPort: MessagePort;
  watchPort: MessagePort;
  /** Revisions a compaction removes per transaction. */
  compactionBatchLimit: number;
}

export type MvccActor = ReturnType<typeof openMvcc>;
export type MvccControl = MvccActor['control'];

/** `busy`: called while a long apply holds the thread (see MvccStore.applyBatch). */
export function openMvcc(cfg: MvccConfig, busy: () => void = () => {}) {
  const board = new StatusBoard(cfg.board);
  const commitTimes = new SharedHistogram(cfg.commitTimes);
  let store = MvccStore.open(cfg.dbDir);

  function publish(): void {
    board.set('keys', store.keyCount());
    board.set('appliedIndex', store.consistentIndex());
    board.set('revision', store.currentRevision());
    board.set('compactRevision', store.compactRevision());
  }

  function publishSizes(): void {
    board.set('dbSize', store.dbSize());
    board.set('dbSizeInUse', store.dbSizeInUse());
  }

  publish();
  publishSizes();
  setInterval(publishSizes, 1000).unref();

  /**
   * While the database file is being replaced (defragmentation, an installed snapshot), committed
   * batches wait here: applied to the old file after its copy was taken, they would be lost.
   */
  let held: ApplyBatch[] | undefined;
  /** Settles when no replacement is in progress: reads of the store wait for it. */
  let replaced: Promise<unknown> = Promise.resolve();

  function replacingStore<T>(replace: () => Promise<T>): Promise<T> {
    const run = replaced.then(async () => {
      held = [];
      try {
        return await replace();
      } finally {
        const waiting = held;
        held = undefined;
        waiting.forEach(apply);
        continueCompaction();
      }
    });
    replaced = run.catch(() => undefined);
    return run;
  }

  /** Closes the store, puts `file` in place of its database and opens that. */
  async function takeFile(file: string): Promise<void> {
    await store.close();
    fs.renameSync(file, path.join(cfg.dbDir, DB_FILE));
    fsyncPath(cfg.dbDir);
    store = MvccStore.open(cfg.dbDir);
    publish();
    publishSizes();
  }

  const defragCopy = () => path.join(cfg.dbDir, `${DB_FILE}.defrag`);

  /** Runs `read` on the store once no replacement is in progress. */
  const onStore = async <T>(read: () => T | Promise<T>): Promise<T> => {
    await replaced;
    return read();
  };

  /** Who waits for the running compaction to have removed its revisions: physical Compact requests, hashes. */
  let compactionWaiters: (() => void)[] = [];
  let compactionScheduled = false;

  /**
   * Removes compacted revisions a batch per event-loop turn: raft's messages and other batches
   * are handled in between, so that a large compaction never holds this thread for long.
   */
  function continueCompaction(): void {
    if (compactionScheduled || held) return;
    if (!store.compacting()) {
      const waiting = compactionWaiters;
      compactionWaiters = [];
      waiting.forEach((done) => done());
      return;
    }
    compactionScheduled = true;
    setImmediate(() => {
      compactionScheduled = false;
      if (!held) store.compactStep(cfg.compactionBatchLimit);
      continueCompaction();
    });
  }

  const compactionDone = () => new Promise<void>((resolve) => {
    compactionWaiters.push(resolve);
    continueCompaction();
  });

  /** While a compact copy of the database is made, the batches applied meanwhile, to replay on it. */
  let recording: ApplyBatch[] | undefined;
  /** The store the copy was made of. */
  let copiedFrom: MvccStore | undefined;

  /** A batch's entries as store operations, with the positions of this incarnation's own proposals. */
  function itemsOf(batch: ApplyBatch): { items: ApplyItem[]; waiting: { id: number; at: number }[] } {
    const items: ApplyItem[] = [];
    const waiting: { id: number; at: number }[] = [];
    for (const entry of batch.entries) {
      if (!entry.data.length) {
        items.push({ index: entry.index, term: entry.term, op: { type: 'noop' } });
        continue;
      }
      const p = decodeProposal(entry.data);
      if (p.origin === cfg.memberId && p.boot === cfg.boot) waiting.push({ id: p.id, at: items.length });
      items.push({ index: entry.index, term: entry.term, op: p.op, ...(p.auth ? { auth: p.auth } : {}) });
    }
    return { items, waiting };
  }

  function apply(batch: ApplyBatch): void {
    recording?.push(batch);
    const { items, waiting } = itemsOf(batch);
    const membershipBefore = store.members();
    const alarmsBefore = store.alarms();
    const authBefore = store.auth();
    const started = performance.now();
    // Without watchers no events are gathered (nor the previous values they carry).
    const watching = !!board.get('watching');
    const revisionBefore = store.currentRevision();
    const results = store.applyBatch(items, watching, busy);
    commitTimes.observe((performance.now() - started) / 1000);
    publish();
    // The quota is checked against the database's size: keep it current after every write.
    board.set('dbSize', store.dbSize());
    if (watching) sendEvents(results);
    // A first watcher may have come during the batch and read the revision from before it.
    else if (board.get('watching') && store.currentRevision() > revisionBefore) {
      send(cfg.watchPort, { revisions: [], missed: true } satisfies AppliedEvents);
    }
    const out: AppliedBatch = { applied: store.consistentIndex(), revision: store.currentRevision(), results: [] };
    if (store.members() !== membershipBefore) out.membership = store.members();
    const leases = store.takeLeaseChanges();
    if (leases.length) out.leases = leases;
    if (store.alarms() !== alarmsBefore) out.alarms = store.alarms();
    if (store.auth() !== authBefore) out.auth = packAuth(store.auth());
    const tokens = assignedTokens(items, results);
    if (tokens.length) out.tokens = tokens;
    const physical: AppliedBatch['results'] = [];
    for (const w of waiting) {
      const r: ApplyResult | undefined = results[w.at];
      if (!r) continue; // skipped: already applied before a restart
      const op = items[w.at]!.op;
      if ('error' in r) out.results.push({ id: w.id, error: { code: r.error.code, message: r.error.message } });
      else {
        const header = { cluster_id: cfg.clusterId, member_id: cfg.memberId, revision: r.revision, raft_term: batch.term };
        // A physical compaction answers once its revisions are removed.
        (op.type === 'compact' && op.req.physical ? physical : out.results).push({ id: w.id, bytes: encodeResponse(op, header, r.response) });
      }
    }
    if (physical.length) void compactionDone().then(() => send(cfg.gatewayPort, { applied: store.consistentIndex(), revision: store.currentRevision(), results: physical } satisfies AppliedBatch));
    continueCompaction();
    // Only a batch with results, a new membership, lease or alarm changes, or a read waiting for it is worth a message:
    // the gateway reads the applied index from the board otherwise.
    const wanted = board.get('appliedWanted');
    if (out.results.length || out.membership || out.leases || out.alarms || out.auth || out.tokens || (wanted && out.applied >= wanted)) send(cfg.gatewayPort, out);
  }

  function assignedTokens(items: ApplyItem[], results: (ApplyResult | undefined)[]): { token: string; user: string }[] {
    const tokens: { token: string; user: string }[] = [];
    items.forEach(({ op }, i) => {
      const r = results[i];
      if (op.type === 'auth' && op.call.method === 'Authenticate' && r && !('error' in r) && r.response.token) tokens.push({ token: r.response.token, user: op.call.req.name });
    });
    return tokens;
  }

  /** The watch actor gets every revision's events once it is committed (it reads the store for more). */
  function sendEvents(results: (ApplyResult | undefined)[]): void {
    const revisions: RevisionEvents[] = [];
    for (const r of results) if (r && !('error' in r) && r.events.length) revisions.push({ rev: r.revision, events: r.events });
    if (revisions.length) send(cfg.watchPort, { revisions } satisfies AppliedEvents);
  }

  const control = {
    consistentIndex: () => store.consistentIndex(),
    members: () => store.members(),
    leases: () => onStore(() => store.leases()),
    alarms: () => onStore(() => store.alarms()),
    auth: () => onStore(() => store.auth()),
    flush: () => onStore(() => store.flush()),
    /** Copies the database to `file` for a raft snapshot; returns the index, term and membership it holds. */
    snapshot: async (file: string) => {
      await onStore(() => store.backup(file));
      const copy = MvccStore.open(path.dirname(file), path.basename(file));
      try {
        return { index: copy.consistentIndex(), term: copy.consistentTerm(), membership: copy.members() };
      } finally {
        await copy.close();
      }
    },
    /** Replaces the database with a snapshot received from the leader; the caller has closed every reader. */
    install: (file: string) => replacingStore(async () => {
      await takeFile(file);
      return { index: store.consistentIndex(), term: store.consistentTerm(), membership: store.members() };
    }),
    // Revisions a compaction has yet to remove would count: every member hashes after its own.
    hashKV: (rev: number) => onStore(async () => {
      await compactionDone();
      return store.hashKV(rev);
    }),
    hash: () => onStore(() => store.hash()),
    /** A consistent copy of the database for snapshots and defragmentation. */
    backup: (path: string) => onStore(() => store.backup(path)),
    /**
     * Defragmentation, first step: a compact copy of the database, made while writes go on; the
     * batches applied meanwhile are kept to be replayed on the copy.
     */
    copyForDefragment: async () => {
      recording = [];
      copiedFrom = store;
      try {
        await store.backup(defragCopy(), true);
      } catch (err) {
        recording = undefined;
        throw err;
      }
    },
    /**
     * Second step, with writes held (the caller has closed every reader): the copy catches up
     * with the batches applied since it was begun (those it already holds are skipped by index),
     * then replaces the database.
     */
    finishDefragment: () => replacingStore(async () => {
      const batches = recording ?? [];
      recording = undefined;
      if (copiedFrom !== store) {
        // A snapshot replaced the database meanwhile: the copy is of data no longer there.
        fs.rmSync(defragCopy(), { force: true });
        return;
      }
      const copy = MvccStore.open(cfg.dbDir, path.basename(defragCopy()));
      try {
        // Without events: theirs went out when the batches were first applied.
        for (const batch of batches) copy.applyBatch(itemsOf(batch).items, false);
      } finally {
        await copy.close();
      }
      await takeFile(defragCopy());
    }),
    close: () => store.close(),
  };

  // A compaction a restart interrupted goes on.
  continueCompaction();

  return {
    /** Applies committed entries, or holds them while the database file is being replaced. */
    apply: (batch: ApplyBatch) => {
      if (held) held.push(batch);
      else apply(batch);
    },
    control,
  };
}
