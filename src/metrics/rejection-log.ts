/** Rate-limited logging of pre-upgrade rejections: one warn line per reason (naming the client), then at most one per window carrying the count and the top client addresses, so a flood cannot flood the log. */

import type { Logger } from '../log.js';

/** Addresses counted per reason and window; past it the least counted one is replaced (Space-Saving), so a spray of addresses costs fixed memory. */
export const TRACKED_CLIENTS = 16;
/** Addresses named in a summary line. */
export const TOP_CLIENTS = 5;

/**
 * The most frequent addresses of one window in TRACKED_CLIENTS counters: the Space-Saving
 * algorithm (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 * in Data Streams", ICDT 2005). A new address, the table full, takes over the smallest counter
 * and its count plus one: counts are then upper bounds, and any address with more than
 * 1/TRACKED_CLIENTS of the window's rejections is sure to be listed.
 */
class TopClients {
  readonly #counts = new Map<string, number>();
  /** A counter was taken over: the counts listed may be overestimates. */
  approximate = false;

  add(address: string): void {
    const counts = this.#counts;
    const c = counts.get(address);
    if (c !== undefined) { counts.set(address, c + 1); return; }
    if (counts.size < TRACKED_CLIENTS) { counts.set(address, 1); return; }
    let minAddress = '';
    let min = Infinity;
    for (const [a, n] of counts) if (n < min) { min = n; minAddress = a; }
    counts.delete(minAddress);
    counts.set(address, min + 1);
    this.approximate = true;
  }

  top(): { address: string; count: number }[] {
    return [...this.#counts].sort((x, y) => y[1] - x[1]).slice(0, TOP_CLIENTS).map(([address, count]) => ({ address, count }));
  }

  get size(): number {
    return this.#counts.size;
  }

  clear(): void {
    this.#counts.clear();
    this.approximate = false;
  }
}

interface Window {
  until: number;
  suppressed: number;
  route: string;      // route of the last suppressed rejection (a sample, not a label set)
  clients: TopClients;
}

export interface RejectionLogOptions {
  /** The line's `msg` (default `handshake rejected`). */
  readonly msg?: string;
  /** The name of the field the first argument of note() goes in (default `route`; the admin uses `path`). */
  readonly scope?: string;
}

export class RejectionLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();
  readonly #msg: string;
  readonly #scope: string;

  constructor(log: Logger, windowMs = 10_000, now: () => number = Date.now, opts: RejectionLogOptions = {}) {
    this.#log = log;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#msg = opts.msg ?? 'handshake rejected';
    this.#scope = opts.scope ?? 'route';
  }

  /** Addresses held for `reason`'s open window (bounded by TRACKED_CLIENTS). */
  trackedClients(reason: string): number {
    return this.#windows.get(reason)?.clients.size ?? 0;
  }

  /** Reasons with a window open (a summary line may still be due). */
  get open(): number {
    return this.#windows.size;
  }

  /**
   * The first rejection for a reason is logged at once, with `client` (the address as the
   * per-IP limits see it) when the caller knows it; the rest of its window only counted.
   */
  note(route: string, reason: string, status: number, client?: string): void {
    const w = this.#windows.get(reason);
    if (w) {
      w.suppressed++;
      w.route = route;
      if (client !== undefined) w.clients.add(client);
      return;
    }
    this.#windows.set(reason, { until: this.#now() + this.#windowMs, suppressed: 0, route, clients: new TopClients() });
    const fields: Record<string, unknown> = { [this.#scope]: route, reason, status, count: 1 };
    if (client !== undefined) fields.client = client;
    this.#log.warn(fields, this.#msg);
  }

  /**
   * Called about once a second (the sampler): a window that ended with suppressed rejections
   * logs one line with their count and top client addresses, and opens the next window; a
   * quiet one closes, so the next rejection for that reason is logged at once again.
   */
  flush(now = this.#now()): void {
    for (const [reason, w] of this.#windows) {
      if (now < w.until) continue;
      if (w.suppressed === 0) { this.#windows.delete(reason); continue; }
      const fields: Record<string, unknown> = { [this.#scope]: w.route, reason, count: w.suppressed, window_s: this.#windowMs / 1000, clients: w.clients.top() };
      if (w.clients.approximate) fields.clients_approximate = true;
      this.#log.warn(fields, this.#msg);
      w.suppressed = 0;
      w.clients.clear();
      w.until = now + this.#windowMs;
    }
  }
}
