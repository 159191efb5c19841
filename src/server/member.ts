// One kvd member on this process: starts the actors (raft with its WAL, its peer transport and
// the mvcc actor on its thread, watch, and the reader pool), wires their direct channels and
// offers the gateway its paths: propose a write or a membership change, wait for a linearizable
// read point, range in the reader pool, move the leadership. It also runs the control-plane
// errands the raft actor asks for: copying and installing store snapshots.
import fs from 'node:fs';
import path from 'node:path';
import { randomInt, X509Certificate } from 'node:crypto';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { send, receive } from '../actors/channel.js';
import { proposalTimeout } from './proposal-timeout.js';
import { connectControl, type Remote } from '../actors/control.js';
import type { RaftControl, RaftWorkerData } from '../actors/raft/worker.js';
import type { MvccControl } from '../actors/mvcc/actor.js';
import type { WatchControl, WatchWorkerData } from '../actors/watch/worker.js';
import type { GatewayToRaft, RaftToGateway } from '../actors/raft/messages.js';
import { encodeProposal, type AppliedBatch } from '../actors/mvcc/proposal.js';
import { NOSPACE, type AlarmMember, type WriteOp } from '../actors/mvcc/store.js';
import rangeTask, { closeReaders, type RangeTask, type RangeTaskResult } from '../actors/reader/task.js';
import { EtcdError, Errors } from '../protocol/errors.js';
import { StatusBoard } from './status-board.js';
import { SharedHistogram, SharedHistograms } from './shared-histogram.js';
import { Leases } from './leases.js';
import { memberIdOf, resolveIdentity } from './identity.js';
import { fetchMembers } from '../actors/raft/transport.js';
import { confStateOf, type MemberRecord, type Membership } from '../actors/mvcc/members.js';
import type { ConfChange } from '../actors/raft/confchange.js';
import { GRPC_OVERHEAD_BYTES, type Config } from './config.js';
import type { Logger } from './logger.js';
import { emptyAuthState, unpackAuth, type AuthInfo, type AuthState } from '../actors/mvcc/permissions.js';
import { tokenProvider, type TokenProvider } from './tokens.js';
import { loadTlsMaterial, type TlsMaterial } from './transport-security.js';
import { memberCredentials } from './member-credentials.js';
import { connect, type Client } from '../client/client.js';

interface Pending { resolve: (bytes: Uint8Array) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }

/** A leader refused a second membership change while one is in progress. */
const PENDING_CONF = new Error('a membership change is in progress');

/** How long a second reader thread stays without work. */
const READER_IDLE_MS = 60_000;

/** History a watcher catching up reads in one step of the watch actor. */
const WATCH_CATCH_UP_BYTES = 1024 * 1024;

const actorUrl = (rel: string) => new URL(`../actors/${rel}`, import.meta.url);
const PASSWORD_TASK = actorUrl('reader/password.js').href;

export class Member {
  id = 0;
  clusterId = 0;
  membership: Membership = { members: [], removed: [] };
  readonly board = new StatusBoard();
  /** Timings the actors record for /metrics: WAL fsync (raft actor), LMDB commit (mvcc actor). */
  readonly walFsync = new SharedHistogram();
  readonly backendCommit = new SharedHistogram();
  /** Heartbeat round trips from the leader to each follower (raft actor). */
  readonly peerRoundTrips = new SharedHistograms();
  /** Proposals that failed (refused for want of a leader, timed out). */
  failedProposals = 0;
  /** The cluster's active alarms (replicated: every member applies them). */
  alarms: AlarmMember[] = [];
  /** The cluster's users, roles and whether authentication is on (replicated). */
  auth: AuthState = emptyAuthState();
  tokens!: TokenProvider;
  private raisingNoSpace = false;
  /** Resolves when this member's removal from the cluster has been applied. */
  readonly removed: Promise<void>;
  private onRemoved!: () => void;
  private readonly transfers = new Map<number, (ok: boolean) => void>();
  private readonly snapDir: string;
  readonly dbDir: string;
  readonly walDir: string;
  private readonly boot = randomInt(2 ** 47);
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private proposals: { id: number; data: Uint8Array; conf?: boolean }[] = [];
  private stopped = false;
  private readBatch: { resolve: () => void; reject: (e: Error) => void }[] | undefined;
  private readonly reads = new Map<number, { resolve: () => void; reject: (e: Error) => void }[]>();
  private appliedWaiters: { index: number; resolve: () => void }[] = [];
  private nextReadCtx = 1;
  private workers: Worker[] = [];
  private raftPort!: MessagePort;
  private raft!: Remote<RaftControl>;
  mvcc!: Remote<MvccControl>;
  leases!: Leases;
  private watch!: Remote<WatchControl>;
  /** The gateway's channel to the watch actor. */
  watchPort!: MessagePort;
  private readers!: Piscina;
  private readersPaused: Promise<void> = Promise.resolve();
  private defragmenting: Promise<void> = Promise.resolve();
  /** How long a request may wait for consensus (etcd: 5 s + 2 election timeouts). */
  private readonly requestTimeoutMs: number;
  /** TLS of the client URLs (also --listen-metrics-urls) and of the peer URLs, when configured. */
  readonly clientTls?: TlsMaterial;
  /** The SHA-256 fingerprint of the certificate this member presents to client URLs, its own included. */
  readonly ownCertFingerprint?: string;
  readonly peerTls?: TlsMaterial;

  constructor(readonly config: Config, readonly log: Logger) {
    const tlsDefaults = { ciphers: config.ciphers, minVersion: config.tlsMinVersion, warn: (msg: string) => log.warn({}, msg) };
    const fixtures = path.join(config.dataDir, 'fixtures');
    this.clientTls = loadTlsMaterial(config.clientSecurity, tlsDefaults, path.join(fixtures, 'client'), config.listenClientUrls.map((u) => u.host));
    this.ownCertFingerprint = this.clientTls && new X509Certificate(this.clientTls.cert).fingerprint256;
    this.peerTls = loadTlsMaterial(config.peerSecurity, tlsDefaults, path.join(fixtures, 'peer'), config.listenPeerUrls.map((u) => u.host));
    this.dbDir = path.join(config.dataDir, 'member', 'db');
    this.walDir = config.walDir || path.join(config.dataDir, 'member', 'wal');
    this.snapDir = path.join(config.dataDir, 'member', 'snap');
    this.requestTimeoutMs = 5000 + 2 * config.electionTimeoutMs;
    this.removed = new Promise((r) => (this.onRemoved = r));
  }

  /** A client of the member at client URL `url` (this one or another), over TLS for https. */
  connectTo(url: string): Client {
    return connect(new URL(url).host, {}, memberCredentials(url, this.clientTls));
  }

  /**
   * etcd's quota: a write that adds `cost` bytes is refused once the database would outgrow
   * --quota-backend-bytes, and the NOSPACE alarm is raised for the whole cluster; while it is
   * raised, every such write is refused (reads, deletes and compaction go on).
   */
  checkSpace(cost: number): void {
    if (this.alarms.some((a) => a.alarm === NOSPACE)) throw Errors.noSpace;
    if (this.board.get('dbSize') + cost <= this.config.quotaBackendBytes) return;
    if (!this.raisingNoSpace) {
      this.raisingNoSpace = true;
      this.log.warn({ 'quota-size': this.config.quotaBackendBytes, 'db-size': this.board.get('dbSize') }, 'database space exceeded; raising the NOSPACE alarm');
      this.propose({ type: 'alarm', req: { action: 1, memberID: this.id, alarm: NOSPACE } })
        .catch(() => undefined)
        .finally(() => (this.raisingNoSpace = false));
    }
    throw Errors.noSpace;
  }

  /** Range reads waiting for a reader thread. */
  get readsQueued(): number {
    return this.readers?.queueSize ?? 0;
  }

  /** Proposals of this member waiting to be applied. */
  get pendingProposals(): number {
    return this.pending.size;
  }

  get members(): MemberRecord[] {
    return this.membership.members;
  }

  isLearner(): boolean {
    return this.members.find((m) => m.id === this.id)?.isLearner ?? false;
  }

  async start(): Promise<void> {
    const { identity, joined } = await resolveIdentity(path.join(this.config.dataDir, 'member'), this.config, (urls) => fetchMembers(urls, this.config.initialAdvertisePeerUrls, this.peerTls));
    this.id = identity.memberId;
    this.clusterId = identity.clusterId;
    fs.mkdirSync(this.dbDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.walDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.snapDir, { recursive: true, mode: 0o700 });

    const raftGateway = new MessageChannel();
    const mvccGateway = new MessageChannel();
    const mvccWatch = new MessageChannel();
    const watchGateway = new MessageChannel();

    const watchData: WatchWorkerData = {
      dbDir: this.dbDir, memberId: this.id, clusterId: this.clusterId, board: this.board.buffer,
      mvccPort: mvccWatch.port2, gatewayPort: watchGateway.port1,
      limits: { streamBufferBytes: this.config.watchStreamBufferBytes, maxResponseBytes: this.config.maxRequestBytes + GRPC_OVERHEAD_BYTES, catchUpBytes: WATCH_CATCH_UP_BYTES },
      progressIntervalMs: this.config.watchProgressNotifyIntervalMs,
    };
    this.watch = connectControl<WatchControl>(this.spawn('watch/worker.js', watchData, [mvccWatch.port2, watchGateway.port1]));
    this.watchPort = watchGateway.port2;

    const initialMembers: MemberRecord[] = [...this.config.initialCluster].map(([name, urls]) => ({
      id: memberIdOf(urls, this.config.initialClusterToken), name, peerURLs: urls, clientURLs: [], isLearner: false,
    }));
    const raftData: RaftWorkerData = {
      id: this.id, clusterId: this.clusterId, logLevel: this.config.logLevel,
      initialPeers: (joined ?? initialMembers).map((p) => ({ id: p.id, peerURLs: p.peerURLs })),
      ...(this.config.initialClusterState === 'new' ? { bootstrap: initialMembers } : {}),
      heartbeatMs: this.config.heartbeatIntervalMs,
      electionTick: Math.round(this.config.electionTimeoutMs / this.config.heartbeatIntervalMs),
      preVote: this.config.preVote,
      catchupEntries: this.config.snapshotCatchupEntries,
      snapshotCount: this.config.snapshotCount,
      autoPromoteLearners: this.config.autoPromoteLearners,
      board: this.board.buffer, walDir: this.walDir, snapDir: this.snapDir, fsyncTimes: this.walFsync.buffer, peerRoundTrips: this.peerRoundTrips.buffer,
      listenPeerUrls: this.config.listenPeerUrls.map((u) => u.href),
      advertisePeerUrls: this.config.initialAdvertisePeerUrls,
      ...(this.peerTls ? { tls: this.peerTls } : {}),
      gatewayPort: raftGateway.port2,
      mvcc: {
        dbDir: this.dbDir, memberId: this.id, clusterId: this.clusterId, boot: this.boot, board: this.board.buffer,
        commitTimes: this.backendCommit.buffer, gatewayPort: mvccGateway.port1, watchPort: mvccWatch.port1,
        compactionBatchLimit: this.config.compactionBatchLimit,
      },
    };
    const raftWorker = this.spawn('raft/worker.js', raftData, [raftGateway.port2, mvccGateway.port1, mvccWatch.port1]);
    this.raft = connectControl<RaftControl>(raftWorker);
    this.mvcc = this.raft;
    this.membership = await this.mvcc.members();
    this.leases = new Leases(this, await this.mvcc.leases());
    this.alarms = await this.mvcc.alarms();
    this.auth = await this.mvcc.auth();
    this.tokens = await tokenProvider(this.config.authToken, this.config.authTokenTtlMs, (index) => this.appliedWithin(index, this.requestTimeoutMs));

    this.raftPort = raftGateway.port1;
    receive<RaftToGateway>(this.raftPort, (m) => this.onRaft(m));
    receive<AppliedBatch>(mvccGateway.port2, (m) => this.onApplied(m));

    this.readers = this.startReaders();
    await this.raft.start();
    await this.waitForLeader();
    this.leases.start();
    this.log.info({ 'local-member-id': this.id.toString(16), 'cluster-id': this.clusterId.toString(16) }, 'member started');
    void this.publish();
  }

  /**
   * Records this member's name and client URLs in the cluster's membership (etcd's publish),
   * so that every member lists them; retried until it is applied or the member stops.
   */
  private async publish(): Promise<void> {
    const attrs = { name: this.config.name, clientURLs: this.config.advertiseClientUrls };
    while (!this.stopped) {
      const me = this.members.find((m) => m.id === this.id);
      if (me && me.name === attrs.name && me.clientURLs.join() === attrs.clientURLs.join()) return;
      try {
        // A proposal forwarded before the peer links are up is lost: retry soon, not after a request timeout.
        await this.changeMembership({ type: 'update', id: this.id, member: attrs }, 2 * this.config.electionTimeoutMs);
        this.log.info({ 'local-member-attributes': attrs }, 'published local member to cluster');
      } catch (err) {
        this.log.debug({ error: (err as Error).message }, 'publish will be retried');
        await new Promise((r) => setTimeout(r, this.config.heartbeatIntervalMs));
      }
    }
  }

  /** Proposes a membership change; resolves once applied, with the membership after it. */
  async changeMembership(change: ConfChange, timeoutMs = this.requestTimeoutMs): Promise<Membership> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.propose({ type: 'member', change }, true, Math.max(1, deadline - Date.now()));
        return this.membership;
      } catch (err) {
        // One membership change at a time: wait for the one in progress.
        if (err !== PENDING_CONF || Date.now() > deadline) throw err === PENDING_CONF ? Errors.timeout : err;
        await new Promise((r) => setTimeout(r, this.config.heartbeatIntervalMs));
      }
    }
  }

  /** Hands the leadership to `to`; resolves true once it leads. */
  transferLeadership(to: number): Promise<boolean> {
    const req = this.nextId++;
    return new Promise((resolve) => {
      this.transfers.set(req, resolve);
      send(this.raftPort, { t: 'transfer', to, req } satisfies GatewayToRaft);
    });
  }

  /** Raft status of this member (term, indexes, role, configuration). */
  raftStatus() {
    return this.raft.status();
  }

  /** The ResponseHeader of this member; `revision` 0 leaves it out, as some of etcd's answers do. */
  header(revision = this.board.get('revision')) {
    return { cluster_id: this.clusterId, member_id: this.id, revision, raft_term: this.board.get('term') };
  }

  private startReaders(): Piscina {
    return new Piscina({
      filename: actorUrl('reader/task.js').href,
      minThreads: 1,
      maxThreads: 2,
      // A reader thread takes ~50 ms to start (it loads LMDB and the protos): one started for a
      // burst of ranges stays for the next instead of ending as soon as it is idle.
      idleTimeout: READER_IDLE_MS,
      // Readers must keep their event loop (lmdb-js renews read transactions on it).
      atomics: 'disabled',
    });
  }

  private spawn(rel: string, workerData: object, transferList: MessagePort[]): Worker {
    const worker = new Worker(actorUrl(rel), { workerData, transferList });
    worker.on('error', (err) => {
      this.log.fatal({ actor: rel, error: err.message, stack: err.stack }, 'actor failed');
      process.exit(1);
    });
    this.workers.push(worker);
    return worker;
  }

  private async waitForLeader(): Promise<void> {
    const deadline = Date.now() + 4 * this.config.electionTimeoutMs;
    while (!this.board.get('leader') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /**
   * Proposes a write; resolves with the encoded response once it is committed and applied.
   * `auth` is the client's (its permissions are checked when the write applies); the member's
   * own writes have none.
   */
  propose(op: WriteOp, conf = false, timeoutMs = this.requestTimeoutMs, auth?: AuthInfo): Promise<Uint8Array> {
    const id = this.nextId++;
    const data = encodeProposal({ origin: this.id, boot: this.boot, id, op, ...(auth ? { auth } : {}) });
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.failedProposals++;
        reject(proposalTimeout(startedAt, {
          leader: this.board.get('leader'),
          leaderElectedAt: this.board.get('leaderElectedAt'),
          linkedSince: this.board.get('linkedSince'),
          electionTimeoutMs: this.config.electionTimeoutMs,
        }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.proposals.length) setImmediate(() => this.flushProposals());
      this.proposals.push(conf ? { id, data, conf } : { id, data });
    });
  }

  private flushProposals(): void {
    const items = this.proposals;
    this.proposals = [];
    send(this.raftPort, { t: 'propose', items } satisfies GatewayToRaft);
  }

  /** Resolves when this member has applied everything committed before the call (ReadIndex). */
  linearizableRead(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.readBatch) {
        this.readBatch = [];
        setImmediate(() => this.flushReads());
      }
      this.readBatch.push({ resolve, reject });
    });
  }

  private flushReads(): void {
    const batch = this.readBatch!;
    this.readBatch = undefined;
    const ctx = this.nextReadCtx++;
    this.reads.set(ctx, batch);
    setTimeout(() => {
      const left = this.reads.get(ctx);
      if (!left) return;
      this.reads.delete(ctx);
      for (const r of left) r.reject(Errors.timeout);
    }, this.requestTimeoutMs).unref();
    send(this.raftPort, { t: 'read', ctx } satisfies GatewayToRaft);
  }

  /**
   * Single-key reads run inline: one B-tree lookup costs a fraction of a pool round trip
   * (measured: ~27 µs inline vs ~190 µs through the pool). Ranges over many keys, whose size
   * is unbounded, go to the reader pool so the main thread never scans.
   */
  async range(task: RangeTask): Promise<RangeTaskResult> {
    await this.readersPaused;
    if (!task.req.range_end?.length) return rangeTask(task);
    return this.readers.run(task);
  }

  /**
   * Rewrites the database compactly. Reads and writes go on while the compact copy is made;
   * they pause only while the copy catches up with the writes made meanwhile and takes over.
   */
  defragment(): Promise<void> {
    // One at a time: a second request waits for the first and then runs.
    const run = this.defragmenting.then(async () => {
      await this.mvcc.copyForDefragment();
      await this.withReadersClosed(() => this.mvcc.finishDefragment(), false);
    });
    this.defragmenting = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `replace` (which swaps the database file) while no reader holds the old file: reads
   * wait while the pool is replaced by one on the new file; writes queue in the mvcc actor;
   * watch requests wait in the watch actor. `changed`: the new file holds other data, so
   * watchers re-read what they need from it.
   */
  private async withReadersClosed<T>(replace: () => Promise<T>, changed: boolean): Promise<T> {
    let resume!: () => void;
    const previous = this.readersPaused;
    this.readersPaused = new Promise<void>((r) => (resume = r));
    await previous;
    try {
      await this.readers.close();
      await closeReaders();
      await this.watch.closeHistory();
      return await replace();
    } finally {
      this.readers = this.startReaders();
      await this.watch.reopenHistory(changed);
      resume();
    }
  }

  private onRaft(m: RaftToGateway): void {
    switch (m.t) {
      case 'rejected':
        this.failedProposals += m.ids.length;
        for (const id of m.ids) this.settle(id, undefined, m.reason === 'noLeader' ? Errors.noLeader : PENDING_CONF);
        return;
      case 'transferred':
        this.transfers.get(m.req)?.(m.ok);
        this.transfers.delete(m.req);
        return;
      case 'makeSnapshot':
        void this.makeSnapshot(m.req);
        return;
      case 'installSnapshot':
        void this.installSnapshot(m.req, m.file);
        return;
      case 'removed':
        this.onRemoved();
        return;
      case 'flushStore':
        this.mvcc.flush().then(
          (at) => send(this.raftPort, { t: 'storeFlushed', ...at } satisfies GatewayToRaft),
          (err: Error) => this.log.error({ error: err.message }, 'failed to flush the store'),
        );
        return;
      case 'readIndex':
        return this.onReadIndex(m);
    }
  }

  private async makeSnapshot(req: number): Promise<void> {
    const file = path.join(this.snapDir, `out-${req}-${this.boot}.snap`);
    try {
      const s = await this.mvcc.snapshot(file);
      send(this.raftPort, { t: 'snapshotMade', req, file, snapshot: { index: s.index, term: s.term, conf: confStateOf(s.membership.members) } } satisfies GatewayToRaft);
    } catch (err) {
      this.log.warn({ error: (err as Error).message }, 'failed to copy the store for a snapshot');
      fs.rmSync(file, { force: true });
      send(this.raftPort, { t: 'snapshotMade', req } satisfies GatewayToRaft);
    }
  }

  private async installSnapshot(req: number, file: string): Promise<void> {
    try {
      const s = await this.withReadersClosed(() => this.mvcc.install(file), true);
      this.membership = s.membership;
      this.leases.reload(await this.mvcc.leases());
      this.alarms = await this.mvcc.alarms();
      this.authChanged(await this.mvcc.auth());
      send(this.raftPort, { t: 'snapshotInstalled', req, membership: s.membership } satisfies GatewayToRaft);
    } catch (err) {
      send(this.raftPort, { t: 'snapshotInstalled', req, error: (err as Error).message } satisfies GatewayToRaft);
    }
  }

  private onReadIndex(m: Extract<RaftToGateway, { t: 'readIndex' }>): void {
    const batch = this.reads.get(m.ctx);
    if (!batch) return;
    this.reads.delete(m.ctx);
    void this.applied(m.index).then(() => batch.forEach((r) => r.resolve()));
  }

  /** Resolves once this member has applied everything committed so far (etcd's waitAppliedIndex). */
  caughtUp(): Promise<void> {
    return this.applied(this.board.get('commitIndex'));
  }

  /** Resolves true once this member has applied `index`, false if that takes longer than `timeoutMs`. */
  private appliedWithin(index: number, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout;
    return Promise.race([
      this.applied(index).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  /** A password's bcrypt hash (--bcrypt-cost), made in the reader pool. */
  hashPassword(password: string): Promise<string> {
    return this.readers.run({ password, cost: this.config.bcryptCost }, { filename: PASSWORD_TASK, name: 'hash' });
  }

  /** Whether `password` matches a bcrypt hash, checked in the reader pool. */
  checkPassword(password: string, hashed: string): Promise<boolean> {
    return this.readers.run({ password, hashed }, { filename: PASSWORD_TASK, name: 'check' });
  }

  /** Resolves once this member has applied `index`. */
  private applied(index: number): Promise<void> {
    if (this.board.get('appliedIndex') >= index) return Promise.resolve();
    return new Promise((resolve) => {
      this.appliedWaiters.push({ index, resolve });
      this.board.set('appliedWanted', lowestIndex(this.appliedWaiters));
      // The mvcc actor may have applied it before it saw the wish: look again.
      this.releaseApplied(this.board.get('appliedIndex'));
    });
  }

  /** Reads waiting for an applied index up to `applied` go on; the board keeps the next wish. */
  private releaseApplied(applied: number): void {
    if (!this.appliedWaiters.length) return;
    const still = this.appliedWaiters.filter((w) => w.index > applied);
    for (const w of this.appliedWaiters) if (w.index <= applied) w.resolve();
    this.appliedWaiters = still;
    this.board.set('appliedWanted', still.length ? lowestIndex(still) : 0);
  }

  private onApplied(m: AppliedBatch): void {
    if (m.membership) this.membership = m.membership;
    if (m.leases) this.leases.applied(m.leases);
    if (m.alarms) this.alarms = m.alarms;
    if (m.auth) this.authChanged(unpackAuth(m.auth));
    for (const t of m.tokens ?? []) this.tokens.assigned(t.token, t.user);
    for (const r of m.results) {
      this.settle(r.id, r.bytes, r.error && new EtcdError(r.error.code, r.error.message));
    }
    this.releaseApplied(m.applied);
  }

  private authChanged(auth: AuthState): void {
    this.tokens.changed(this.auth, auth);
    this.auth = auth;
  }

  private settle(id: number, bytes: Uint8Array | undefined, error: Error | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(bytes!);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.leases?.stop();
    this.tokens?.stop();
    await this.raft?.stop();
    await this.readers?.destroy();
    await this.mvcc?.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The lowest index waited for (a loop: a spread of many waiters would overflow the stack). */
const lowestIndex = (waiters: { index: number }[]) => waiters.reduce((min, w) => Math.min(min, w.index), Infinity);
