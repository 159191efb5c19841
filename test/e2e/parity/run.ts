// Runs etcdctl scripts (steps) on a fresh server with a command-line client, collecting each
// step's normalized output: the parity tests compare these between servers or between clients.
import fs from 'node:fs';
import { startServer, type ServerKind, type StartOptions } from '../harness/server.js';
import { etcdctl, startEtcdctl, type CtlResult, type CtlTool, type RunningCtl } from '../harness/etcdctl.js';
import { errorLines, normalize, type Step } from './normalize.js';
import { SNAPSHOT_FILE } from './scenarios.js';

/** Time a background etcdctl gets to connect and create its watch before the writes start. */
const WATCH_READY_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until its output has not changed for a while (bounded). */
export async function settled(ctl: RunningCtl): Promise<void> {
  for (let quiet = 0, last = '', waited = 0; quiet < 3 && waited < 50; waited++) {
    await sleep(200);
    quiet = ctl.stdout() === last ? quiet + 1 : 0;
    last = ctl.stdout();
  }
}

/** `ctlArgs`: flags every command gets (e.g. TLS), not shown in the outputs. */
async function runSteps(endpoint: string, steps: Step[], outputs: string[], tool: CtlTool, ctlArgs: string[], vars = new Map<string, string>()): Promise<void> {
  for (const step of steps) {
    let r: CtlResult;
    const args = [...ctlArgs, ...step.args.map((a) => a.replace(/\$([A-Z]+)/g, (whole, name: string) => vars.get(name) ?? whole))];
    if (step.during) {
      const ctl = startEtcdctl(endpoint, args, { tool });
      if (step.stdin) ctl.write(step.stdin);
      await sleep(WATCH_READY_MS);
      await runSteps(endpoint, step.during, outputs, tool, ctlArgs, vars);
      await settled(ctl);
      r = await ctl.stop();
    } else r = await etcdctl(endpoint, args, { stdin: step.stdin, tool });
    const captured = step.capture && r.stdout.match(step.capture.pattern)?.[1];
    if (captured) vars.set(step.capture!.name, captured);
    outputs.push([`$ etcdctl ${step.args.join(' ')}`, `exit ${r.code}`, normalize(r.stdout, endpoint, step), normalize(errorLines(r.stderr), endpoint, step)].join('\n'));
  }
}

/** `server`: how the server starts (e.g. with TLS); `ctlArgs`: flags given to every command. */
export async function runScenario(kind: ServerKind, steps: Step[], tool: CtlTool = 'etcdctl', setup: { server?: Omit<StartOptions, 'kind'>; ctlArgs?: string[] } = {}): Promise<string[]> {
  const server = await startServer({ ...setup.server, kind });
  try {
    const outputs: string[] = [];
    await runSteps(server.endpoint, steps, outputs, tool, setup.ctlArgs ?? []);
    return outputs;
  } finally {
    await server.stop();
    fs.rmSync(SNAPSHOT_FILE, { force: true });
  }
}

