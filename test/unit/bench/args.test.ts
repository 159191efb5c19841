// The benchmarks' command lines: checked values and defaults, and bad input refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCommand, countList, nameList, option, wholeNumber } from '../../../bench/args.js';
import { hasEtcd } from '../../../bench/report.js';

/** etcd runs only where it is installed (the tests install it). */
const bothServers = hasEtcd ? ['kvd', 'etcd'] : ['kvd'];

const parse = (argv: string[]) => {
  const errors: string[] = [];
  const command = benchCommand('bench', 'a test', 3)
    .addOption(option('--clients <list>', 'clients', countList, '64'))
    .exitOverride()
    .configureOutput({ writeErr: (text) => errors.push(text), writeOut: () => undefined });
  try {
    return { opts: command.parse(argv, { from: 'user' }).opts(), errors };
  } catch {
    return { opts: undefined, errors };
  }
};

test('defaults come parsed, as typed', () => {
  const { opts } = parse([]);
  assert.deepEqual(opts, { rounds: 3, seconds: 5, targets: bothServers, write: false, clients: [64] });
});

test('values are parsed into numbers and lists', () => {
  const { opts } = parse(['--rounds', '5', '--clients', '1,16,256', '--targets', 'kvd', '--write']);
  assert.deepEqual(opts, { rounds: 5, seconds: 5, targets: ['kvd'], write: true, clients: [1, 16, 256] });
  assert.deepEqual(parse(['--targets', 'etcd,kvd']).opts?.targets, [...bothServers].reverse());
});

test('a malformed number, an unknown name or an unknown option stops the run with a reason', () => {
  for (const [argv, reason] of [
    [['--rounds', 'x'], 'not a whole number ≥ 1'],
    [['--rounds', '0'], 'not a whole number ≥ 1'],
    [['--seconds', '1.5'], 'not a whole number ≥ 1'],
    [['--clients', '1,,2'], 'not a whole number ≥ 1'],
    [['--targets', 'kvd,zookeeper'], '"zookeeper" is not one of kvd, etcd'],
    [['--bogus'], "unknown option '--bogus'"],
  ] as const) {
    const { opts, errors } = parse([...argv]);
    assert.equal(opts, undefined, argv.join(' '));
    assert.match(errors.join(''), new RegExp(reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), argv.join(' '));
  }
});

test('parsers on their own', () => {
  assert.equal(wholeNumber(0)('0'), 0);
  assert.throws(() => wholeNumber(1)('-1'));
  assert.deepEqual(nameList(['s', 'm', 'l'] as const)('m,l'), ['m', 'l']);
});
