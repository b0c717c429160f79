/**
 * Off-hot-path bandwidth: one timer per pool reads each server's plain byte counters
 * (bytesIn + bytesOut, bumped by the tunnel per chunk) and folds the bytes/s since the last
 * tick into `server.localBandwidth` (this process's part of the farm figure `bandwidth`), a time-based EWMA whose time constant is the window:
 * bw += (1 - e^(-dt/window)) x (rate - bw). Irregular ticks are weighted by their real length.
 */

import type { Server } from './server.js';

/** Tick period: a tenth of the window, between 100 ms and 1 s. */
export function samplePeriod(windowMs: number): number {
  return Math.min(1000, Math.max(100, windowMs / 10));
}

export class BandwidthSampler {
  readonly #servers: () => readonly Server[];
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #last = new WeakMap<Server, number>();   // bytes seen at the previous tick (weak: removed members drop out)
  #lastAt: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(servers: () => readonly Server[], windowMs: number, now: () => number = () => performance.now()) {
    this.#servers = servers;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#lastAt = now();
    for (const s of servers()) this.#last.set(s, s.bytesIn + s.bytesOut);
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), samplePeriod(this.#windowMs));
    this.#timer.unref();
  }

  /** One sample; public so tests can drive it with an injected clock. */
  tick(): void {
    const t = this.#now();
    const dt = t - this.#lastAt;
    if (!(dt > 0)) return;
    this.#lastAt = t;
    const alpha = 1 - Math.exp(-dt / this.#windowMs);
    for (const s of this.#servers()) {
      const total = s.bytesIn + s.bytesOut;
      const before = this.#last.get(s);
      this.#last.set(s, total);
      if (before === undefined) continue;   // a server added since the last tick: no interval yet
      const rate = ((total - before) * 1000) / dt;
      s.localBandwidth += alpha * (rate - s.localBandwidth);
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
