/** Verifies one route's JWTs with jose: its keys (file or fetched JWKS), algorithm allowlist, issuer, audience and clock skew, with a bounded cache of answers per token. */

import { jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyObject as JoseKey } from 'jose';
import { createSecretKey } from 'node:crypto';
import type { JwtAuthConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { AnswerCache, credentialKey } from './cache.js';
import { remoteKeySet, type FetchedKeys, type RemoteKeySet } from './jwks-remote.js';
import { HMAC_ALGORITHMS, JWS_ALGORITHMS, readKeyFile, type KeyMaterial } from './keys.js';
import { createLocalJWKSet } from 'jose';

export type JwtVerdict =
  | { readonly ok: true; readonly claims: JWTPayload; readonly expiresAt: number | undefined }
  | { readonly ok: false; readonly code: 'WSLB_ERR_AUTH' | 'WSLB_ERR_AUTH_UNAVAILABLE'; readonly why: string };

/** Tokens remembered per route: a reconnect storm of one user costs one signature check, not one per connection. */
export const MAX_CACHED_TOKENS = 10_000;
/** A refusal that cannot turn into a pass for the same keys (bad signature, expired, wrong issuer) is remembered this long. */
const REFUSAL_CACHE_MS = 60_000;
/**
 * A fetched set without `algorithms` accepts any asymmetric algorithm, not only those of the keys
 * fetched so far: a rotation to another key type must reach the refetch. jose matches each alg to
 * the key type and curve of the key it picks, and a JWKS never holds secrets.
 */
const ASYMMETRIC: readonly string[] = JWS_ALGORITHMS.filter((a) => !HMAC_ALGORITHMS.includes(a));

type Key = Uint8Array | JoseKey | JWTVerifyGetKey;

interface Cached {
  readonly verdict: JwtVerdict;
  readonly generation: number;
}

/** jose error codes whose answer holds for as long as the key set does. */
const SETTLED = new Set([
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWS_INVALID', 'ERR_JWT_INVALID', 'ERR_JWT_EXPIRED',
  'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED',
]);

export class JwtVerifier {
  readonly #cfg: JwtAuthConfig;
  readonly #now: () => number;
  readonly #static: { key: Key; algorithms: readonly string[] } | null;
  readonly #remote: RemoteKeySet | null;
  readonly #cache = new AnswerCache<Cached>(MAX_CACHED_TOKENS);
  /** Verifications under way by token: concurrent handshakes with one token share one check. */
  readonly #inFlight = new Map<string, Promise<JwtVerdict>>();

  /** Reads `cfg.keys` now (a KeyError when it cannot be used); a `jwks_url` fetch starts now and nothing waits for it. */
  constructor(cfg: JwtAuthConfig, log: Logger, now: () => number = Date.now) {
    this.#cfg = cfg;
    this.#now = now;
    if (cfg.keys !== undefined) {
      const material = readKeyFile(cfg.keys);
      this.#static = { key: keyOf(material), algorithms: cfg.algorithms ?? material.algorithms };
      this.#remote = null;
    } else {
      this.#static = null;
      this.#remote = remoteKeySet({
        url: cfg.jwks_url!, refreshMs: cfg.jwks_refresh, cooldownMs: cfg.jwks_cooldown, timeoutMs: cfg.jwks_timeout,
      }, log);
      // Fetched now (start, reload), in the background: the first handshakes join this fetch instead of starting one.
      void this.#remote.refresh();
    }
  }

  /** Answers at once (synchronously) when the token was seen before; otherwise checks it. */
  verify(token: string): JwtVerdict | Promise<JwtVerdict> {
    const id = credentialKey(token);
    const now = this.#now();
    const generation = this.#generation();
    const hit = this.#cache.get(id, now);
    if (hit !== undefined && hit.generation === generation) return hit.verdict;
    let pending = this.#inFlight.get(id);
    if (pending === undefined) {
      pending = this.#check(token, id).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, pending);
    }
    return pending;
  }

  #generation(): number {
    return this.#remote?.current?.generation ?? 0;
  }

  async #check(token: string, id: string): Promise<JwtVerdict> {
    if (this.#static) return this.#settle(id, 0, await this.#jose(token, this.#static.key, this.#static.algorithms));
    const remote = this.#remote!;
    let keys = remote.keys();
    if (keys === null) {
      await remote.refresh();
      keys = remote.current;
      if (keys === null) return { ok: false, code: 'WSLB_ERR_AUTH_UNAVAILABLE', why: 'no JWKS fetched yet' };
    }
    const algorithms = this.#cfg.algorithms ?? ASYMMETRIC;
    let result = await this.#jose(token, keys.getKey, algorithms);
    if (!result.ok && result.error === 'ERR_JWKS_NO_MATCHING_KEY') {
      // An unknown kid may be a key published since the last fetch: refetch (at most once per cooldown) and try once more.
      await remote.refresh();
      const fresh: FetchedKeys | null = remote.current;
      if (fresh !== null && fresh.generation !== keys.generation) {
        keys = fresh;
        result = await this.#jose(token, keys.getKey, algorithms);
      }
    }
    return this.#settle(id, keys.generation, result);
  }

  /** Remembers what can be remembered, and turns jose's answer into a verdict. */
  #settle(id: string, generation: number, r: JoseResult): JwtVerdict {
    const now = this.#now();
    if (r.ok) {
      const exp = r.claims.exp;
      const expiresAt = typeof exp === 'number' ? exp * 1000 + this.#cfg.clock_skew : undefined;
      const verdict: JwtVerdict = { ok: true, claims: r.claims, expiresAt };
      this.#cache.set(id, { verdict, generation }, expiresAt ?? Infinity);
      return verdict;
    }
    const verdict: JwtVerdict = { ok: false, code: 'WSLB_ERR_AUTH', why: r.why };
    if (SETTLED.has(r.error) || (r.error === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && r.claim !== 'nbf')) {
      this.#cache.set(id, { verdict, generation }, now + REFUSAL_CACHE_MS);
    }
    return verdict;
  }

  async #jose(token: string, key: Key, algorithms: readonly string[]): Promise<JoseResult> {
    const options = {
      algorithms: [...algorithms],
      clockTolerance: this.#cfg.clock_skew / 1000,
      currentDate: new Date(this.#now()),
      ...(this.#cfg.issuer !== undefined ? { issuer: this.#cfg.issuer } : {}),
      ...(this.#cfg.audience !== undefined ? { audience: this.#cfg.audience } : {}),
    };
    try {
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      return { ok: true, claims: payload };
    } catch (err) {
      const e = err as { code?: string; claim?: string; message?: string };
      if (e.code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' && typeof key === 'function') return this.#eachKey(token, err as AsyncIterable<JoseKey>, options);
      return { ok: false, error: e.code ?? 'ERR_OTHER', claim: e.claim, why: e.message ?? String(err) };
    }
  }

  /** Several keys of the set match the token's header (no kid): the signature decides which, if any. */
  async #eachKey(token: string, keys: AsyncIterable<JoseKey>, options: Parameters<typeof jwtVerify>[2]): Promise<JoseResult> {
    for await (const key of keys) {
      try {
        return { ok: true, claims: (await jwtVerify(token, key, options)).payload };
      } catch (err) {
        const e = err as { code?: string; claim?: string; message?: string };
        if (e.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { ok: false, error: e.code ?? 'ERR_OTHER', claim: e.claim, why: e.message ?? String(err) };
      }
    }
    return { ok: false, error: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', why: 'signature verification failed' };
  }
}

type JoseResult =
  | { readonly ok: true; readonly claims: JWTPayload }
  | { readonly ok: false; readonly error: string; readonly claim?: string | undefined; readonly why: string };

function keyOf(m: KeyMaterial): Key {
  switch (m.kind) {
    // As a KeyObject, not bytes: jose keeps the CryptoKey it derives from a KeyObject, and imports raw bytes again per token.
    case 'secret': return createSecretKey(m.secret) as unknown as JoseKey;
    case 'public': return m.key as unknown as JoseKey;
    case 'jwks': return createLocalJWKSet({ keys: [...m.jwks.keys] });
  }
}
