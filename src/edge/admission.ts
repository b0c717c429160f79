/** Per-IP admission: a connection cap and a handshake token bucket per client address, in one table bounded in size and self-expiring. */

import type { Socket } from 'node:net';
import type { Limits } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import { limitKey } from './client-address.js';

/** Addresses remembered without a live connection; past it the least recently seen idle ones are forgotten. */
export const MAX_IDLE_ENTRIES = 65_536;
/** Entries looked at per admission for expiry or eviction: the table is trimmed a little at a time, never in one long pass. */
const TRIM_STEPS = 4;

interface Entry {
  conns: number;       // live connections (handshakes in flight and tunnels)
  tokens: number;      // handshake tokens left at `at`
  at: number;          // ms, last refill
}

/** Cluster-wide caps (src/cluster/ip-share.ts): the rest of the farm's count per key, and each change of a local count. */
export interface SharedCounts {
  remote(key: string): number;
  changed(key: string, conns: number): void;
}

export interface AdmissionOptions {
  readonly now?: () => number;
  readonly maxIdleEntries?: number;
  /** Counts shared with other processes; absent: this process's own only. */
  readonly shared?: SharedCounts | null;
}

/**
 * Memory bound: an entry with live connections is kept (there are at most max_connections of
 * those); an idle one is dropped as soon as its bucket would be full again (it then says nothing
 * a fresh entry would not), or, under an address spray, when the table holds more than
 * `maxIdleEntries`, least recently seen first. Both happen a few entries per admission, in
 * Map insertion order (an entry is re-inserted whenever it is used, so the order is LRU).
 * Keys are IPv4 addresses or IPv6 /64 prefixes (limitKey).
 */
export class Admission {
  readonly #table = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #maxIdle: number;
  readonly shared: SharedCounts | null;

  constructor(opts: AdmissionOptions = {}) {
    this.#now = opts.now ?? (() => performance.now());
    this.#maxIdle = opts.maxIdleEntries ?? MAX_IDLE_ENTRIES;
    this.shared = opts.shared ?? null;
  }

  /** Addresses in the table now (for tests and /status). */
  get size(): number {
    return this.#table.size;
  }

  /** Live connections counted for `address`. */
  connections(address: string): number {
    return this.#table.get(limitKey(address))?.conns ?? 0;
  }

  /**
   * Checks `address` against `max_connections_per_ip` and, for a WebSocket handshake, takes one
   * of its `handshakes_per_ip` tokens (a refused request takes none). Null when admitted.
   * A rate of 0 turns the bucket off.
   */
  check(address: string, limits: Limits, handshake: boolean): ErrorCode | null {
    const now = this.#now();
    this.#trim(now, limits.handshakes_per_ip);   // first: it may drop this very entry, which is then as good as new
    const key = limitKey(address);
    let e = this.#table.get(key);
    if (e) this.#table.delete(key);
    else e = { conns: 0, tokens: burstOf(limits.handshakes_per_ip), at: now };
    this.#table.set(key, e);   // most recently seen last
    if (e.conns + (this.shared?.remote(key) ?? 0) >= limits.max_connections_per_ip) return 'WSLB_ERR_IP_CAP';
    if (!handshake || limits.handshakes_per_ip <= 0) return null;
    refill(e, now, limits.handshakes_per_ip);
    if (e.tokens < 1) return 'WSLB_ERR_RATE';
    e.tokens -= 1;
    return null;
  }

  /** Counts `socket` against `address` until it closes (check() must have admitted it just before). */
  track(address: string, socket: Socket): void {
    const key = limitKey(address);
    let e = this.#table.get(key);
    if (!e) this.#table.set(key, (e = { conns: 0, tokens: 0, at: this.#now() }));
    e.conns++;
    this.shared?.changed(key, e.conns);
    socket.once('close', () => this.#release(key));
  }

  /** Seconds a refused client should wait: until its next token for the rate, 1 otherwise. */
  retryAfter(code: ErrorCode, address: string, limits: Limits): number {
    const rate = limits.handshakes_per_ip;
    const e = this.#table.get(limitKey(address));
    if (code !== 'WSLB_ERR_RATE' || !e || rate <= 0) return 1;
    refill(e, this.#now(), rate);
    return Math.max(1, Math.ceil((1 - e.tokens) / rate));
  }

  #release(key: string): void {
    const e = this.#table.get(key);
    if (e && e.conns > 0) { e.conns--; this.shared?.changed(key, e.conns); }
  }

  /** Drops up to TRIM_STEPS of the least recently seen entries that are idle and expired (or over the cap). */
  #trim(now: number, rate: number): void {
    const table = this.#table;
    let steps = 0;
    for (const [key, e] of table) {
      if (steps++ >= TRIM_STEPS) break;
      if (e.conns > 0) {
        // Live: keep, and move it out of the way of the idle ones behind it.
        table.delete(key);
        table.set(key, e);
        continue;
      }
      const expired = rate <= 0 || e.tokens + ((now - e.at) / 1000) * rate >= burstOf(rate);
      if (expired || table.size > this.#maxIdle) table.delete(key);
      else break;   // the oldest idle entry is still fresh: so are the ones behind it
    }
  }
}

/** The bucket holds N tokens for N/s, and at least one, so a rate below 1/s still admits. */
function burstOf(rate: number): number {
  return Math.max(1, rate);
}

function refill(e: Entry, now: number, rate: number): void {
  e.tokens = Math.min(burstOf(rate), e.tokens + ((now - e.at) / 1000) * rate);
  e.at = now;
}
