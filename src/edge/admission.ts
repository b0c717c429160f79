/** Per-IP admission: a connection cap and a handshake token bucket per client address, in one table bounded in size and self-expiring. */

import type { Socket } from 'node:net';
import type { Limits } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import { limitKey } from './client-address.js';

/** Addresses remembered without a live connection; past it the least recently seen idle ones are forgotten. */
export const MAX_IDLE_ENTRIES = 65_536;
/** Idle entries looked at per admission for expiry or eviction: the table is trimmed a little at a time, never in one long pass. */
const TRIM_STEPS = 4;

/** One address's state; an idle one (no live connection) is also a link of the idle list. */
class Entry {
  conns = 0;                  // live connections (handshakes in flight and tunnels)
  older: Entry | null = null; // idle list neighbours; null at its ends and while live
  newer: Entry | null = null;
  constructor(
    readonly key: string,
    readonly owner: Admission,
    public tokens: number,    // handshake tokens left at `at`
    public at: number,        // ms, last refill
  ) {}
}

/** A socket counted against an entry: the shared 'close' listener finds the entry here. */
interface AdmittedSocket extends Socket {
  wslbAdmitted?: Entry | undefined;
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
 * `maxIdleEntries`, least recently seen first. Both happen a few entries per admission, from the
 * old end of the idle list: the entries without a live connection, least recently seen first
 * (an idle entry moves to its new end when checked, a live one joins it when its last connection
 * closes). The list is links in the entries, so an admission never re-inserts a Map key: the
 * Map is touched only to look up, add and drop addresses.
 * Keys are IPv4 addresses or IPv6 /64 prefixes (limitKey).
 */
export class Admission {
  readonly #table = new Map<string, Entry>();
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
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
    if (e === undefined) {
      e = new Entry(key, this, burstOf(limits.handshakes_per_ip), now);
      this.#table.set(key, e);
      this.#append(e);
    } else if (e.conns === 0 && e !== this.#newest) {
      this.#unlink(e);   // most recently seen last
      this.#append(e);
    }
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
    if (e === undefined) this.#table.set(key, (e = new Entry(key, this, 0, this.#now())));
    else if (e.conns === 0) this.#unlink(e);   // live: off the idle list
    e.conns++;
    this.shared?.changed(key, e.conns);
    const s = socket as AdmittedSocket;
    if (s.wslbAdmitted === undefined) {
      s.wslbAdmitted = e;
      s.on('close', Admission.#releaseOnClose);
    } else {
      // The same socket counted again (the upgrade path never does): one release per count all the same.
      const again = e;
      s.once('close', () => this.#release(again));
    }
  }

  /** Seconds a refused client should wait: until its next token for the rate, 1 otherwise. */
  retryAfter(code: ErrorCode, address: string, limits: Limits): number {
    const rate = limits.handshakes_per_ip;
    const e = this.#table.get(limitKey(address));
    if (code !== 'WSLB_ERR_RATE' || !e || rate <= 0) return 1;
    refill(e, this.#now(), rate);
    return Math.max(1, Math.ceil((1 - e.tokens) / rate));
  }

  /** The one 'close' listener of every tracked socket (no closure per connection); runs once per socket. */
  static readonly #releaseOnClose = function (this: AdmittedSocket): void {
    const e = this.wslbAdmitted;
    if (e === undefined) return;
    this.wslbAdmitted = undefined;
    e.owner.#release(e);
  };

  /** A live entry is never dropped from the table, so `e` is still the one its key finds. */
  #release(e: Entry): void {
    if (e.conns <= 0) return;
    e.conns--;
    this.shared?.changed(e.key, e.conns);
    if (e.conns === 0) this.#append(e);   // idle again, seen now
  }

  /** Drops up to TRIM_STEPS of the least recently seen idle entries that are expired (or over the cap). */
  #trim(now: number, rate: number): void {
    for (let steps = 0; steps < TRIM_STEPS; steps++) {
      const e = this.#oldest;
      if (e === null) return;
      const expired = rate <= 0 || e.tokens + ((now - e.at) / 1000) * rate >= burstOf(rate);
      if (!expired && this.#table.size <= this.#maxIdle) return;   // the oldest idle entry is still fresh: so are the ones behind it
      this.#unlink(e);
      this.#table.delete(e.key);
    }
  }

  #append(e: Entry): void {
    const last = this.#newest;
    e.older = last;
    e.newer = null;
    if (last === null) this.#oldest = e;
    else last.newer = e;
    this.#newest = e;
  }

  #unlink(e: Entry): void {
    const { older, newer } = e;
    if (older === null) this.#oldest = newer;
    else older.newer = newer;
    if (newer === null) this.#newest = older;
    else newer.older = older;
    e.older = e.newer = null;
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
