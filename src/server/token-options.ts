// The --auth-token setting as etcd writes it: "simple", or "jwt" followed by comma-separated
// key=value options (sign-method, pub-key, priv-key, ttl).
import { parseDuration } from './config.js';

export type TokenOptions =
  | { type: 'simple' }
  | { type: 'jwt'; signMethod: string; pubKey?: string; privKey?: string; ttlMs: number };

const JWT_DEFAULT_TTL_MS = 5 * 60_000;

/** The sign methods etcd accepts. */
export const JWT_SIGN_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'];

export function parseTokenOptions(text: string): TokenOptions | { error: string } {
  const [type, ...rest] = text.split(',');
  const opts = new Map<string, string>();
  for (const pair of rest) {
    const parts = pair.split('=');
    if (parts.length !== 2 || opts.has(parts[0]!)) return { error: 'auth: invalid auth options' };
    opts.set(parts[0]!, parts[1]!);
  }
  if (type === 'simple') return { type };
  if (type !== 'jwt') return { error: 'auth: invalid auth options' };
  const signMethod = opts.get('sign-method') ?? '';
  if (!JWT_SIGN_METHODS.includes(signMethod)) return { error: 'auth: invalid auth signature method' };
  const ttlMs = opts.has('ttl') ? parseDuration(opts.get('ttl')!) : JWT_DEFAULT_TTL_MS;
  if (ttlMs === undefined) return { error: 'auth: invalid auth options' };
  const pubKey = opts.get('pub-key');
  const privKey = opts.get('priv-key');
  if (!pubKey && !privKey) return { error: 'auth: missing key data' };
  return { type, signMethod, ttlMs, ...(pubKey ? { pubKey } : {}), ...(privKey ? { privKey } : {}) };
}
