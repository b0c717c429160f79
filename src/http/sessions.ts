/** A bounded, expiring map of session id -> server for the protocol presets (least recently seen evicted first). */

import type { Server } from '../pool/server.js';

export interface SessionTableOptions {
  /** Most sessions kept; past it the least recently seen is dropped. */
  readonly max: number;
  /** A session not seen for this long is forgotten (read on every insert, so a reload takes effect). */
  readonly ttlMs: () => number;
  readonly now?: () => number;
}

interface Entry {
  server: Server;
  seen: number;
}

/**
 * A Map keeps insertion order; every hit re-inserts its entry, so the oldest-seen entries are
 * always at the front and both expiry and the size cap trim from there, without any timer:
 * the cost is paid by inserts, O(1) amortized.
 */
export class SessionTable {
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: () => number;
  readonly #now: () => number;

  constructor(opts: SessionTableOptions) {
    this.#max = Math.max(1, opts.max);
    this.#ttl = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The session's server (refreshing it), or undefined when unknown or expired. */
  get(id: string): Server | undefined {
    const e = this.#map.get(id);
    if (!e) return undefined;
    const now = this.#now();
    this.#map.delete(id);
    if (now - e.seen >= this.#ttl()) return undefined;
    e.seen = now;
    this.#map.set(id, e);
    return e.server;
  }

  set(id: string, server: Server): void {
    const now = this.#now();
    this.#map.delete(id);
    this.#map.set(id, { server, seen: now });
    this.#trim(now);
  }

  delete(id: string): void {
    this.#map.delete(id);
  }

  #trim(now: number): void {
    const ttl = this.#ttl();
    for (const [id, e] of this.#map) {
      if (this.#map.size <= this.#max && now - e.seen < ttl) break;
      this.#map.delete(id);
    }
  }
}
