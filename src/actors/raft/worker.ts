// The raft actor: the shell around the pure RaftCore. It owns the core and the WAL, turns each
// Ready into I/O (entries to the WAL with group fsync, committed entries to the mvcc actor, read
// states to the gateway) and drives the clock. All of a turn's inputs are handled before one
// Ready is drawn. The WAL lives on this thread: its write is one short syscall and fdatasync
// runs on libuv's pool, so a WAL thread would only add two thread hops to every write.
import { workerData, type MessagePort } from 'node:worker_threads';
import { RaftCore, type Entry, type HardState, type Ready } from './core.js';
import { send, receive } from '../channel.js';
import { exposeControl } from '../control.js';
import { StatusBoard } from '../../server/status-board.js';
import type { GatewayToRaft, RaftToGateway, ApplyBatch } from './messages.js';
import { Wal } from '../wal/wal.js';
import { GroupSync } from '../wal/group-sync.js';

export interface RaftWorkerData {
  id: number;
  voters: number[];
  heartbeatMs: number;
  electionTick: number;
  applied: number;
  board: SharedArrayBuffer;
  walDir: string;
  gatewayPort: MessagePort;
  mvccPort: MessagePort;
}

const cfg = workerData as RaftWorkerData;
const board = new StatusBoard(cfg.board);
let core: RaftCore | undefined;
let drainScheduled = false;

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
    wal.append(rd.entries, rd.hardState);
    const tail = rd.entries.at(-1);
    if (tail) {
      lastWritten = { index: tail.index, term: tail.term };
      board.set('lastIndex', tail.index);
    }
    durability.wrote(lastWritten);
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

// A corrupt log throws here: the worker's error reaches the member, which logs it and exits.
const { wal, replayed } = Wal.open(cfg.walDir, {
  onTornTail: (file, offset) => process.emitWarning(`wal: truncated torn tail of ${file} at offset ${offset}`),
});
let lastWritten = { index: replayed.entries.at(-1)?.index ?? 0, term: replayed.entries.at(-1)?.term ?? 0 };
const durability = new GroupSync<{ index: number; term: number }>(
  () => wal.sync(),
  (upTo) => {
    core!.persisted(upTo.index, upTo.term);
    scheduleDrain();
  },
  (err) => {
    throw err; // an fsync failure is fatal, as in etcd: nothing more may be acknowledged
  },
);

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
}

start(replayed.hardState, replayed.entries);

receive<GatewayToRaft>(cfg.gatewayPort, (msg) => {
  if (!core) return;
  if (msg.t === 'propose') propose(msg.items);
  else {
    core.readIndex(encodeCtx(msg.ctx));
    scheduleDrain();
  }
});

const control = {
  /** Answers once the WAL has been replayed and the core runs. */
  started: () => true,
  status: () => core!.status(),
};
export type RaftControl = typeof control;
exposeControl(control);
