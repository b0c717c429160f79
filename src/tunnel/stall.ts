/** Stalled-reader detection for the TunnelSet sweeper: a tunnel direction held at its buffer bound, with no drain, for `limits.stall`. */

import type { Tunnel } from './tunnel.js';

/**
 * Coarse by design (no timer per tunnel or per chunk): each sweep looks at every tunnel's
 * backpressure state. A tunnel seen backpressured is stamped with the sweep's time and its
 * pause count; it is stalled once a later sweep still finds it backpressured with the same
 * pause count (no resume in between, so its buffer never drained) `ms` after the stamp. With
 * a sweep period P, a stall is reported between `ms` and `ms + 2P` after it began.
 */
export class StallWatch {
  ms: number;
  readonly #seen = new WeakMap<Tunnel, { since: number; pauses: number }>();

  constructor(ms: number) {
    this.ms = ms;
  }

  /** True when `t` has been stalled for at least `ms` (always false when ms is 0: off). */
  check(t: Tunnel, now: number): boolean {
    if (this.ms <= 0) return false;
    if (!t.backpressured) {
      this.#seen.delete(t);
      return false;
    }
    const s = this.#seen.get(t);
    if (s === undefined || s.pauses !== t.pauses) {
      this.#seen.set(t, { since: now, pauses: t.pauses });
      return false;
    }
    return now - s.since >= this.ms;
  }
}
