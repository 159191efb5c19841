// The WAL actor: replays the log at start, then appends what raft hands it and reports what
// is durable after each group fsync. The only owner of the WAL files.
import { workerData, type MessagePort } from 'node:worker_threads';
import { Wal } from './wal.js';
import { GroupSync } from './group-sync.js';
import { send, receive } from '../channel.js';
import type { RaftToWal, WalToRaft } from './messages.js';

const { dir, port } = workerData as { dir: string; port: MessagePort };

// A corrupt log throws here: the worker's error reaches the member, which logs it and exits.
const { wal, replayed } = Wal.open(dir, {
  onTornTail: (file, offset) => process.emitWarning(`wal: truncated torn tail of ${file} at offset ${offset}`),
});
let last = { index: replayed.entries.at(-1)?.index ?? 0, term: replayed.entries.at(-1)?.term ?? 0 };

const group = new GroupSync<{ index: number; term: number }>(
  () => wal.sync(),
  (upTo) => send(port, { t: 'persisted', index: upTo.index, term: upTo.term } satisfies WalToRaft),
  (err) => {
    throw err; // an fsync failure is fatal, as in etcd: nothing more may be acknowledged
  },
);

send(port, { t: 'replayed', hardState: replayed.hardState, entries: replayed.entries } satisfies WalToRaft);

receive<RaftToWal>(port, (msg) => {
  wal.append(msg.entries, msg.hardState);
  const tail = msg.entries.at(-1);
  if (tail) last = { index: tail.index, term: tail.term };
  group.wrote(last);
});
