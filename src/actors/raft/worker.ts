// The raft actor: the shell around the pure RaftCore. It owns the core, the WAL and the peer
// transport, and hosts the mvcc actor. Each Ready becomes I/O: entries and hard state to the
// WAL with group fsync, messages to peers, committed entries to the mvcc actor, read states to
// the gateway. Messages of a Ready that changed the term, the vote or the log leave only after
// its fsync (a vote or an acknowledgement must survive a crash), except the leader's appends,
// which go out at once so that followers write in parallel with the leader; news of a commit
// that no client waits on leaves after the apply (see commit-news.ts). The WAL lives on this
// thread; its fsync too, as in etcd's raft loop.
import { workerData, type MessagePort } from 'node:worker_threads';
import fs from 'node:fs';
import { RaftCore, EntryType, type Entry, type HardState, type Message, type Ready } from './core.js';
import { send, receive } from '../channel.js';
import { exposeControl } from '../control.js';
import { StatusBoard } from '../../server/status-board.js';
import { SharedHistogram, SharedHistograms } from '../../server/shared-histogram.js';
import type { GatewayToRaft, ProposedItem, RaftToGateway, RejectReason } from './messages.js';
import { confChangeOf } from './confchange.js';
import { Wal } from '../wal/wal.js';
import { CommitNews } from './commit-news.js';
import { PeerTransport, type PeerInfo } from './transport.js';
import type { TlsMaterial } from '../../server/transport-security.js';
import { encodeProposal } from '../mvcc/proposal.js';
import { confStateOf, type MemberRecord } from '../mvcc/members.js';
import { openMvcc, type MvccConfig } from '../mvcc/actor.js';
import { createLogger } from '../../server/logger.js';

export interface RaftWorkerData {
  id: number;
  clusterId: number;
  logLevel: string;
  /** The peers to reach while the store holds no membership yet: the initial cluster, or the one joined. */
  initialPeers: PeerInfo[];
  /** A new cluster: these members become the first log entries when the WAL is empty. */
  bootstrap?: MemberRecord[];
  heartbeatMs: number;
  electionTick: number;
  preVote: boolean;
  /** Entries kept in memory for slow followers; one further behind gets a snapshot. */
  catchupEntries: number;
  /** Applied entries after which the store is flushed and the WAL before it released. */
  snapshotCount: number;
  autoPromoteLearners: boolean;
  board: SharedArrayBuffer;
  fsyncTimes: SharedArrayBuffer;
  peerRoundTrips: SharedArrayBuffer;
  walDir: string;
  snapDir: string;
  listenPeerUrls: string[];
  advertisePeerUrls: string[];
  /** TLS of the peer URLs, when configured. */
  tls?: TlsMaterial;
  gatewayPort: MessagePort;
  mvcc: MvccConfig;
}

const cfg = workerData as RaftWorkerData;
const board = new StatusBoard(cfg.board);
const peerRoundTrips = new SharedHistograms(cfg.peerRoundTrips);
/** When the leader last sent each follower a heartbeat: its answer gives the round-trip time. */
const heartbeatSent = new Map<number, number>();

function measureRoundTrip(peer: number): void {
  const sent = heartbeatSent.get(peer);
  if (sent === undefined) return;
  heartbeatSent.delete(peer);
  peerRoundTrips.observe(peer, (performance.now() - sent) / 1000);
}
const log = createLogger(cfg.logLevel, { 'local-member-id': cfg.id.toString(16) });
const toGateway = (m: RaftToGateway) => send(cfg.gatewayPort, m);
const mvcc = openMvcc(cfg.mvcc, stillAlive);
const storedMembership = mvcc.control.members();

let core!: RaftCore;
let drainScheduled = false;
let ticks = 0;
let nextReq = 1;
/** A lone voter has been linked to its quorum since it started. */
const startedAt = Date.now();

// Proposals that arrive while no leader is known wait one election timeout for one.
const waiting: (ProposedItem & { deadline: number })[] = [];
const peers = new Map<number, PeerInfo>((storedMembership.members.length ? storedMembership.members : cfg.initialPeers).map((p) => [p.id, { id: p.id, peerURLs: p.peerURLs }]));
/** Members removed from the cluster: their traffic is refused. */
const removed = new Set(storedMembership.removed);
const snapshotRequests = new Map<number, Message>();
const snapshotInstalls = new Map<number, { message: Message; done: (err?: Error) => void }>();
const transfers: { req: number; to: number; deadline: number }[] = [];
let promoting = new Set<number>();
let appliedSinceCompaction = 0;
let compacting = false;
let lastLeader = 0;

function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drain);
}

function drain(): void {
  drainScheduled = false;
  // Every Ready is persisted and its messages sent before anything is applied: what an fsync
  // made durable (a follower's acknowledgement, a leader's commit) leaves in the next Ready,
  // ahead of the applies.
  const applies: Apply[] = [];
  let rd: Ready | null;
  while ((rd = core.ready())) {
    const apply = persistAndSend(rd);
    core.advance();
    if (apply.synced) core.persisted(lastWritten.index, lastWritten.term);
    applies.push(apply);
  }
  for (const a of applies) applyCommitted(a);
  writeDeferredHardState();
}

const commitNews = new CommitNews();

/**
 * A long apply (a delete of many keys, a large batch) holds this thread, so no tick runs and no
 * peer message is read. Every heartbeat interval of it, the peers hear from this member anyway:
 * otherwise followers would elect another leader, or the leader step down, meanwhile.
 */
let peersHeardAt = 0;
function stillAlive(): void {
  const now = performance.now();
  if (now - peersHeardAt < cfg.heartbeatMs) return;
  peersHeardAt = now;
  transport.send(core.keepAlive());
}

let lastHard: HardState = { term: 0, vote: 0, commit: 0 };
/**
 * A hard state that changed only its commit index. Nothing waits for it (no fsync, and a
 * restart re-learns the commit, taking at least what the store applied), so it is written
 * after the applies instead of before them, or with the next write of entries.
 */
let deferredHard: HardState | undefined;

function writeDeferredHardState(): void {
  if (!deferredHard) return;
  wal.append([], deferredHard);
  deferredHard = undefined;
}
let lastWritten = { index: 0, term: 0 };

/** What a Ready leaves to do once persisted: its committed entries, and news that may wait for them. */
interface Apply { synced: boolean; term: number; entries: Entry[]; afterApply: Message[] }

function persistAndSend(rd: Ready): Apply {
  if (rd.softState) onSoftState(rd.softState.leader);
  const mustSync = rd.entries.length > 0 || !!rd.snapshot || (!!rd.hardState && (rd.hardState.term !== lastHard.term || rd.hardState.vote !== lastHard.vote));
  // Appends to followers leave first: they persist them while this member writes its own copy
  // (Raft thesis 10.2.1), and so do proposals forwarded to the leader, which claim nothing about
  // this member's log. Other messages may depend on this member's write (a vote, an
  // acknowledgement) and wait until it is durable; news of a commit that no client waits on
  // leaves after the apply.
  const now: Message[] = [];
  const later: Message[] = [];
  const afterApply: Message[] = [];
  // Not when a membership change among the committed entries changes the peers before the apply.
  const firstCommitted = rd.committedEntries[0]?.index ?? 0;
  const newsMayWait = firstCommitted > 0 && !rd.committedEntries.some((e) => e.type === EntryType.ConfChange);
  for (const m of rd.messages) {
    if (m.type === 'snap') requestSnapshot(m);
    else if (mustSync && m.type !== 'app' && m.type !== 'prop') later.push(m);
    else if (commitNews.mayWait(m, firstCommitted) && newsMayWait) afterApply.push(m);
    else now.push(m);
  }
  for (const m of now) if (m.type === 'heartbeat') heartbeatSent.set(m.to, performance.now());
  transport.send(now);
  if (rd.hardState && !mustSync) {
    deferredHard = lastHard = rd.hardState;
  } else if (rd.entries.length || rd.hardState || rd.snapshot) {
    wal.append(rd.entries, rd.hardState ?? deferredHard, rd.snapshot);
    deferredHard = undefined;
    // A restored snapshot may keep the log that follows it.
    if (rd.snapshot && rd.snapshot.index > lastWritten.index) lastWritten = { index: rd.snapshot.index, term: rd.snapshot.term };
    const tail = rd.entries.at(-1);
    if (tail) lastWritten = { index: tail.index, term: tail.term };
    board.set('lastIndex', lastWritten.index);
    if (rd.hardState) lastHard = rd.hardState;
    syncWal();
  }
  transport.send(later);
  if (rd.hardState) {
    board.set('term', rd.hardState.term);
    board.set('commitIndex', rd.hardState.commit);
  }
  if (rd.committedEntries.length) {
    for (const e of rd.committedEntries) if (e.type === EntryType.ConfChange) onConfChange(e);
    appliedSinceCompaction += rd.committedEntries.length;
    if (appliedSinceCompaction >= cfg.snapshotCount && !compacting) {
      compacting = true;
      toGateway({ t: 'flushStore' });
    }
  }
  for (const rs of rd.readStates) toGateway({ t: 'readIndex', ctx: decodeCtx(rs.context), index: rs.index });
  return { synced: mustSync, term: rd.hardState?.term ?? board.get('term'), entries: rd.committedEntries, afterApply };
}

function applyCommitted({ term, entries, afterApply }: Apply): void {
  if (entries.length) {
    peersHeardAt = performance.now(); // counted from the apply's start
    mvcc.apply({ term, entries });
  }
  transport.send(afterApply);
  if (entries.length) commitNews.applied(entries.at(-1)!.index);
}

/** Since when each peer's connection has been up (as seen at ticks). */
const linkedPeers = new Map<number, number>();

/** Publishes since when this member has been linked to its leader or, leading, to a quorum of voters. */
function publishLinks(): void {
  const now = Date.now();
  const up = new Set(transport.connected());
  for (const id of linkedPeers.keys()) if (!up.has(id)) linkedPeers.delete(id);
  for (const id of up) if (!linkedPeers.has(id)) linkedPeers.set(id, now);
  const { leader, voters } = core.status();
  let since = 0;
  if (leader === cfg.id) {
    // The quorum's other voters, the longest linked first: linked to a quorum since the last of them.
    const needed = Math.floor(voters.length / 2);
    const times = voters.filter((id) => id !== cfg.id).map((id) => linkedPeers.get(id)).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    since = needed === 0 ? startedAt : times.length >= needed ? times[needed - 1]! : 0;
  } else if (leader) {
    since = linkedPeers.get(leader) ?? 0;
  }
  board.set('linkedSince', since);
}

function onSoftState(leader: number): void {
  board.set('leader', leader);
  if (leader === cfg.id && leader !== lastLeader) board.set('leaderElectedAt', Date.now());
  if (leader !== lastLeader) {
    if (leader) log.info({ leader: leader.toString(16), term: core.status().term }, 'raft leader elected');
    else log.info({ term: core.status().term }, 'raft lost leader');
    lastLeader = leader;
  }
  if (leader) retryWaiting();
  for (let i = transfers.length - 1; i >= 0; i--) {
    if (transfers[i]!.to !== leader) continue;
    toGateway({ t: 'transferred', req: transfers[i]!.req, ok: true });
    transfers.splice(i, 1);
  }
}

function onConfChange(e: Entry): void {
  const change = confChangeOf(e.data);
  const urls = change.member?.peerURLs;
  if (change.type === 'remove') {
    peers.delete(change.id);
    removed.add(change.id);
  }
  else if (urls?.length) peers.set(change.id, { id: change.id, peerURLs: urls });
  transport.setPeers([...peers.values()]);
  if (change.type === 'remove' && change.id === cfg.id) toGateway({ t: 'removed' });
}

// Leader side: the gateway copies the store, the transport streams it.
function requestSnapshot(m: Message): void {
  const req = nextReq++;
  snapshotRequests.set(req, m);
  toGateway({ t: 'makeSnapshot', req });
}

function onSnapshotMade(msg: Extract<GatewayToRaft, { t: 'snapshotMade' }>): void {
  const m = snapshotRequests.get(msg.req);
  snapshotRequests.delete(msg.req);
  if (!m) return;
  if (!msg.file || !msg.snapshot) {
    core.snapshotReported(m.to);
    return;
  }
  const file = msg.file;
  log.info({ 'remote-peer-id': m.to.toString(16), index: msg.snapshot.index }, 'sending a snapshot');
  transport
    .sendSnapshot({ ...m, snapshot: msg.snapshot }, file)
    .then(() => {
      log.info({ 'remote-peer-id': m.to.toString(16), index: msg.snapshot!.index }, 'sent a snapshot');
      core.snapshotReported(m.to, msg.snapshot!.index);
    })
    .catch((err: Error) => {
      log.warn({ 'remote-peer-id': m.to.toString(16), error: err.message }, 'failed to send a snapshot');
      core.snapshotReported(m.to);
    })
    .finally(scheduleDrain)
    .finally(() => fs.rmSync(file, { force: true }));
}

// Follower side: the gateway installs it (its readers hold the old file), then the core restores.
function installSnapshot(message: Message, file: string): Promise<void> {
  const req = nextReq++;
  return new Promise<void>((resolve, reject) => {
    snapshotInstalls.set(req, { message, done: (err) => (err ? reject(err) : resolve()) });
    toGateway({ t: 'installSnapshot', req, file });
  });
}

function onSnapshotInstalled(msg: Extract<GatewayToRaft, { t: 'snapshotInstalled' }>): void {
  const pending = snapshotInstalls.get(msg.req);
  snapshotInstalls.delete(msg.req);
  if (!pending) return;
  if (msg.error || !msg.membership) return pending.done(new Error(msg.error ?? 'no membership'));
  for (const r of msg.membership.members) if (r.peerURLs.length) peers.set(r.id, { id: r.id, peerURLs: r.peerURLs });
  for (const id of msg.membership.removed) {
    removed.add(id);
    peers.delete(id);
  }
  transport.setPeers([...peers.values()]);
  core.step(pending.message);
  scheduleDrain();
  log.info({ index: pending.message.snapshot!.index }, 'installed a snapshot from the leader');
  pending.done();
}

// Log compaction: the store is durable up to `index`, so the WAL keeps only what follows.
function compactWal(index: number, term: number): void {
  try {
    wal.markCompacted({ index, term }, lastHard);
    wal.sync();
    const removed = wal.release(index);
    log.info({ index, 'released-segments': removed.length }, 'compacted the raft log');
  } finally {
    appliedSinceCompaction = 0;
    compacting = false;
  }
}

const encodeCtx = (ctx: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, ctx);
  return b;
};
const decodeCtx = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);

function stepForwarded(m: Message): void {
  core.step(m);
  commitNews.forwardedProposal(m.from, core.lastIndex());
}

function propose(items: ProposedItem[]): void {
  const rejected = new Map<RejectReason, number[]>();
  const reject = (reason: RejectReason, id: number) => rejected.set(reason, [...(rejected.get(reason) ?? []), id]);
  for (const item of items) {
    const r = core.propose(item.data, item.conf ? EntryType.ConfChange : EntryType.Normal);
    if (r.ok) continue;
    if (r.reason === 'noLeader' && waiting.length < 100_000) waiting.push({ ...item, deadline: ticks + cfg.electionTick });
    else reject(r.reason, item.id);
  }
  for (const [reason, ids] of rejected) toGateway({ t: 'rejected', ids, reason });
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
  toGateway({ t: 'rejected', ids: expired, reason: 'noLeader' });
}

function expireTransfers(): void {
  for (let i = transfers.length - 1; i >= 0; i--) {
    if (transfers[i]!.deadline > ticks) continue;
    toGateway({ t: 'transferred', req: transfers[i]!.req, ok: false });
    transfers.splice(i, 1);
  }
}

// --auto-promote-learners: the leader promotes a learner once it is ready as etcd requires of
// a manual promotion.
function promoteReadyLearners(): void {
  const s = core.status();
  if (!cfg.autoPromoteLearners || s.role !== 'leader') return;
  promoting = new Set([...promoting].filter((id) => s.learners.includes(id)));
  for (const id of s.readyLearners) {
    if (promoting.has(id)) continue;
    const data = encodeProposal({ origin: cfg.id, boot: -1, id: 0, op: { type: 'member', change: { type: 'promote', id } } });
    if (core.propose(data, EntryType.ConfChange).ok) {
      promoting.add(id);
      log.info({ 'learner-id': id.toString(16) }, 'promoting a caught-up learner');
    }
  }
}

// A corrupt log throws here: the worker's error reaches the member, which logs it and exits.
const { wal, replayed } = Wal.open(cfg.walDir, {
  onTornTail: (file, offset) => log.warn({ file, offset }, 'wal: truncated torn tail'),
});
const fsyncTimes = new SharedHistogram(cfg.fsyncTimes);
/**
 * Makes the WAL durable on this thread, as etcd's raft loop does: what arrives meanwhile waits
 * in the port and the sockets and enters the next Ready together. An fsync failure is fatal
 * (it throws): nothing more may be acknowledged.
 */
function syncWal(): void {
  const started = performance.now();
  wal.sync();
  fsyncTimes.observe((performance.now() - started) / 1000);
}

const transport = new PeerTransport(cfg.id, cfg.advertisePeerUrls, cfg.clusterId, cfg.snapDir, {
  messages: (batch) => {
    for (const m of batch) {
      if (removed.has(m.from)) continue;
      if (m.type === 'heartbeatResp') measureRoundTrip(m.from);
      if (m.type !== 'prop') core.step(m);
      else stepForwarded(m);
    }
    scheduleDrain();
  },
  removed: (id) => removed.has(id),
  discovered: (peer) => {
    if (peers.has(peer.id) || !peer.peerURLs.length) return;
    peers.set(peer.id, peer);
    transport.setPeers([...peers.values()]);
  },
  snapshot: installSnapshot,
  members: () => [...peers.values()],
  log: (level, fields, msg) => log[level](fields, msg),
}, cfg.tls);

async function start(): Promise<void> {
  let { hardState, entries } = replayed;
  if (!entries.length && !replayed.snapshot && cfg.bootstrap) {
    // A new cluster: every member writes the same first entries, one per initial member.
    entries = [...cfg.bootstrap].sort((a, b) => a.id - b.id).map((m, i) => ({
      term: 1, index: i + 1, type: EntryType.ConfChange,
      data: encodeProposal({ origin: 0, boot: 0, id: 0, op: { type: 'member', change: { type: 'addVoter', id: m.id, member: { name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs } } } }),
    }));
    hardState = { term: 1, vote: 0, commit: entries.length };
    wal.append(entries, hardState);
    wal.sync();
  }
  lastHard = hardState;
  lastWritten = { index: entries.at(-1)?.index ?? replayed.snapshot?.index ?? 0, term: entries.at(-1)?.term ?? replayed.snapshot?.term ?? 0 };
  const conf = confStateOf(storedMembership.members);
  core = new RaftCore({
    id: cfg.id,
    voters: conf.voters,
    learners: conf.learners,
    electionTick: cfg.electionTick,
    heartbeatTick: 1,
    random: Math.random,
    checkQuorum: true,
    preVote: cfg.preVote,
    memoryLogMargin: cfg.catchupEntries,
    initial: { hardState, entries, snapshot: replayed.snapshot },
    applied: mvcc.control.consistentIndex(),
  });
  await transport.listen(cfg.listenPeerUrls.map((u) => new URL(u)));
  transport.setPeers([...peers.values()]);
  setInterval(() => {
    ticks++;
    publishLinks();
    core.tick();
    expireWaiting();
    expireTransfers();
    promoteReadyLearners();
    scheduleDrain();
  }, cfg.heartbeatMs).unref();
  scheduleDrain();
}

let started: Promise<void> | undefined;

receive<GatewayToRaft>(cfg.gatewayPort, (msg) => {
  switch (msg.t) {
    case 'propose': return propose(msg.items);
    case 'read':
      core.readIndex(encodeCtx(msg.ctx));
      return scheduleDrain();
    case 'transfer':
      if (!core.transferLeadership(msg.to)) return toGateway({ t: 'transferred', req: msg.req, ok: false });
      if (core.status().leader === msg.to) return toGateway({ t: 'transferred', req: msg.req, ok: true });
      transfers.push({ req: msg.req, to: msg.to, deadline: ticks + 2 * cfg.electionTick });
      return scheduleDrain();
    case 'snapshotMade': return onSnapshotMade(msg);
    case 'snapshotInstalled': return onSnapshotInstalled(msg);
    case 'storeFlushed': return compactWal(msg.index, msg.term);
  }
});

const control = {
  ...mvcc.control,
  /**
   * Starts raft once the gateway has read the store's state: answers once the WAL has been
   * replayed, the core runs and the peer listener is bound.
   */
  start: async () => {
    await (started ??= start());
    return true;
  },
  /** `linkedSince`: since when (Date.now(), as seen at ticks) each connected peer has been. */
  status: () => ({ ...core.status(), connected: transport.connected(), linkedSince: [...linkedPeers] }),
  stop: () => {
    transport.close();
    wal.close();
  },
};
export type RaftControl = typeof control;
exposeControl(control);

