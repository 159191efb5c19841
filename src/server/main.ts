// kvd's entry point: parse etcd-style settings, start the member and its gateway, and shut
// down cleanly on SIGTERM/SIGINT (stop accepting, drain, stop the actors, exit 0).
import { ConfigError, parseConfig, usage } from './config.js';
import { createLogger } from './logger.js';
import { Member } from './member.js';
import { Gateway } from '../gateway/server.js';
import { Metrics } from './metrics.js';
import { startAutoCompaction } from './auto-compaction.js';
import { initialCorruptCheck, startCorruptCheck } from './corruption-check.js';
import { KVD_VERSION, SERVER_VERSION } from './version.js';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`kvd: ${err.message}\n${usage()}\n`);
    process.exit(2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage() + '\n');
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`kvd Version: ${KVD_VERSION}\netcd API Version: ${SERVER_VERSION}\nNode.js Version: ${process.version}\n`);
    return;
  }
  const config = parsed.config;
  const log = createLogger(config.logLevel);
  log.info({ name: config.name, 'data-dir': config.dataDir, 'listen-client-urls': config.listenClientUrls.map((u) => u.href) }, 'starting kvd');

  const member = new Member(config, log);
  await member.start();
  if (config.initialCorruptCheck) await initialCorruptCheck(member);
  const stopCompaction = config.autoCompaction ? startAutoCompaction(member, config.autoCompaction) : () => {};
  const stopCorruptCheck = config.corruptCheckMs > 0 ? startCorruptCheck(member, config.corruptCheckMs) : () => {};
  const metrics = new Metrics(member);
  const gateway = new Gateway(member, metrics);
  const urls = await gateway.listen();
  log.info({ address: urls }, 'serving client traffic');
  if (config.listenMetricsUrls.length) log.info({ address: await metrics.listen(config.listenMetricsUrls, member.clientTls) }, 'serving metrics');

  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    stopCompaction();
    stopCorruptCheck();
    metrics.close();
    await gateway.close();
    await member.stop();
    log.info({}, 'stopped');
    process.exit(0);
  };
  void member.removed.then(async () => {
    log.warn({ 'local-member-id': member.id.toString(16) }, 'the member has been permanently removed from the cluster');
    await shutdown('removed');
  });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`kvd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
