/** A JWKS fetched from `jwks_url`: fetched with a timeout, kept while fresh, refetched when stale or on an unknown `kid` at most once per cooldown, and the last good set kept while the endpoint fails. */

import http from 'node:http';
import https from 'node:https';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '../log.js';
import { KeyError, parseKeySet } from './keys.js';

/** Larger answers are refused: a JWKS holds a few keys. */
const MAX_JWKS_BYTES = 1024 * 1024;

export interface RemoteKeySetOptions {
  readonly url: string;
  /** A set older than this is refetched in the background at its next use. */
  readonly refreshMs: number;
  /** Two fetches never start closer than this (unknown kids, failures, staleness). */
  readonly cooldownMs: number;
  /** One fetch, connect to last byte. */
  readonly timeoutMs: number;
}

/** One fetched set; `generation` grows with every set that replaced the one before. */
export interface FetchedKeys {
  readonly getKey: JWTVerifyGetKey;
  readonly generation: number;
}

/**
 * Never blocks the balancer's start: the first fetch starts when the config is applied and
 * nothing waits for it. A handshake that finds no set yet waits for the fetch under way (at most
 * `timeoutMs`), then is refused as "auth unavailable" (503) if it failed; the next handshake after
 * the cooldown tries again. Once
 * a set was fetched it is used until a newer one arrives: a failing endpoint is logged, never
 * turned into refusals of tokens the last good set verifies.
 */
export class RemoteKeySet {
  #log: Logger;
  readonly #now: () => number;
  #opts: RemoteKeySetOptions;
  #keys: FetchedKeys | null = null;
  #fetchedAt = -Infinity;
  #attemptAt = -Infinity;
  #pending: Promise<void> | null = null;
  #failing = false;

  constructor(opts: RemoteKeySetOptions, log: Logger, now: () => number = Date.now) {
    this.#opts = opts;
    this.#log = log;
    this.#now = now;
  }

  /** The newest options and logger win (a reload may change the intervals); a reload also makes the set stale. */
  reconfigure(opts: RemoteKeySetOptions, log: Logger): void {
    this.#opts = opts;
    this.#log = log;
    this.#fetchedAt = -Infinity;
  }

  /** The last good set, without starting a refresh. */
  get current(): FetchedKeys | null {
    return this.#keys;
  }

  /** The last good set, or null before the first successful fetch. Starts a background refresh when the set is stale. */
  keys(): FetchedKeys | null {
    if (this.#now() - this.#fetchedAt >= this.#opts.refreshMs) void this.refresh();
    return this.#keys;
  }

  /**
   * Fetches unless a fetch is under way (then joins it) or the last one started less than the
   * cooldown ago (then resolves at once). Never rejects: a failure keeps the current set.
   */
  refresh(): Promise<void> {
    if (this.#pending) return this.#pending;
    const now = this.#now();
    if (now - this.#attemptAt < this.#opts.cooldownMs) return Promise.resolve();
    this.#attemptAt = now;
    const url = this.#opts.url;
    this.#pending = fetchJson(url, this.#opts.timeoutMs)
      .then((json) => this.#accept(url, json))
      .catch((err: unknown) => this.#failed(url, err))
      .finally(() => { this.#pending = null; });
    return this.#pending;
  }

  #accept(url: string, json: unknown): void {
    const { set, skipped } = parseKeySet(json, url, 'lenient');
    const generation = (this.#keys?.generation ?? 0) + 1;
    this.#keys = { getKey: createLocalJWKSet({ keys: [...set.jwks.keys] }), generation };
    this.#fetchedAt = this.#now();
    const fields = { url, keys: set.jwks.keys.length, kids: set.jwks.keys.map((k) => (k as { kid?: string }).kid ?? null), skipped };
    if (this.#failing || generation === 1) this.#log.info(fields, 'jwks fetched');
    else this.#log.debug(fields, 'jwks fetched');
    this.#failing = false;
  }

  #failed(url: string, err: unknown): void {
    this.#failing = true;
    const reason = err instanceof KeyError || err instanceof FetchError ? err.message : String((err as Error)?.message ?? err);
    this.#log.warn({ url, reason, keeping: this.#keys ? 'last good set' : 'none (handshakes on its routes get 503)' }, 'jwks fetch failed');
  }
}

class FetchError extends Error {}

/** GET `url`, status 200, at most MAX_JWKS_BYTES of JSON, all within `timeoutMs`. Redirects are not followed. */
function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    let done = false;
    const finish = (err: Error | null, value?: unknown): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { req.destroy(); reject(err); } else resolve(value);
    };
    const req = mod.get(url, { headers: { accept: 'application/json, application/jwk-set+json' }, agent: false }, (res) => {
      if (res.statusCode !== 200) { res.resume(); finish(new FetchError(`HTTP ${res.statusCode ?? 0} from ${url}`)); return; }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) finish(new FetchError(`answer from ${url} larger than ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        try {
          finish(null, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          finish(new FetchError(`answer from ${url} is not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new FetchError(`${url}: ${err.code ?? err.message}`)));
    const timer = setTimeout(() => finish(new FetchError(`${url}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
}

/** One RemoteKeySet per distinct URL in the process, so reloads and routes sharing an issuer share its last good set. */
const sets = new Map<string, RemoteKeySet>();

export function remoteKeySet(opts: RemoteKeySetOptions, log: Logger): RemoteKeySet {
  let s = sets.get(opts.url);
  if (s) s.reconfigure(opts, log);
  else sets.set(opts.url, (s = new RemoteKeySet(opts, log)));
  return s;
}
