// tsctl against etcdctl 3.4: the same steps through each client, each on a fresh server, must
// print the same after normalize(); or both clients run side by side on one server.
import assert from 'node:assert/strict';
import type { Step } from './normalize.js';
import { runScenario } from './run.js';
import { etcdctl, type CtlResult } from '../harness/etcdctl.js';
import { errorLines } from './normalize.js';

/** Runs `steps` with etcdctl and with tsctl (each on a fresh kvd) and compares every output. */
export async function assertSameOutputs(steps: Step[], extra: (text: string) => string = (t) => t): Promise<void> {
  const [ctl, ts] = [await runScenario('kvd', steps, 'etcdctl'), await runScenario('kvd', steps, 'tsctl')];
  assert.equal(ts.length, ctl.length);
  for (let i = 0; i < ctl.length; i++) assert.equal(extra(ts[i]!), extra(ctl[i]!), `output ${i + 1} differs`);
}

/** A run's output, exit code and error lines, for an exact comparison. */
export const transcript = (r: CtlResult) => `exit ${r.code}\n${r.stdout}\n${errorLines(r.stderr)}`;

/** Runs the same command with both clients on one endpoint, one after the other; returns etcdctl's and tsctl's transcripts. */
export async function bothOn(endpoint: string, args: string[]): Promise<[string, string]> {
  const ctl = await etcdctl(endpoint, args);
  const ts = await etcdctl(endpoint, args, { tool: 'tsctl' });
  return [transcript(ctl), transcript(ts)];
}
