// The watch actor: owns the watcher registry (the watch core). It takes applied revisions'
// events straight from the mvcc actor and the clients' stream requests from the gateway, reads
// history for watchers behind, and hands the gateway encoded WatchResponses to write.
import { workerData, type MessagePort } from 'node:worker_threads';
import { send, receive } from '../channel.js';
import { exposeControl } from '../control.js';
import { StatusBoard } from '../../server/status-board.js';
import { WatchCore, type WatchLimits } from './core.js';
import { LmdbHistory } from './history.js';
import { headerField } from './response.js';
import { joinFrames } from '../../protocol/grpc-frames.js';
import type { AppliedEvents, WatchOutput, WatchRequestItem, WatchRequests } from './messages.js';

export interface WatchWorkerData {
  dbDir: string;
  memberId: number;
  clusterId: number;
  board: SharedArrayBuffer;
  mvccPort: MessagePort;
  gatewayPort: MessagePort;
  limits: WatchLimits;
  progressIntervalMs: number;
}

const cfg = workerData as WatchWorkerData;
const board = new StatusBoard(cfg.board);
const history = new LmdbHistory(cfg.dbDir);
const header = (revision: number) =>
  headerField({ cluster_id: cfg.clusterId, member_id: cfg.memberId, revision, raft_term: board.get('term') });
const core = new WatchCore(history, header, cfg.limits, (on) => board.set('watching', on ? 1 : 0), flushOutput);

/** While the store file is being replaced, requests wait: creating a watcher reads the store. */
let paused: WatchRequestItem[] | undefined;
let scheduled = false;

function handle(item: WatchRequestItem): void {
  switch (item.t) {
    case 'create': return core.create(item.s, item.req);
    case 'cancel': return core.cancel(item.s, item.id);
    case 'progress': return core.requestProgress(item.s);
    case 'close': return core.closeStream(item.s);
    case 'ack': return core.acknowledge(item.s, item.bytes);
  }
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(turn);
}

function flushOutput(): void {
  board.set('watchersBehind', core.behindCount);
  const out = core.takeOutput();
  // Framed here, so that the gateway writes each stream's bytes as they come.
  if (out.size) send(cfg.gatewayPort, { streams: [...out].map(([s, responses]) => ({ s, frames: joinFrames(responses), count: responses.length })) } satisfies WatchOutput);
}

// One turn: a bounded catch-up step, then everything produced goes out in one message.
function turn(): void {
  scheduled = false;
  if (!paused && core.catchingUp) core.catchUp();
  flushOutput();
  if (!paused && core.catchingUp) schedule();
}

// Live events go out at once: one message from the mvcc actor is one apply batch already.
receive<AppliedEvents>(cfg.mvccPort, (m) => {
  if (m.missed) core.missedRevisions();
  core.applied(m.revisions);
  flushOutput();
  if (core.catchingUp) schedule();
});

receive<WatchRequests>(cfg.gatewayPort, (m) => {
  if (paused) paused.push(...m.items);
  else m.items.forEach(handle);
  schedule();
});

setInterval(() => {
  core.progressTick();
  schedule();
}, cfg.progressIntervalMs).unref();

const control = {
  /** Releases the store file before it is replaced; requests wait until reopenHistory. */
  closeHistory: async () => {
    paused ??= [];
    await history.close();
  },
  /** The store file is back; `replaced`: its content changed under the watchers (a snapshot was installed). */
  reopenHistory: (replaced: boolean) => {
    const waiting = paused ?? [];
    paused = undefined;
    if (replaced) core.missedRevisions();
    waiting.forEach(handle);
    schedule();
  },
};
export type WatchControl = typeof control;
exposeControl(control);
