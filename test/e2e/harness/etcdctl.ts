// Runs etcdctl 3.4 (API v3) against an endpoint, bounded in time: to completion, or in the
// background for commands that run until stopped (watch).
import path from 'node:path';
import { spawn } from 'node:child_process';

export interface CtlResult { code: number | null; stdout: string; stderr: string }

export interface RunningCtl {
  /** What it has printed so far. */
  stdout(): string;
  /** Writes to its standard input (interactive commands); `end` closes it. */
  write(text: string, end?: boolean): void;
  /** Resolves when it exits by itself. */
  readonly exited: Promise<CtlResult>;
  /** Interrupts it (as Ctrl-C) and resolves with everything it printed. */
  stop(): Promise<CtlResult>;
}

/** The command-line clients the tests drive: etcdctl 3.4 and kvd's own tsctl. */
export type CtlTool = 'etcdctl' | 'tsctl';
const TSCTL = path.resolve(import.meta.dirname, '../../../../bin/tsctl');

export function startEtcdctl(endpoint: string, args: string[], opts: { timeoutMs?: number; tool?: CtlTool } = {}): RunningCtl {
  const [command, prefix] = opts.tool === 'tsctl' ? [process.execPath, [TSCTL]] : ['etcdctl', []];
  const child = spawn(command, [...prefix, `--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  let stdout = '';
  let stderr = '';
  // A command that exits before reading its input closes it: not an error of the test.
  child.stdin.on('error', () => undefined);
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const exited = new Promise<CtlResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    write: (text, end = false) => (end ? child.stdin.end(text) : child.stdin.write(text)),
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

export function etcdctl(endpoint: string, args: string[], opts: { stdin?: string; timeoutMs?: number; tool?: CtlTool } = {}): Promise<CtlResult> {
  const ctl = startEtcdctl(endpoint, args, opts);
  ctl.write(opts.stdin ?? '', true);
  return ctl.exited;
}
