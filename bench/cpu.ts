// CPU time used by server processes, from /proc: on a machine whose load generator competes
// with the server for the same cores, CPU per request measures a server's cost more steadily
// than its throughput does.
import fs from 'node:fs';
import { execSync } from 'node:child_process';

const TICKS_PER_SECOND = (() => {
  try { return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** User plus system CPU seconds of a process and its threads so far; NaN when unreadable. */
function cpuSeconds(pid: number): number {
  try {
    // The command name may hold spaces; the fields counted from after its closing parenthesis do not.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
  } catch {
    return NaN;
  }
}

/** Starts counting the CPU of `pids`; the returned function gives the seconds used since. */
export function cpuMeter(pids: number[]): () => number {
  const at = pids.map(cpuSeconds);
  return () => pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - at[i]!, 0);
}
