// Auth tokens, as etcd issues them. Simple tokens ("<16 letters>.<log index>") are assigned when
// an Authenticate call applies, so every member knows them; they live in memory, expire after
// --auth-token-ttl without use, and die with their user's deletion or password change. JWTs
// are signed by the member that answers and checked by any member holding the public key.
import fs from 'node:fs';
import { randomInt } from 'node:crypto';
import { importPKCS8, importSPKI, jwtVerify, SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { userOf, type AuthInfo, type AuthState } from '../actors/mvcc/permissions.js';
import type { TokenOptions } from './token-options.js';

export interface TokenProvider {
  /** What an Authenticate proposal carries for the token to be assigned at apply (simple tokens). */
  prefix(): string | undefined;
  /** Signs a token for a user who has just authenticated (tokens not assigned at apply). */
  issue?(user: string, revision: number): Promise<string>;
  /** A token assigned by an applied Authenticate call, on any member. */
  assigned(token: string, user: string): void;
  /** Who a token belongs to, with the auth revision it stands for; undefined when not valid. */
  info(token: string, state: AuthState): Promise<AuthInfo | undefined>;
  /** The auth state changed: tokens of deleted users, of changed passwords, or all on disable, go. */
  changed(before: AuthState, after: AuthState): void;
  stop(): void;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SWEEP_MS = 1000;

export class SimpleTokens implements TokenProvider {
  private readonly tokens = new Map<string, { user: string; expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  /** `appliedUpTo` resolves once this member has applied a log index (a token from another member may be newer). */
  constructor(private readonly ttlMs: number, private readonly appliedUpTo: (index: number) => Promise<boolean>) {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [t, v] of this.tokens) if (v.expires < now) this.tokens.delete(t);
    }, SWEEP_MS).unref();
  }

  prefix(): string {
    let p = '';
    for (let i = 0; i < 16; i++) p += LETTERS[randomInt(LETTERS.length)];
    return p;
  }

  assigned(token: string, user: string): void {
    this.tokens.set(token, { user, expires: Date.now() + this.ttlMs });
  }

  async info(token: string, state: AuthState): Promise<AuthInfo | undefined> {
    const parts = token.split('.');
    if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) return undefined;
    if (!this.tokens.has(token) && !(await this.appliedUpTo(Number(parts[1])))) return undefined;
    const t = this.tokens.get(token);
    if (!t) return undefined;
    t.expires = Date.now() + this.ttlMs;
    // As etcd: a simple token stands for the current revision; a removed user is refused later.
    return { user: t.user, revision: state.revision };
  }

  changed(before: AuthState, after: AuthState): void {
    for (const [t, v] of this.tokens) {
      const was = userOf(before, v.user);
      const now = userOf(after, v.user);
      if (!after.enabled || !now || now.password !== was?.password) this.tokens.delete(t);
    }
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}

type Key = CryptoKey | KeyObject | Uint8Array;

export class JwtTokens implements TokenProvider {
  private constructor(private readonly opts: Extract<TokenOptions, { type: 'jwt' }>, private readonly signKey: Key | undefined, private readonly verifyKey: Key) {}

  /** Loads the keys named by the options (PEM files; for HS* the private key file is the secret). */
  static async load(opts: Extract<TokenOptions, { type: 'jwt' }>): Promise<JwtTokens> {
    const alg = opts.signMethod;
    if (alg.startsWith('HS')) {
      const secret = fs.readFileSync(opts.privKey ?? opts.pubKey!);
      return new JwtTokens(opts, secret, secret);
    }
    const signKey = opts.privKey ? await importPKCS8(fs.readFileSync(opts.privKey, 'utf8'), alg) : undefined;
    const verifyKey = opts.pubKey ? await importSPKI(fs.readFileSync(opts.pubKey, 'utf8'), alg) : signKey!;
    return new JwtTokens(opts, signKey, verifyKey);
  }

  prefix(): undefined {
    return undefined;
  }

  async issue(user: string, revision: number): Promise<string> {
    if (!this.signKey) throw new Error('auth: token signing attempted with verify-only key');
    return new SignJWT({ username: user, revision })
      .setProtectedHeader({ alg: this.opts.signMethod })
      .setExpirationTime(Math.floor((Date.now() + this.opts.ttlMs) / 1000))
      .sign(this.signKey);
  }

  assigned(): void {}

  async info(token: string): Promise<AuthInfo | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.verifyKey, { algorithms: [this.opts.signMethod] });
      if (typeof payload.username !== 'string' || typeof payload.revision !== 'number') return undefined;
      return { user: payload.username, revision: payload.revision };
    } catch {
      return undefined;
    }
  }

  changed(): void {}

  stop(): void {}
}

export async function tokenProvider(opts: TokenOptions, ttlMs: number, appliedUpTo: (index: number) => Promise<boolean>): Promise<TokenProvider> {
  return opts.type === 'simple' ? new SimpleTokens(ttlMs, appliedUpTo) : JwtTokens.load(opts);
}
