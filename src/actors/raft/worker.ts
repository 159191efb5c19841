// The raft actor: the shell around the pure RaftCore. It owns the core, turns each Ready
// into I/O (entries to the WAL actor, committed entries to the mvcc actor, read states to the
// gateway) and drives the clock. All of a turn's inputs are handled before one Ready is drawn.
import { workerData, type MessagePort } from 'node:worker_threads';
import { RaftCore, type Entry, type HardState, type Ready } from './core.js';
import { send, receive } from '../channel.js';
import { exposeControl } from '../control.js';
import { StatusBoard } from '../../server/status-board.js';
import type { GatewayToRaft, RaftToGateway, ApplyBatch } from './messages.js';
import type { WalToRaft, RaftToWal } from '../wal/messages.js';

export interface RaftWorkerData {
  id: number;
  voters: number[];
  heartbeatMs: number;
  electionTick: number;
  applied: number;
  board: SharedArrayBuffer;
  gatewayPort: MessagePort;
  walPort: MessagePort;
  mvccPort: MessagePort;
}

const cfg = workerData as RaftWorkerData;
const board = new StatusBoard(cfg.board);
let core: RaftCore | undefined;
let drainScheduled = false;
let started: (() => void) | undefined;
const whenStarted = new Promise<void>((resolve) => (started = resolve));

// Proposals that arrive while no leader is known wait one election timeout for one.
const waiting: { id: number; data: Uint8Array; deadline: number }[] = [];
let ticks = 0;

function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drain);
}

function drain(): void {
  drainScheduled = false;
  if (!core) return;
  let rd: Ready | null;
  while ((rd = core.ready())) handleReady(rd);
}

function handleReady(rd: Ready): void {
  if (rd.softState) {
    board.set('leader', rd.softState.leader);
    if (rd.softState.leader) retryWaiting();
  }
  if (rd.entries.length || rd.hardState) {
    const msg: RaftToWal = { t: 'append', entries: rd.entries, hardState: rd.hardState };
    send(cfg.walPort, msg);
    if (rd.entries.length) board.set('lastIndex', rd.entries[rd.entries.length - 1]!.index);
  }
  if (rd.hardState) {
    board.set('term', rd.hardState.term);
    board.set('commitIndex', rd.hardState.commit);
  }
  if (rd.committedEntries.length) {
    const batch: ApplyBatch = { term: board.get('term'), entries: rd.committedEntries };
    send(cfg.mvccPort, batch);
  }
  for (const rs of rd.readStates) {
    const msg: RaftToGateway = { t: 'readIndex', ctx: decodeCtx(rs.context), index: rs.index };
    send(cfg.gatewayPort, msg);
  }
  core!.advance();
}

const encodeCtx = (ctx: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, ctx);
  return b;
};
const decodeCtx = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);

function propose(items: { id: number; data: Uint8Array }[]): void {
  const rejected: number[] = [];
  for (const item of items) {
    if (core!.propose(item.data).ok) continue;
    if (waiting.length < 100_000) waiting.push({ ...item, deadline: ticks + cfg.electionTick });
    else rejected.push(item.id);
  }
  if (rejected.length) send(cfg.gatewayPort, { t: 'rejected', ids: rejected, reason: 'noLeader' } satisfies RaftToGateway);
  scheduleDrain();
}

function retryWaiting(): void {
  const items = waiting.splice(0);
  if (items.length) propose(items);
}

function expireWaiting(): void {
  if (!waiting.length || waiting[0]!.deadline > ticks) return;
  const expired: number[] = [];
  while (waiting.length && waiting[0]!.deadline <= ticks) expired.push(waiting.shift()!.id);
  send(cfg.gatewayPort, { t: 'rejected', ids: expired, reason: 'noLeader' } satisfies RaftToGateway);
}

function start(hardState: HardState, entries: Entry[]): void {
  core = new RaftCore({
    id: cfg.id,
    voters: cfg.voters,
    electionTick: cfg.electionTick,
    heartbeatTick: 1,
    random: Math.random,
    checkQuorum: true,
    initial: { hardState, entries },
    applied: cfg.applied,
  });
  setInterval(() => {
    ticks++;
    core!.tick();
    expireWaiting();
    scheduleDrain();
  }, cfg.heartbeatMs).unref();
  scheduleDrain();
  started!();
}

receive<WalToRaft>(cfg.walPort, (msg) => {
  if (msg.t === 'replayed') start(msg.hardState, msg.entries);
  else if (msg.t === 'persisted') {
    core!.persisted(msg.index, msg.term);
    scheduleDrain();
  }
});

receive<GatewayToRaft>(cfg.gatewayPort, (msg) => {
  if (!core) return;
  if (msg.t === 'propose') propose(msg.items);
  else {
    core.readIndex(encodeCtx(msg.ctx));
    scheduleDrain();
  }
});

const control = {
  /** Resolves once the WAL has been replayed and the core runs. */
  started: () => whenStarted,
  status: () => core!.status(),
};
export type RaftControl = typeof control;
exposeControl(control);
