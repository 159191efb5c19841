// Snapshot commands as etcdctl prints them: save (streams Maintenance.Snapshot to a file),
// status (of a kvd snapshot file) and restore (a new member's data dir from a snapshot).
import fs from 'node:fs';
import path from 'node:path';
import { dial, FeatureError, globals, output, program, UsageError } from './context.js';
import { parseDuration } from '../server/config.js';
import { hasChecksum } from '../server/snapshot-file.js';
import { restoreSnapshot } from '../server/restore.js';
import { fsyncPath } from '../actors/fsync.js';
import { snapshotStatus, type SnapshotStatus } from './snapshot-status.js';
import { renderTable } from './table.js';
import { humanBytes } from './humanize.js';
import { ProgressBar } from './progress.js';

type Opts = Record<string, any>;

/** etcdctl's exit code for a failed snapshot save. */
const EXIT_INTERRUPTED = 5;

function failSave(err: unknown): never {
  const e = err as { details?: string; message: string };
  process.stderr.write(`Error: ${e.details ?? e.message}\n`);
  process.exit(EXIT_INTERRUPTED);
}

/** Streams the snapshot into `<file>.part`, then renames it once it is whole and synced. */
async function saveSnapshot(endpoint: string, file: string, timeoutMs: number | undefined): Promise<void> {
  const partial = `${file}.part`;
  try {
    const size = await download(endpoint, partial, timeoutMs);
    if (!hasChecksum(size)) throw new Error(`sha256 checksum not found [bytes: ${size}]`);
    fs.renameSync(partial, file);
    fsyncPath(path.dirname(path.resolve(file)));
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/** Writes the Snapshot stream to `file` (synced); returns its size. */
async function download(endpoint: string, file: string, timeoutMs: number | undefined): Promise<number> {
  const client = await dial(endpoint);
  const out = fs.openSync(file, 'w', 0o600);
  let size = 0;
  let bar: ProgressBar | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const call = (client.raw('etcdserverpb.Maintenance') as any).Snapshot({}, timeoutMs ? { deadline: Date.now() + timeoutMs } : {});
      call.on('data', (m: { blob?: Uint8Array; remaining_bytes?: number | string }) => {
        const blob = Buffer.from(m.blob ?? []);
        fs.writeSync(out, blob);
        size += blob.length;
        bar ??= ProgressBar.start(size + Number(m.remaining_bytes ?? 0), humanBytes);
        bar?.set(size);
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    bar?.finish(false);
    fs.fsyncSync(out);
    return size;
  } finally {
    fs.closeSync(out);
    client.close();
  }
}

function printStatus(s: SnapshotStatus, format: string): string {
  const row = [s.hash.toString(16), String(s.revision), String(s.totalKey), humanBytes(s.totalSize)];
  switch (format) {
    case 'simple': return row.join(', ') + '\n';
    case 'json': return JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + '\n';
    case 'table': return renderTable(['hash', 'revision', 'total keys', 'total size'], [row]);
    case 'fields': return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
    default: throw new FeatureError('unsupported output format');
  }
}

export function registerSnapshotCommands(): void {
  const snapshot = program.command('snapshot').description('Manages etcd node snapshots');

  snapshot.command('save').description('Stores an etcd node backend snapshot to a given file')
    .argument('[filename]')
    .action(async (file: string | undefined, _o: Opts, cmd: { args: string[] }) => {
      if (file === undefined || cmd.args.length !== 1) throw new UsageError('snapshot save expects one argument');
      const endpoints = globals().endpoints.split(',').map((e) => e.trim()).filter(Boolean);
      // As etcdctl: no timeout unless --command-timeout is given.
      const timeoutMs = program.getOptionValueSource('commandTimeout') === 'cli' ? parseDuration(globals().commandTimeout) : undefined;
      try {
        if (endpoints.length !== 1) throw new Error(`snapshot must be requested to one selected node, not multiple [${endpoints.join(' ')}]`);
        await saveSnapshot(endpoints[0]!, file, timeoutMs);
      } catch (err) {
        failSave(err);
      }
      output(`Snapshot saved at ${file}\n`);
    });

  snapshot.command('status').description('Gets backend snapshot status of a given file')
    .argument('[filename]')
    .action(async (file: string | undefined, _o: Opts, cmd: { args: string[] }) => {
      if (file === undefined || cmd.args.length !== 1) throw new UsageError('snapshot status requires exactly one argument');
      output(printStatus(await snapshotStatus(file), globals().writeOut));
    });

  snapshot.command('restore').description('Restores an etcd member snapshot to an etcd directory')
    .argument('[filename]')
    .option('--data-dir <path>', 'Path to the data directory', '')
    .option('--wal-dir <path>', 'Path to the WAL directory (use --data-dir if none given)', '')
    .option('--initial-cluster <list>', 'Initial cluster configuration for restore bootstrap', 'default=http://localhost:2380')
    .option('--initial-cluster-token <token>', 'Initial cluster token for the etcd cluster during restore bootstrap', 'etcd-cluster')
    .option('--initial-advertise-peer-urls <urls>', "List of this member's peer URLs to advertise to the rest of the cluster", 'http://localhost:2380')
    .option('--name <name>', 'Human-readable name for this member', 'default')
    .option('--skip-hash-check', 'Ignore snapshot integrity hash value (required if copied from data directory)', false)
    .action(async (file: string | undefined, o: Opts, cmd: { args: string[] }) => {
      if (file === undefined || cmd.args.length !== 1) throw new UsageError('snapshot restore requires exactly one argument');
      await restoreSnapshot({
        snapshot: file,
        name: o.name,
        dataDir: o.dataDir || `${o.name}.kvd`,
        walDir: o.walDir || undefined,
        initialCluster: o.initialCluster,
        initialClusterToken: o.initialClusterToken,
        initialAdvertisePeerUrls: String(o.initialAdvertisePeerUrls).split(','),
        skipHashCheck: !!o.skipHashCheck,
      });
    });
}
