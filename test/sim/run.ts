// Runs simulation seeds: `npm run sim -- --seeds N [--from S] [--steps K] [--members 3|5]`, or
// `--seed S` to replay one. A failure prints its seed, the error and the command replaying it.
import { parseArgs } from 'node:util';
import { runSeed } from './simulation.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '100' }, from: { type: 'string', default: '1' }, seed: { type: 'string' }, steps: { type: 'string', default: '1000' }, members: { type: 'string' } },
});
const steps = Number(values.steps);
const from = values.seed ? Number(values.seed) : Number(values.from);
const count = values.seed ? 1 : Number(values.seeds);
const started = Date.now();
let failures = 0;
for (let seed = from; seed < from + count; seed++) {
  const members = values.members ? (Number(values.members) as 3 | 5) : seed % 2 ? 3 : 5;
  const r = runSeed(seed, { members, steps });
  if (!r.ok) {
    failures++;
    process.stdout.write(`seed ${seed} (${members} members) FAILED:\n${r.error}\nreplay: npm run sim -- --seed ${seed} --steps ${steps} --members ${members}\n`);
  } else if (values.seed) {
    process.stdout.write(`seed ${seed}: ${JSON.stringify(r.stats)}\n`);
  }
  if ((seed - from + 1) % 100 === 0) process.stdout.write(`${seed - from + 1}/${count} seeds, ${failures} failed, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
process.stdout.write(`${count} seeds, ${failures} failed\n`);
process.exitCode = failures ? 1 : 0;
