// Runs etcdctl 3.4 (API v3) against an endpoint, bounded in time.
import { spawn } from 'node:child_process';

export interface CtlResult { code: number | null; stdout: string; stderr: string }

export function etcdctl(endpoint: string, args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', [`--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
