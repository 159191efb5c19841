// The benchmarks' command lines: `--help` lists every option with its default, and an unknown
// option or a malformed number stops the run before any server starts.
import { Command, InvalidArgumentError, Option } from 'commander';
import { hasEtcd } from './report.js';

/** A whole number ≥ `min`. */
export function wholeNumber(min: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < min) throw new InvalidArgumentError(`not a whole number ≥ ${min}`);
    return n;
  };
}

/** A comma-separated list of whole numbers ≥ 1. */
export function countList(text: string): number[] {
  return text.split(',').map(wholeNumber(1));
}

/** One of `allowed`. */
export function oneOf<T extends string>(allowed: readonly T[]): (text: string) => T {
  return (name) => {
    if (!allowed.includes(name as T)) throw new InvalidArgumentError(`"${name}" is not one of ${allowed.join(', ')}`);
    return name as T;
  };
}

/** A comma-separated list of names, each one of `allowed`. */
export function nameList<T extends string>(allowed: readonly T[]): (text: string) => T[] {
  return (text) => text.split(',').map(oneOf(allowed));
}

/** Of the servers named, those this machine can run: etcd only when installed. */
function installedTargets(text: string): ('kvd' | 'etcd')[] {
  return nameList(['kvd', 'etcd'] as const)(text).filter((t) => t === 'kvd' || hasEtcd);
}

/** An option whose value `parse` checks; its default is given as it would be typed. */
export function option<T>(flags: string, description: string, parse: (text: string) => T, typedDefault: string): Option {
  return new Option(flags, description).argParser(parse).default(parse(typedDefault), typedDefault);
}

/** The options every side-by-side benchmark takes; the caller adds its own and parses. */
export function benchCommand(script: string, description: string, defaultRounds: number): Command {
  return new Command(`npm run ${script} --`)
    .description(description)
    .addOption(option('--rounds <n>', 'alternating rounds per server', wholeNumber(1), String(defaultRounds)))
    .addOption(option('--seconds <s>', 'seconds measured per run', wholeNumber(1), '5'))
    .addOption(option('--targets <list>', 'servers to run (etcd only when installed)', installedTargets, 'kvd,etcd'))
    .option('--write', 'append the tables to BENCHMARKS.md', false);
}
