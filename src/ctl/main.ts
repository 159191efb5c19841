// tsctl: kvd's etcdctl. The same commands, flags, environment (ETCDCTL_*, or TSCTL_*) and
// output as etcdctl 3.4, on the shipped protos. Endpoints are tried in order: one that cannot
// be reached does not fail a command.
import { SERVER_VERSION, KVD_VERSION } from '../server/version.js';
import { ConnectionError, errorText, EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_BAD_FEATURE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_INVALID_INPUT, FeatureError, InputError, InterruptedError, output, program, UsageError } from './context.js';
import { registerKvCommands } from './kv.js';
import { registerLeaseCommands } from './lease.js';
import { registerClusterCommands } from './cluster.js';
import { registerMaintenanceCommands } from './maintenance.js';
import { registerWatchCommand } from './watch.js';
import { registerConcurrencyCommands } from './concurrency.js';
import { registerMirrorCommand } from './mirror.js';
import { registerAuthCommands } from './auth.js';
import { registerSnapshotCommands } from './snapshot.js';
import { registerCheckCommands } from './check.js';

registerKvCommands();
registerLeaseCommands();
registerClusterCommands();
registerMaintenanceCommands();
registerWatchCommand();
registerConcurrencyCommands();
registerMirrorCommand();
registerAuthCommands();
registerSnapshotCommands();
registerCheckCommands();

program.command('version').description('Prints the version of tsctl')
  .action(() => {
    output(`tsctl version: ${KVD_VERSION}\nAPI version: ${SERVER_VERSION.split('.').slice(0, 2).join('.')}\n`);
  });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const e = err as { code?: unknown; message: string; details?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    if (e.code === 'commander.unknownOption') {
      // As etcdctl (its usage text aside): the flag named, exit 1.
      process.stderr.write(`Error: unknown flag: ${/'([^']+)'/.exec(e.message)?.[1] ?? ''}\n`);
      process.exit(EXIT_ERROR);
    }
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) process.exit(EXIT_BAD_ARGS);
    process.stderr.write(`Error: ${errorText(err)}\n`);
    process.exit(err instanceof UsageError ? EXIT_BAD_ARGS : err instanceof FeatureError ? EXIT_BAD_FEATURE : err instanceof InputError ? EXIT_INVALID_INPUT : err instanceof ConnectionError ? EXIT_BAD_CONNECTION : err instanceof InterruptedError ? EXIT_INTERRUPTED : EXIT_ERROR);
  }
}

await main();
