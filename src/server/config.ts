// kvd's settings: etcd's flag names, defaults, ETCD_* environment variables and configuration
// file. Precedence as etcd: a configuration file alone; otherwise a command-line flag, then the
// environment variable, then the default.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { LOG_LEVELS } from './logger.js';
import type { CompactionPolicy } from '../actors/compactor/core.js';
import { parseTokenOptions, type TokenOptions } from './token-options.js';
import { CIPHER_SUITE_NAMES, opensslCipherList } from './cipher-suites.js';
import type { TransportSecurity, TlsVersion } from './transport-security.js';

type Kind = 'string' | 'number' | 'boolean' | 'duration';
interface FlagSpec { kind: Kind; default: string | number | boolean; help: string }

const FLAGS = {
  'name': { kind: 'string', default: 'default', help: 'Human-readable name for this member.' },
  'data-dir': { kind: 'string', default: '', help: 'Path to the data directory (default "${name}.kvd").' },
  'wal-dir': { kind: 'string', default: '', help: 'Path to a dedicated WAL directory (default <data-dir>/member/wal).' },
  'listen-client-urls': { kind: 'string', default: 'http://127.0.0.1:2379', help: 'List of URLs to listen on for client traffic.' },
  'advertise-client-urls': { kind: 'string', default: 'http://127.0.0.1:2379', help: 'List of this member\'s client URLs to advertise to the public.' },
  'listen-peer-urls': { kind: 'string', default: 'http://127.0.0.1:2380', help: 'List of URLs to listen on for peer traffic.' },
  'initial-advertise-peer-urls': { kind: 'string', default: 'http://127.0.0.1:2380', help: 'List of this member\'s peer URLs to advertise to the rest of the cluster.' },
  'initial-cluster': { kind: 'string', default: '', help: 'Initial cluster configuration for bootstrapping (default "${name}=${initial-advertise-peer-urls}").' },
  'initial-cluster-state': { kind: 'string', default: 'new', help: 'Initial cluster state (\'new\' or \'existing\').' },
  'initial-cluster-token': { kind: 'string', default: 'etcd-cluster', help: 'Initial cluster token for the cluster during bootstrap.' },
  'listen-metrics-urls': { kind: 'string', default: '', help: 'List of URLs to listen on for the metrics endpoint (/metrics).' },
  'max-request-bytes': { kind: 'number', default: 1.5 * 1024 * 1024, help: 'Maximum client request size in bytes the server will accept.' },
  'max-txn-ops': { kind: 'number', default: 128, help: 'Maximum number of operations permitted in a transaction.' },
  'quota-backend-bytes': { kind: 'number', default: 0, help: 'Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).' },
  'heartbeat-interval': { kind: 'number', default: 100, help: 'Time (in milliseconds) of a heartbeat interval.' },
  'election-timeout': { kind: 'number', default: 1000, help: 'Time (in milliseconds) for an election to timeout.' },
  'snapshot-count': { kind: 'number', default: 100000, help: 'Number of committed transactions to trigger a snapshot to disk.' },
  'experimental-compaction-batch-limit': { kind: 'number', default: 1000, help: 'Sets the maximum revisions deleted in each compaction batch.' },
  'experimental-snapshot-catchup-entries': { kind: 'number', default: 5000, help: 'Number of entries for a slow follower to catch-up after compacting the raft storage entries.' },
  'pre-vote': { kind: 'boolean', default: true, help: 'Enable to run an additional Raft election phase.' },
  'strict-reconfig-check': { kind: 'boolean', default: true, help: 'Reject reconfiguration requests that would cause quorum loss.' },
  'auto-promote-learners': { kind: 'boolean', default: false, help: 'Promote a learner to voting member once it has caught up with the leader.' },
  'experimental-watch-progress-notify-interval': { kind: 'duration', default: '10m', help: 'Duration of periodic watch progress notifications.' },
  'watch-stream-buffer-bytes': { kind: 'number', default: 4 * 1024 * 1024, help: 'Unsent watch response bytes a client stream may hold before its watchers catch up from history instead.' },
  'experimental-enable-lease-checkpoint': { kind: 'boolean', default: false, help: 'Enable to persist lease remaining TTL to prevent indefinite auto-renewal of long lived leases.' },
  'experimental-lease-checkpoint-interval': { kind: 'duration', default: '5m', help: 'Duration between lease checkpoints (kvd: remaining TTLs are checkpointed at this interval).' },
  'auto-compaction-mode': { kind: 'string', default: 'periodic', help: 'Interpret \'auto-compaction-retention\' one of: periodic|revision. \'periodic\' for duration based retention, defaulting to hours if no time unit is provided (e.g. \'5m\'). \'revision\' for revision number based retention.' },
  'auto-compaction-retention': { kind: 'string', default: '0', help: 'Auto compaction retention for mvcc key value store. 0 means disable auto compaction.' },
  'experimental-initial-corrupt-check': { kind: 'boolean', default: false, help: 'Enable to check data corruption before serving any client/peer traffic.' },
  'experimental-corrupt-check-time': { kind: 'duration', default: '0s', help: 'Duration of time between cluster corruption check passes.' },
  'auth-token': { kind: 'string', default: 'simple', help: 'Specify auth token specific options: \'simple\', or \'jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>,ttl=<duration>\'.' },
  'auth-token-ttl': { kind: 'number', default: 300, help: 'The lifetime in seconds of the auth token.' },
  'bcrypt-cost': { kind: 'number', default: 10, help: 'Specify bcrypt algorithm cost factor for auth password hashing (4 to 31).' },
  'cert-file': { kind: 'string', default: '', help: 'Path to the client server TLS cert file.' },
  'key-file': { kind: 'string', default: '', help: 'Path to the client server TLS key file.' },
  'client-cert-auth': { kind: 'boolean', default: false, help: 'Enable client cert authentication.' },
  'trusted-ca-file': { kind: 'string', default: '', help: 'Path to the client server TLS trusted CA cert file (clients must then present a certificate it signed).' },
  'client-crl-file': { kind: 'string', default: '', help: 'Path to the client certificate revocation list file (PEM): client certificates it lists are refused.' },
  'auto-tls': { kind: 'boolean', default: false, help: 'Client TLS using generated certificates (kept in <data-dir>/fixtures/client).' },
  'peer-cert-file': { kind: 'string', default: '', help: 'Path to the peer server TLS cert file.' },
  'peer-key-file': { kind: 'string', default: '', help: 'Path to the peer server TLS key file.' },
  'peer-client-cert-auth': { kind: 'boolean', default: false, help: 'Enable peer client cert authentication.' },
  'peer-trusted-ca-file': { kind: 'string', default: '', help: 'Path to the peer server TLS trusted CA file (peers must then present a certificate it signed).' },
  'peer-crl-file': { kind: 'string', default: '', help: 'Path to the peer certificate revocation list file (PEM): peer certificates it lists are refused.' },
  'peer-auto-tls': { kind: 'boolean', default: false, help: 'Peer TLS using generated certificates (kept in <data-dir>/fixtures/peer).' },
  'cipher-suites': { kind: 'string', default: '', help: `Comma-separated list of supported TLS cipher suites between client/server and peers (empty: OpenSSL's defaults). Accepted: ${CIPHER_SUITE_NAMES.join(', ')}.` },
  'tls-min-version': { kind: 'string', default: 'TLS1.2', help: 'Minimum TLS version supported by kvd: TLS1.2 or TLS1.3.' },
  'log-level': { kind: 'string', default: 'info', help: 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.' },
} satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

export interface Config {
  name: string;
  dataDir: string;
  walDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: string[];
  listenPeerUrls: URL[];
  listenMetricsUrls: URL[];
  initialAdvertisePeerUrls: string[];
  initialCluster: Map<string, string[]>;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  maxRequestBytes: number;
  maxTxnOps: number;
  quotaBackendBytes: number;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  snapshotCount: number;
  snapshotCatchupEntries: number;
  /** Revisions a compaction removes per transaction (it yields the thread in between). */
  compactionBatchLimit: number;
  preVote: boolean;
  strictReconfigCheck: boolean;
  autoPromoteLearners: boolean;
  watchProgressNotifyIntervalMs: number;
  watchStreamBufferBytes: number;
  leaseCheckpoint: boolean;
  initialCorruptCheck: boolean;
  corruptCheckMs: number;
  /** Undefined when auto-compaction is off. */
  autoCompaction?: CompactionPolicy;
  leaseCheckpointIntervalMs: number;
  authToken: TokenOptions;
  authTokenTtlMs: number;
  bcryptCost: number;
  clientSecurity: TransportSecurity;
  peerSecurity: TransportSecurity;
  /** OpenSSL's names of --cipher-suites, colon-separated; empty for OpenSSL's defaults. */
  ciphers: string;
  tlsMinVersion: TlsVersion;
  logLevel: string;
}

export class ConfigError extends Error {}

export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

/** etcd's allowance for gRPC framing on top of --max-request-bytes (messages received, watch fragments). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

const envName = (flag: string) => 'ETCD_' + flag.toUpperCase().replace(/-/g, '_');

function parseUrls(flag: string, value: string): URL[] {
  return value.split(',').map((s) => {
    try {
      const u = new URL(s.trim());
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (!u.port) throw new Error('port');
      return u;
    } catch {
      throw new ConfigError(`invalid value "${value}" for flag -${flag}: URL address does not have the form "host:port": ${s}`);
    }
  });
}

export function parseInitialCluster(value: string): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`invalid value "${value}" for flag -initial-cluster: missing '=' in "${part}"`);
    const name = part.slice(0, eq).trim();
    const url = part.slice(eq + 1).trim();
    parseUrls('initial-cluster', url);
    members.set(name, [...(members.get(name) ?? []), url]);
  }
  return members;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("10m", "1m30s", "250ms") in milliseconds, or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}

/**
 * An etcd configuration file (YAML, keys named as the flags): each setting as the text a flag
 * would carry. A key kvd does not know, or a malformed file, is an error.
 */
function readConfigFile(file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`configuration file ${file}: expected a mapping of settings`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    const section = SECURITY_SECTIONS[key];
    if (section !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`configuration file ${file}: "${key}" must be a mapping`);
      for (const [inner, setting] of Object.entries(value as Record<string, unknown>)) {
        if (!SECURITY_KEYS.includes(inner)) throw new ConfigError(`configuration file ${file}: unknown setting "${key}.${inner}"`);
        if (setting !== null && setting !== undefined) out[section + inner] = String(setting);
      }
      continue;
    }
    if (!(key in FLAGS)) throw new ConfigError(`configuration file ${file}: unknown setting "${key}"`);
    // etcd's file lists the cipher suites as a sequence.
    if (key === 'cipher-suites' && Array.isArray(value)) out[key] = value.map(String).join(',');
    else if (typeof value === 'object') throw new ConfigError(`configuration file ${file}: "${key}" must be a single value`);
    else out[key] = String(value);
  }
  return out;
}

/** etcd's YAML groups the TLS settings: each section's keys are the flags without (client) or with a "peer-" prefix. */
const SECURITY_SECTIONS: Record<string, string> = { 'client-transport-security': '', 'peer-transport-security': 'peer-' };
const SECURITY_KEYS = ['cert-file', 'key-file', 'client-cert-auth', 'trusted-ca-file', 'auto-tls'];

function cipherList(names: string): string {
  if (!names) return '';
  try {
    return opensslCipherList(names.split(',').map((n) => n.trim()));
  } catch (err) {
    throw new ConfigError(`invalid value "${names}" for flag -cipher-suites: ${(err as Error).message}`);
  }
}

/** etcd's reading of the auto-compaction settings: a periodic retention without a unit is in hours. */
function compactionPolicy(mode: string, retention: string): CompactionPolicy | undefined {
  const bad = () => new ConfigError(`invalid auto-compaction-retention "${retention}" (mode ${mode})`);
  if (mode === 'revision') {
    if (!/^\d+$/.test(retention)) throw bad();
    const n = Number(retention);
    return n > 0 ? { mode, retention: n } : undefined;
  }
  if (mode !== 'periodic') throw new ConfigError(`unknown auto-compaction-mode "${mode}" (periodic or revision)`);
  const ms = /^\d+$/.test(retention) ? Number(retention) * 3_600_000 : parseDuration(retention);
  if (ms === undefined) throw bad();
  return ms > 0 ? { mode, retentionMs: ms } : undefined;
}

export function usage(): string {
  const lines = ['Usage: kvd [flags]', '', 'Flags (each also as an ETCD_<NAME> environment variable):'];
  for (const [flag, spec] of Object.entries(FLAGS)) {
    lines.push(`  --${flag} <${spec.kind}>`, `      ${spec.help}${spec.default !== '' ? ` (default ${JSON.stringify(spec.default)})` : ''}`);
  }
  lines.push('  --config-file <string>', '      Path to the server configuration file (YAML, keys named as the flags); the other flags and ETCD_* variables are then ignored.');
  lines.push('  --version', '      Print the version and exit.', '  --help', '      Show this help.');
  return lines.join('\n');
}

export type ParsedArgs = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: Config };

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, version: { type: 'boolean' }, 'config-file': { type: 'string' } };
  for (const flag of Object.keys(FLAGS)) options[flag] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  // As Go's flag package: a boolean flag alone means true; --flag=false turns it off.
  const booleans = new Set(Object.entries(FLAGS).filter(([, spec]) => spec.kind === 'boolean').map(([flag]) => flag));
  const args = argv.map((a) => (booleans.has(a.replace(/^--?/, '')) && /^--?[a-z]/.test(a) ? `--${a.replace(/^--?/, '')}=true` : a));
  try {
    values = parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  // As etcd: with a configuration file, the other flags and the environment are ignored.
  const configFile = (values['config-file'] as string | undefined) ?? env.ETCD_CONFIG_FILE;
  const fromFile = configFile ? readConfigFile(configFile) : undefined;
  const raw = (flag: FlagName): string | number | boolean => {
    const spec: FlagSpec = FLAGS[flag];
    const given = fromFile ? fromFile[flag] : values[flag] ?? env[envName(flag)];
    if (given === undefined) return spec.kind === 'duration' ? parseDuration(spec.default as string)! : spec.default;
    if (spec.kind === 'boolean') {
      if (given === 'true' || given === '1') return true;
      if (given === 'false' || given === '0') return false;
      throw new ConfigError(`invalid boolean value "${given}" for -${flag}: parse error`);
    }
    if (spec.kind === 'number') {
      const n = Number(given);
      if (!Number.isFinite(n) || n < 0) throw new ConfigError(`invalid value "${given}" for flag -${flag}: parse error`);
      return n;
    }
    if (spec.kind === 'duration') {
      const ms = parseDuration(String(given));
      if (ms === undefined) throw new ConfigError(`invalid value "${given}" for flag -${flag}: parse error`);
      return ms;
    }
    return String(given);
  };
  const str = (f: FlagName) => raw(f) as string;
  const num = (f: FlagName) => raw(f) as number;
  const bool = (f: FlagName) => raw(f) as boolean;

  const name = str('name');
  const logLevel = str('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError(`invalid value "${logLevel}" for flag -log-level`);
  const state = str('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`invalid value "${state}" for flag -initial-cluster-state: valid values are "new" or "existing"`);
  const advertisePeer = str('initial-advertise-peer-urls');
  parseUrls('initial-advertise-peer-urls', advertisePeer);
  const advertiseClient = str('advertise-client-urls');
  parseUrls('advertise-client-urls', advertiseClient);
  const initialCluster = parseInitialCluster(str('initial-cluster') || `${name}=${advertisePeer}`);
  if (!initialCluster.has(name)) {
    throw new ConfigError(`couldn't find local name "${name}" in the initial cluster configuration`);
  }
  const dataDir = str('data-dir') || `${name}.kvd`;
  const heartbeat = num('heartbeat-interval');
  const election = num('election-timeout');
  if (heartbeat <= 0 || election < 5 * heartbeat) {
    throw new ConfigError(`--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${heartbeat}ms]`);
  }
  const autoCompaction = compactionPolicy(str('auto-compaction-mode'), str('auto-compaction-retention'));
  const bcryptCost = num('bcrypt-cost');
  if (!Number.isInteger(bcryptCost) || bcryptCost < 4 || bcryptCost > 31) throw new ConfigError(`invalid bcrypt-cost ${bcryptCost}: must be between 4 and 31`);
  const authToken = parseTokenOptions(str('auth-token'));
  if ('error' in authToken) throw new ConfigError(`invalid --auth-token "${str('auth-token')}": ${authToken.error}`);
  const tlsMinVersion = str('tls-min-version');
  if (tlsMinVersion !== 'TLS1.2' && tlsMinVersion !== 'TLS1.3') throw new ConfigError(`invalid value "${tlsMinVersion}" for flag -tls-min-version: TLS1.2 or TLS1.3`);
  const security = (prefix: '' | 'peer-'): TransportSecurity => ({
    certFile: str(`${prefix}cert-file`),
    keyFile: str(`${prefix}key-file`),
    trustedCaFile: str(`${prefix}trusted-ca-file`),
    crlFile: str(prefix ? 'peer-crl-file' : 'client-crl-file'),
    clientCertAuth: bool(`${prefix}client-cert-auth`),
    autoTls: bool(`${prefix}auto-tls`),
  });
  return {
    kind: 'run',
    config: {
      autoCompaction,
      name,
      dataDir,
      walDir: str('wal-dir'),
      listenClientUrls: parseUrls('listen-client-urls', str('listen-client-urls')),
      advertiseClientUrls: advertiseClient.split(',').map((s) => s.trim()),
      listenPeerUrls: parseUrls('listen-peer-urls', str('listen-peer-urls')),
      listenMetricsUrls: str('listen-metrics-urls') ? parseUrls('listen-metrics-urls', str('listen-metrics-urls')) : [],
      initialAdvertisePeerUrls: advertisePeer.split(',').map((s) => s.trim()),
      initialCluster,
      initialClusterState: state,
      initialClusterToken: str('initial-cluster-token'),
      maxRequestBytes: num('max-request-bytes'),
      maxTxnOps: num('max-txn-ops'),
      quotaBackendBytes: num('quota-backend-bytes') || DEFAULT_QUOTA_BYTES,
      heartbeatIntervalMs: heartbeat,
      electionTimeoutMs: election,
      snapshotCount: num('snapshot-count'),
      snapshotCatchupEntries: num('experimental-snapshot-catchup-entries'),
      // As etcd's: 0 means the default.
      compactionBatchLimit: num('experimental-compaction-batch-limit') || FLAGS['experimental-compaction-batch-limit'].default,
      preVote: bool('pre-vote'),
      strictReconfigCheck: bool('strict-reconfig-check'),
      autoPromoteLearners: bool('auto-promote-learners'),
      watchProgressNotifyIntervalMs: num('experimental-watch-progress-notify-interval'),
      watchStreamBufferBytes: num('watch-stream-buffer-bytes'),
      leaseCheckpoint: bool('experimental-enable-lease-checkpoint'),
      initialCorruptCheck: bool('experimental-initial-corrupt-check'),
      corruptCheckMs: num('experimental-corrupt-check-time'),
      leaseCheckpointIntervalMs: num('experimental-lease-checkpoint-interval'),
      authToken,
      authTokenTtlMs: num('auth-token-ttl') * 1000,
      bcryptCost,
      clientSecurity: security(''),
      peerSecurity: security('peer-'),
      ciphers: cipherList(str('cipher-suites')),
      tlsMinVersion,
      logLevel,
    },
  };
}
