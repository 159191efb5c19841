// etcdctl's watch: one key, a range or a prefix, from a revision or from now, each response
// printed as it arrives (and a command run per event after `--`); with -i, `watch ...` and
// `progress` lines read from standard input, every watch on one stream as etcd's client does.
import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { connectFirst, EXIT_ERROR, InputError, InterruptedError, printOptions, program, requireFormat, UsageError } from './context.js';
import { eventType, goQuote, printWatch } from './printers.js';
import { keyRange } from './kv.js';
import { argify } from './txn.js';
import { openWatch, type WatchStream } from '../client/watch.js';
import type { Client } from '../client/client.js';

type Res = Record<string, any>;

interface WatchSpec { args: string[]; prefix: boolean; rev: number; prevKv: boolean; exec: string[] }

/** etcd's client marks progress answers to a request for them with this watch ID: every watcher gets one. */
const BROADCAST_ID = -1;

const envKey = process.env.ETCDCTL_WATCH_KEY ?? '';
const envRange = process.env.ETCDCTL_WATCH_RANGE_END ?? '';

/** The watched keys: the arguments, or ETCDCTL_WATCH_KEY (and _RANGE_END) in their place. */
function withEnvKey(args: string[]): string[] {
  if (!envKey) return args;
  if (args.length) throw new UsageError('bad number of arguments (found conflicting environment key)');
  return envRange ? [envKey, envRange] : [envKey];
}

function createRequest(spec: WatchSpec): Res {
  const [key, end] = spec.args;
  if (key === undefined) throw new UsageError('bad number of arguments');
  if (spec.args.length === 2 && spec.prefix) throw new UsageError('`range_end` and `--prefix` are mutually exclusive');
  return { ...keyRange(key, spec.args.length === 2 ? end : undefined, { prefix: spec.prefix }), start_revision: spec.rev, prev_kv: spec.prevKv };
}

/** Go's %q of a string slice, as etcdctl names a failed command: ["sh" "-c" "..."]. */
const quoteArgs = (args: string[]) => `[${args.map((a) => goQuote(Buffer.from(a))).join(' ')}]`;

/** Runs the command after `--` once for the event, with the event in ETCD_WATCH_* variables. */
function runForEvent(exec: string[], revision: number, e: Res): void {
  const env = {
    ...process.env, ETCD_WATCH_REVISION: String(revision), ETCD_WATCH_EVENT_TYPE: `"${eventType(e)}"`,
    ETCD_WATCH_KEY: goQuote(e.kv?.key), ETCD_WATCH_VALUE: goQuote(e.kv?.value),
  };
  const run = spawnSync(exec[0]!, exec.slice(1), { stdio: 'inherit', env });
  if (run.status === 0) return;
  const why = run.error ? `exec: ${goQuote(Buffer.from(exec[0]!))}: executable file not found in $PATH` : run.signal ? `signal: ${run.signal}` : `exit status ${run.status}`;
  process.stderr.write(`command ${quoteArgs(exec)} error (${why})\n`);
  process.exit(EXIT_ERROR);
}

const isProgressNotify = (r: Res) => !(r.events ?? []).length && !r.canceled && !r.created && !Number(r.compact_revision ?? 0) && !!Number(r.header?.revision ?? 0);

/** Why the server ended a watch, in etcd's client's words. */
function cancelText(r: Res): string {
  if (Number(r.compact_revision ?? 0)) return 'etcdserver: mvcc: required revision has been compacted';
  return r.cancel_reason || 'etcdserver: mvcc: required revision is a future revision';
}

/**
 * The watches of one stream, opened with the first watch as etcd's client does: each created
 * in turn, its responses printed as they come.
 */
class Watches {
  private stream: WatchStream | undefined;
  private readonly creating: WatchSpec[] = [];
  private readonly active = new Map<number, WatchSpec>();
  readonly done: Promise<void>;
  private fail!: (err: unknown) => void;

  constructor(private readonly client: Client, private readonly onEnded: (spec: WatchSpec) => void) {
    this.done = new Promise((_resolve, reject) => (this.fail = reject));
  }

  private open(): WatchStream {
    // As etcdctl: the watch asks for a leader (a member cut off from it ends the stream).
    const metadata = new grpc.Metadata();
    metadata.set('hasleader', 'true');
    const stream = openWatch(this.client, metadata);
    stream.events.on('response', (r: Res) => {
      try {
        this.receive(r);
      } catch (err) {
        this.fail(err);
      }
    });
    stream.events.on('error', (err) => this.fail(err));
    return stream;
  }

  add(spec: WatchSpec): void {
    const req = createRequest(spec);
    this.stream ??= this.open();
    // etcd's client creates one watch at a time: the next once the server has answered.
    this.creating.push(spec);
    if (this.creating.length === 1) this.stream.create(req);
  }

  requestProgress(): void {
    this.stream?.requestProgress();
  }

  close(): void {
    this.stream?.close();
  }

  private receive(r: Res): void {
    const id = Number(r.watch_id ?? 0);
    if (r.created) {
      const spec = this.creating.shift();
      if (spec) this.active.set(id, spec);
      if (this.creating.length) this.stream!.create(createRequest(this.creating[0]!));
      // A watch refused at creation (an empty range) is reported as canceled, as etcd's client does.
      if (!r.canceled) return;
      this.display(r, this.active.get(id)!);
      return this.end(id);
    }
    if (r.canceled && !Number(r.compact_revision ?? 0)) return this.end(id);
    if (id === BROADCAST_ID && isProgressNotify(r)) {
      for (const spec of this.active.values()) this.display(r, spec);
      return;
    }
    const spec = this.active.get(id);
    if (!spec) return;
    this.display(r, spec);
    if (r.canceled || Number(r.compact_revision ?? 0)) this.end(id);
  }

  private end(id: number): void {
    const spec = this.active.get(id);
    this.active.delete(id);
    if (spec) this.onEnded(spec);
  }

  private display(r: Res, spec: WatchSpec): void {
    if (r.canceled) process.stderr.write(`watch was canceled (${cancelText(r)})\n`);
    if (isProgressNotify(r)) process.stdout.write(`progress notify: ${r.header.revision}\n`);
    // etcdctl finds out a format has no watch printer only when it prints the first response.
    requireFormat(['simple', 'json', 'fields', 'protobuf']);
    process.stdout.write(printWatch(r, printOptions()));
    for (const e of spec.exec.length ? r.events ?? [] : []) runForEvent(spec.exec, Number(r.header?.revision ?? 0), e);
  }
}

/** The arguments after `--` on the command line (etcdctl reads them from its own argv). */
function commandAfterSeparator(): string[] | undefined {
  const argv = process.argv.slice(2);
  const rest = argv.slice(argv.indexOf('watch') + 1);
  const at = rest.indexOf('--');
  if (at < 0) return undefined;
  if (at === rest.length - 1) throw new UsageError('bad number of arguments (found separator --, but no commands)');
  return rest.slice(at + 1);
}

/** A `watch ...` line of interactive mode: its own flags, keys, and a command after `--`. */
function parseWatchLine(words: string[]): WatchSpec {
  const spec: WatchSpec = { args: [], prefix: false, rev: 0, prevKv: false, exec: [] };
  const at = words.indexOf('--');
  if (at === words.length - 1) throw new UsageError('bad number of arguments (found separator --, but no commands)');
  const flags = at < 0 ? words : words.slice(0, at);
  if (at >= 0) spec.exec = words.slice(at + 1);
  for (let i = 0; i < flags.length; i++) {
    const [name, inline] = flags[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (name === '--prefix') spec.prefix = inline === undefined || inline === 'true';
    else if (name === '--prev-kv') spec.prevKv = inline === undefined || inline === 'true';
    else if (name === '-i' || name === '--interactive') continue;
    else if (name === '--rev') {
      const value = inline ?? flags[++i];
      if (value === undefined) throw new UsageError('flag needs an argument: --rev');
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--rev" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
      spec.rev = Number(value);
    } else if (name.startsWith('--') && name.length > 2) throw new UsageError(`unknown flag: ${name}`);
    else if (name.startsWith('-') && name.length > 1) throw new UsageError(`unknown shorthand flag: '${name[1]}' in ${name}`);
    else spec.args.push(flags[i]!);
  }
  spec.args = withEnvKey(spec.args);
  if (!spec.exec.length && !spec.args.length) throw new UsageError('bad number of arguments');
  return spec;
}

/** Interactive mode: a watch per `watch ...` line, progress requests, until standard input ends. */
async function interactive(watches: Watches): Promise<void> {
  const ended = new Promise<never>((_resolve, reject) => {
    let pending = '';
    const handle = (line: string) => {
      const words = argify(line);
      if (!words.length) return void process.stderr.write(`Invalid command: ${line} (watch and progress supported)\n`);
      if (words[0] === 'progress') return watches.requestProgress();
      if (words[0] !== 'watch') return void process.stderr.write(`Invalid command ${line} (only support watch)\n`);
      if (words.length < 2 && !envKey) return void process.stderr.write(`Invalid command ${line} (command type or key is not provided)\n`);
      const spec = parseWatchLine(words.slice(1));
      try {
        watches.add(spec);
      } catch (err) {
        process.stderr.write(`Invalid command ${line} (${(err as Error).message})\n`);
      }
    };
    process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          handle(line);
        } catch (err) {
          reject(err);
        }
      }
    });
    process.stdin.on('end', () => reject(new InputError('Error reading watch request line: EOF')));
  });
  await Promise.race([ended, watches.done]);
}

export function registerWatchCommand(): void {
  program.command('watch').description('Watches events stream on keys or prefixes')
    .argument('[args...]')
    .option('-i, --interactive', 'Interactive mode')
    .option('--prefix', 'Watch on a prefix if prefix is set')
    .option('--rev <revision>', 'Revision to start watching', '0')
    .option('--prev-kv', 'get the previous key-value pair before the event happens')
    .action(async (args: string[], o: { interactive?: boolean; prefix?: boolean; rev: string; prevKv?: boolean }) => {
      if (!envKey && envRange) throw new UsageError(`ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=${JSON.stringify(envRange)}`);
      if (o.interactive) {
        const client = await connectFirst();
        const watches = new Watches(client, () => undefined);
        return interactive(watches);
      }
      const exec = commandAfterSeparator() ?? [];
      const keys = args.slice(0, args.length - exec.length);
      if (!/^-?\d+$/.test(o.rev)) throw new UsageError(`invalid argument ${JSON.stringify(o.rev)} for "--rev" flag: strconv.ParseInt: parsing ${JSON.stringify(o.rev)}: invalid syntax`);
      const spec: WatchSpec = { args: withEnvKey(keys), prefix: !!o.prefix, rev: Number(o.rev), prevKv: !!o.prevKv, exec };
      createRequest(spec);
      const client = await connectFirst();
      let ended!: () => void;
      const canceled = new Promise<void>((resolve) => (ended = resolve));
      const watches = new Watches(client, () => ended());
      watches.add(spec);
      await Promise.race([canceled, watches.done]);
      watches.close();
      client.close();
      throw new InterruptedError('watch is canceled by the server');
    });
}
