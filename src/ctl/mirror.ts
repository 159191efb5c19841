// etcdctl's make-mirror: copies the keys under a prefix (all keys by default) to another
// cluster as of one revision, then follows the source's changes from the next revision on,
// one transaction per source revision; every 30 seconds it prints how many keys it has mirrored.
import { connectFirst, errorText, output, program, UsageError } from './context.js';
import { keyRange } from './kv.js';
import { openWatch } from '../client/watch.js';
import type { Client } from '../client/client.js';

type Res = Record<string, any>;

/** Keys read per range request while copying, as etcd's mirror syncer. */
const BATCH = 1000;
const REPORT_EVERY_MS = 30_000;

interface MirrorOptions { prefix: string; destPrefix: string }

/** The destination key: the first occurrence of the prefix replaced (bytes kept as they are). */
function destinationKey(key: Buffer, o: MirrorOptions): Buffer {
  const latin1 = (s: string) => Buffer.from(s).toString('latin1');
  return Buffer.from(key.toString('latin1').replace(latin1(o.prefix), latin1(o.destPrefix)), 'latin1');
}

async function copyBase(source: Client, dest: Client, o: MirrorOptions, count: () => void): Promise<number> {
  const revision = Number((await source.kv.Range!({ key: Buffer.from('foo') })).header.revision);
  let range = o.prefix ? keyRange(o.prefix, undefined, { prefix: true }) : { key: Buffer.of(0), range_end: Buffer.of(0) };
  for (;;) {
    const res = await source.kv.Range!({ ...range, limit: BATCH, revision });
    for (const kv of res.kvs ?? []) {
      await dest.kv.Put!({ key: destinationKey(kv.key, o), value: kv.value });
      count();
    }
    if (!res.more) return revision;
    range = { ...range, key: Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.of(0)]) };
  }
}

/** Applies the source's events to the destination, one transaction per source revision. */
function followUpdates(source: Client, dest: Client, o: MirrorOptions, from: number, count: () => void): Promise<void> {
  const watch = openWatch(source);
  let applying = Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const apply = (ops: Res[]) => (applying = applying.then(() => dest.kv.Txn!({ success: ops }).then(() => undefined)).catch(reject) as Promise<void>);
    watch.events.on('response', (r: Res) => {
      if (r.created) return;
      if (Number(r.compact_revision ?? 0)) return reject(new Error('etcdserver: mvcc: required revision has been compacted'));
      // etcd's client closes a watch the server cancels: the mirror then simply stops.
      if (r.canceled) return resolve();
      let ops: Res[] = [];
      let lastRevision = 0;
      for (const e of r.events ?? []) {
        const revision = Number(e.kv.mod_revision);
        if (lastRevision && revision > lastRevision) {
          apply(ops);
          ops = [];
        }
        lastRevision = revision;
        const key = destinationKey(e.kv.key, o);
        ops.push(e.type === 1 ? { request_delete_range: { key } } : { request_put: { key, value: e.kv.value } });
        count();
      }
      if (ops.length) apply(ops);
    });
    watch.events.on('error', reject);
    watch.create({ ...(o.prefix ? keyRange(o.prefix, undefined, { prefix: true }) : { key: Buffer.of(0), range_end: Buffer.of(0) }), start_revision: from + 1 });
  });
}

export function registerMirrorCommand(): void {
  program.command('make-mirror').description('Makes a mirror at the destination etcd cluster')
    .argument('[destination]')
    .option('--prefix <prefix>', 'Key-value prefix to mirror', '')
    .option('--dest-prefix <prefix>', 'destination prefix to mirror a prefix to a different prefix in the destination cluster', '')
    .option('--no-dest-prefix', 'mirror key-values to the root of the destination cluster')
    .action(async (destination: string | undefined, o: { prefix: string; destPrefix: string | false }, cmd) => {
      if (destination === undefined || cmd.args.length !== 1) throw new UsageError('make-mirror takes one destination argument');
      // commander folds --no-dest-prefix into --dest-prefix (false); both given is refused as etcdctl does.
      const both = process.argv.includes('--no-dest-prefix') && process.argv.some((a) => a === '--dest-prefix' || a.startsWith('--dest-prefix='));
      if (both) throw new UsageError('`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one');
      const options: MirrorOptions = { prefix: o.prefix, destPrefix: o.destPrefix === false ? '' : o.destPrefix || o.prefix };
      const [source, dest] = [await connectFirst(), await connectFirst([destination])];
      let total = 0;
      setInterval(() => output(`${total}\n`), REPORT_EVERY_MS);
      try {
        const revision = await copyBase(source, dest, options, () => total++);
        await followUpdates(source, dest, options, revision, () => total++);
      } catch (err) {
        throw new Error(errorText(err));
      }
      // As etcdctl: a mirror that stops without an error still exits with one.
      throw new Error('<nil>');
    });
}
