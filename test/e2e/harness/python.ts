// Runs a Python script on the system interpreter (where Debian's python3-etcd3 and
// python3-etcd3gw live) with the endpoint's host and port as arguments; resolves with stdout.
import { execFile } from 'node:child_process';

export function runPython(script: string, endpoint: string): Promise<string> {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) =>
    execFile('/usr/bin/python3', ['-c', script, host!, port!], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
}
