/** Rate-limited logging of pre-upgrade rejections: one warn line per reason, then at most one per window carrying the count, so a flood cannot flood the log. */

import type { Logger } from '../log.js';

interface Window {
  until: number;
  suppressed: number;
  route: string;      // route of the last suppressed rejection (a sample, not a label set)
}

export class RejectionLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(log: Logger, windowMs = 10_000, now: () => number = Date.now) {
    this.#log = log;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** The first rejection for a reason is logged at once; the rest of its window only counted. */
  note(route: string, reason: string, status: number): void {
    const w = this.#windows.get(reason);
    if (w) { w.suppressed++; w.route = route; return; }
    this.#windows.set(reason, { until: this.#now() + this.#windowMs, suppressed: 0, route });
    this.#log.warn({ route, reason, status, count: 1 }, 'handshake rejected');
  }

  /**
   * Called about once a second (the sampler): a window that ended with suppressed rejections
   * logs one line with their count and opens the next window; a quiet one closes, so the next
   * rejection for that reason is logged at once again.
   */
  flush(now = this.#now()): void {
    for (const [reason, w] of this.#windows) {
      if (now < w.until) continue;
      if (w.suppressed === 0) { this.#windows.delete(reason); continue; }
      this.#log.warn({ route: w.route, reason, count: w.suppressed, window_s: this.#windowMs / 1000 }, 'handshake rejected');
      w.suppressed = 0;
      w.until = now + this.#windowMs;
    }
  }
}
