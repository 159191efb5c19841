// The KV commands: put, get and del (defined once, for the command line and for txn lines), and txn.
import { prefixEnd } from '../protocol/prefix-end.js';
import type { Command } from 'commander';
import { FeatureError, InputError, KV_FORMATS, output, printOptions, program, readStdin, requireFormat, UsageError, withClient } from './context.js';
import { printDelete, printGet, printPut, printTxn } from './printers.js';
import { asRequestOp, CompareError, parseCompare, parseOps, readBlocks } from './txn.js';

type Req = Record<string, any>;

/**
 * The key and range end etcdctl sends for its arguments: --prefix and --from-key derive the
 * end, and with an empty key both mean every key (from \x00), as etcd's client does.
 */
export function keyRange(key: string, end: string | undefined, o: { prefix?: boolean; fromKey?: boolean }): { key: Buffer; range_end?: Buffer } {
  const k = Buffer.from(key);
  if ((o.prefix || o.fromKey) && !k.length) return { key: Buffer.of(0), range_end: Buffer.of(0) };
  if (o.prefix) return { key: k, range_end: prefixEnd(k) };
  if (o.fromKey) return { key: k, range_end: Buffer.of(0) };
  return end === undefined ? { key: k } : { key: k, range_end: Buffer.from(end) };
}

/** A put, get or del as parsed from its arguments (on the command line or in a txn). */
export type KvOp = { kind: 'put'; req: Req } | { kind: 'del'; req: Req } | { kind: 'get'; req: Req; keysOnly: boolean; valueOnly: boolean };

/** Defines put, get and del on `parent`; each parsed request goes to `sink`. */
export function kvCommands(parent: Command, sink: (op: KvOp) => Promise<void>): void {
  parent.command('put').description('Puts the given key into the store')
    .argument('[key]').argument('[value]')
    .option('--prev-kv', 'return the previous key-value pair before modification')
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key', '0')
    .option('--ignore-value', 'updates the key using its current value')
    .option('--ignore-lease', 'updates the key using its current lease')
    .action(async (key: string | undefined, value: string | undefined, o: Req) => {
      if (key === undefined || (value === undefined && !o.ignoreValue)) throw new UsageError('put command needs 1 argument and input from stdin or 2 arguments');
      const req: Req = { key: Buffer.from(key), prev_kv: !!o.prevKv, lease: parseInt(o.lease, 16) || 0, ignore_value: !!o.ignoreValue, ignore_lease: !!o.ignoreLease };
      if (value !== undefined) req.value = Buffer.from(value);
      await sink({ kind: 'put', req });
    });

  parent.command('get').description('Gets the key or a range of keys')
    .argument('[key]').argument('[range_end]')
    .option('--consistency <level>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--order <order>', 'Order of results; ASCEND or DESCEND (ASCEND by default)', '')
    .option('--sort-by <target>', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION', '')
    .option('--limit <n>', 'Maximum number of results', '0')
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--rev <n>', 'Specify the kv revision', '0')
    .option('--keys-only', 'Get only the keys')
    .option('--print-value-only', 'Only write values when using the "simple" output format')
    .action(async (key: string | undefined, end: string | undefined, o: Req) => {
      if (key === undefined) throw new UsageError('get command needs one argument as key and an optional argument as range_end');
      if ((o.prefix || o.fromKey) && end !== undefined) throw new UsageError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
      const order = ['', 'ASCEND', 'DESCEND'].indexOf(String(o.order).toUpperCase());
      const target = ['KEY', 'VERSION', 'CREATE', 'MODIFY', 'VALUE'].indexOf(String(o.sortBy).toUpperCase());
      if (order < 0) throw new FeatureError(`bad sort order ${o.order}`);
      if (o.sortBy && target < 0) throw new FeatureError(`bad sort target ${o.sortBy}`);
      const req: Req = {
        ...keyRange(key, end, o), limit: Number(o.limit), revision: Number(o.rev),
        serializable: o.consistency === 's', keys_only: !!o.keysOnly,
        // etcdctl sorts by key in ascending order once a target or order is asked for.
        sort_order: order || (o.sortBy ? 1 : 0), sort_target: Math.max(0, target),
      };
      await sink({ kind: 'get', req, keysOnly: !!o.keysOnly, valueOnly: !!o.printValueOnly });
    });

  parent.command('del').description('Removes the specified key or range of keys [key, range_end)')
    .argument('[key]').argument('[range_end]')
    .option('--prefix', 'delete keys with matching prefix')
    .option('--prev-kv', 'return deleted key-value pairs')
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare')
    .action(async (key: string | undefined, end: string | undefined, o: Req) => {
      if (key === undefined) throw new UsageError('del command needs one argument as key and an optional argument as range_end');
      if (o.prefix && end !== undefined) throw new UsageError('too many arguments, only accept one argument when `--prefix` is set.');
      const req: Req = { ...keyRange(key, end, o), prev_kv: !!o.prevKv };
      await sink({ kind: 'del', req });
    });
}

/** put, get, del and txn on the command line. */
export function registerKvCommands(): void {
  kvCommands(program, async (op) => {
    requireFormat(KV_FORMATS);
    const print = printOptions();
    if (op.kind === 'put') output(printPut(await withClient((c, t) => c.kv.Put!(op.req, { deadlineMs: t })), print));
    else if (op.kind === 'del') output(printDelete(await withClient((c, t) => c.kv.DeleteRange!(op.req, { deadlineMs: t })), print));
    else output(printGet(await withClient((c, t) => c.kv.Range!(op.req, { deadlineMs: t })), { ...print, keysOnly: op.keysOnly, valueOnly: op.valueOnly }));
  });

  program.command('txn').description('Txn processes all the requests in one transaction')
    .option('-i, --interactive', 'Input transaction in interactive mode')
    .action(async (o: Req) => {
      requireFormat(KV_FORMATS);
      const input = await readStdin();
      const [compares, success, failure] = readBlocks(input, !!o.interactive, output);
      let compare: Req[];
      try {
        compare = compares.map(parseCompare);
      } catch (err) {
        throw err instanceof CompareError ? new InputError(err.message) : err;
      }
      const [then, otherwise] = [await parseOps(success, kvCommands), await parseOps(failure, kvCommands)];
      const req = { compare, success: then.map(asRequestOp), failure: otherwise.map(asRequestOp) };
      const res = await withClient((c, t) => c.kv.Txn!(req, { deadlineMs: t }));
      output(printTxn(res, res.succeeded ? then : otherwise, printOptions()));
    });
}
