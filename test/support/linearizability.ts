// A linearizability checker for histories of single-key operations on a key-value store:
// Wing & Gong's search with Lowe's just-in-time linearization and memoization of
// (linearized set, state) pairs, as Porcupine does, run per key (a history is linearizable
// when each key's sub-history is). An operation whose outcome is unknown (a timeout, a crash)
// may take effect at any point after its call, or never.

export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expect: string | null; value: string }; // if current value === expect (null = key absent) then set value
export type KvOutput =
  | { value: string | null }   // get: the value read, null if absent
  | { ok: boolean }            // cas: whether it swapped
  | Record<string, never>;     // put
export interface Operation {
  client: number;
  input: KvInput;
  call: number;   // time the call was issued (any monotonic clock)
  ret: number;    // time the answer arrived; Infinity when the outcome is unknown
  output?: KvOutput; // absent when ret is Infinity
}
export type CheckResult =
  | { result: 'ok' }
  | { result: 'illegal'; key: string; ops: Operation[]; explanation: string }
  | { result: 'unknown'; key: string };

type State = string | null;

/** The register's next state if `op` can take effect in `state`, else undefined. */
function step(state: State, op: Operation): { next: State } | undefined {
  const input = op.input;
  const out = op.output;
  switch (input.op) {
    case 'put':
      return { next: input.value };
    case 'get':
      return (out as { value: string | null }).value === state ? { next: state } : undefined;
    case 'cas': {
      const swaps = state === input.expect;
      if (!out) return swaps ? { next: input.value } : undefined; // an unknown cas that did not swap changed nothing: skipping it is the same
      const ok = (out as { ok: boolean }).ok;
      return ok === swaps ? { next: ok ? input.value : state } : undefined;
    }
  }
}

interface Event { op: number; kind: 'call' | 'return'; time: number; prev?: Event; next?: Event; match?: Event }

function checkKey(ops: Operation[], maxStates: number): 'ok' | 'illegal' | 'unknown' {
  // Gets with an unknown outcome constrain nothing.
  const list = ops.filter((o) => !(o.input.op === 'get' && o.ret === Infinity));
  const events: Event[] = [];
  list.forEach((o, i) => {
    const call: Event = { op: i, kind: 'call', time: o.call };
    events.push(call);
    if (o.ret !== Infinity) {
      const ret: Event = { op: i, kind: 'return', time: o.ret };
      call.match = ret;
      events.push(ret);
    }
  });
  // At equal times calls come first: the operations are then taken as concurrent, never ordered.
  events.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: Event = { op: -1, kind: 'call', time: -Infinity };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (call: Event) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match;
    if (ret) {
      ret.prev!.next = ret.next;
      if (ret.next) ret.next.prev = ret.prev;
    }
  };
  const unlift = (call: Event) => {
    const ret = call.match;
    if (ret) {
      ret.prev!.next = ret;
      if (ret.next) ret.next.prev = ret;
    }
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const words = Math.ceil(list.length / 32) || 1;
  const linearized = new Uint32Array(words);
  const flip = (i: number) => (linearized[i >>> 5]! ^= 1 << (i & 31));
  const seen = new Set<string>();
  const stack: { call: Event; state: State }[] = [];
  let state: State = null;
  let pendingReturns = list.filter((o) => o.ret !== Infinity).length;
  let entry = head.next;
  while (pendingReturns > 0) {
    if (!entry) return 'illegal'; // unreachable: a pending return is always ahead
    if (entry.kind === 'call') {
      const r = step(state, list[entry.op]!);
      if (r) {
        flip(entry.op);
        const key = `${linearized.join(',')}|${r.next === null ? '\u0000' : 'v' + r.next}`;
        if (!seen.has(key)) {
          if (seen.size >= maxStates) return 'unknown';
          seen.add(key);
          stack.push({ call: entry, state });
          state = r.next;
          if (entry.match) pendingReturns--;
          lift(entry);
          entry = head.next;
          continue;
        }
        flip(entry.op);
      }
      entry = entry.next;
    } else {
      // An operation returned before it could be placed: undo the last choice.
      const top = stack.pop();
      if (!top) return 'illegal';
      state = top.state;
      flip(top.call.op);
      if (top.call.match) pendingReturns++;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return 'ok';
}

export function checkLinearizable(history: Operation[], opts: { maxStatesPerKey?: number } = {}): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let ops = byKey.get(op.input.key);
    if (!ops) byKey.set(op.input.key, (ops = []));
    ops.push(op);
  }
  for (const [key, ops] of byKey) {
    const r = checkKey(ops, opts.maxStatesPerKey ?? 1_000_000);
    if (r === 'unknown') return { result: 'unknown', key };
    if (r === 'illegal') return { result: 'illegal', key, ops, explanation: `no order of the operations on key "${key}" agrees with both real time and a single register` };
  }
  return { result: 'ok' };
}

export function formatHistory(ops: Operation[]): string {
  const show = (v: string | null) => (v === null ? '∅' : JSON.stringify(v));
  return [...ops]
    .sort((a, b) => a.call - b.call)
    .map((o) => {
      const i = o.input;
      const what = i.op === 'put' ? `put(${i.key}, ${show(i.value)})` : i.op === 'get' ? `get(${i.key})` : `cas(${i.key}, ${show(i.expect)} → ${show(i.value)})`;
      const out = !o.output ? '?' : 'value' in o.output ? show(o.output.value) : 'ok' in o.output ? String(o.output.ok) : 'ok';
      return `client ${o.client}: [${o.call.toFixed(3)}, ${o.ret === Infinity ? '∞' : o.ret.toFixed(3)}] ${what} → ${out}`;
    })
    .join('\n');
}
