// etcdctl's txn: compares, then the success requests, then the failure requests, each block
// ended by an empty line, read from standard input (with prompts under -i).
import { Command } from 'commander';
import type { KvOp } from './kv.js';

type Req = Record<string, any>;

/** A line of arguments as etcdctl splits it: words, or double-quoted strings with escapes. */
export function argify(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((t) => (t.startsWith('"') ? JSON.parse(t) : t));
}

export class CompareError extends Error {}

const TARGETS: Record<string, [target: number, field: string]> = {
  ver: [0, 'version'], version: [0, 'version'], c: [1, 'create_revision'], create: [1, 'create_revision'],
  m: [2, 'mod_revision'], mod: [2, 'mod_revision'], val: [3, 'value'], value: [3, 'value'], lease: [4, 'lease'],
};
const RESULTS: Record<string, number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };

/** One compare, e.g. `value("key") = "v"` or `mod("key") > "5"`. */
export function parseCompare(line: string): Req {
  const m = line.match(/^([a-z]+)\(("(?:[^"\\]|\\.)*")\) (\S+) ("(?:[^"\\]|\\.)*")$/);
  const target = m && TARGETS[m[1]!];
  const result = m && RESULTS[m[3]!];
  if (!m || !target || result === undefined) throw new CompareError(`malformed comparison: ${line}`);
  const key = Buffer.from(JSON.parse(m[2]!) as string);
  const raw = JSON.parse(m[4]!) as string;
  const [t, field] = target;
  const value = t === 3 ? Buffer.from(raw) : t === 4 ? parseInt(raw, 16) : Number(raw);
  if (typeof value === 'number' && Number.isNaN(value)) throw new CompareError(`malformed comparison: ${line}`);
  return { key, target: t, result, [field]: value };
}

/** The requests of a txn's branch: each line parsed as a put, get or del command. */
export async function parseOps(lines: string[], define: (parent: Command, sink: (op: KvOp) => Promise<void>) => void): Promise<KvOp[]> {
  const ops: KvOp[] = [];
  for (const line of lines) {
    const parser = new Command().exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
    define(parser, async (op) => {
      ops.push(op);
    });
    await parser.parseAsync(argify(line), { from: 'user' });
  }
  return ops;
}

export const asRequestOp = (op: KvOp): Req =>
  op.kind === 'put' ? { request_put: op.req } : op.kind === 'del' ? { request_delete_range: op.req } : { request_range: op.req };

/** Reads the three blocks from `input`, prompting for each when interactive. */
export function readBlocks(input: string, interactive: boolean, prompt: (s: string) => void): [string[], string[], string[]] {
  const lines = input.split('\n');
  let at = 0;
  const block = (title: string) => {
    if (interactive) prompt(`${title}\n`);
    const out: string[] = [];
    while (at < lines.length) {
      const line = lines[at++]!.trim();
      if (!line) break;
      out.push(line);
    }
    return out;
  };
  return [block('compares:'), block('success requests (get, put, del):'), block('failure requests (get, put, del):')];
}
