/** Once a second: per-server active and bandwidth samples (a ring of the last minutes), rates of handshakes, rejections and closes; flushes the rejection log. */

import type { TelemetrySource } from './source.js';
import type { Metrics } from './metrics.js';

/** Rate-limited logs whose windows the sampler closes (RejectionLog, AnswerLog). */
export interface WindowedLog { flush(now: number): void }

/** [active tunnels, bytes/s client->server, bytes/s server->client] */
export type ServerPoint = [number, number, number];

export interface Sample {
  /** epoch ms */
  readonly t: number;
  /** pool -> server -> point */
  readonly servers: Record<string, Record<string, ServerPoint>>;
  /** upgrades per second over the interval */
  readonly handshakes: number;
  /** pre-upgrade refusals per second over the interval, all reasons */
  readonly rejections: number;
}

export interface Counts {
  handshakes: number;
  rejections: Record<string, number>;   // by error code
  closes: Record<string, number>;       // by close code label
}

export interface Tick {
  readonly sample: Sample;
  /** per second, over the last interval */
  readonly rates: Counts;
  /** since start */
  readonly totals: Counts;
}

export interface SamplerOptions {
  intervalMs?: number;
  /** samples kept: 300 at 1 s = the last 5 minutes */
  points?: number;
  now?: () => number;
}

/** Samples kept by default: 300 at 1 s = the last 5 minutes (a cluster primary keeps as many). */
export const HISTORY_POINTS = 300;

interface Bytes { in: number; out: number }

export class Sampler {
  readonly intervalMs: number;
  readonly #points: number;
  readonly #now: () => number;
  readonly #rt: Pick<TelemetrySource, 'routeStats'>;
  readonly #metrics: Metrics;
  readonly #rejections: WindowedLog;
  readonly #history: Sample[] = [];
  readonly #bytes = new WeakMap<object, Bytes>();
  readonly #listeners = new Set<(tick: Tick) => void>();
  #prevTotals: Counts | null = null;
  #prevT = 0;
  #timer: NodeJS.Timeout | null = null;
  #last: Tick | null = null;

  constructor(rt: Pick<TelemetrySource, 'routeStats'>, metrics: Metrics, rejections: WindowedLog, opts: SamplerOptions = {}) {
    this.#rt = rt;
    this.#metrics = metrics;
    this.#rejections = rejections;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.#points = opts.points ?? HISTORY_POINTS;
    this.#now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#listeners.clear();
  }

  /** Oldest first. */
  get history(): readonly Sample[] {
    return this.#history;
  }

  get last(): Tick | null {
    return this.#last;
  }

  /** Called after every tick; returns the unsubscribe function. */
  subscribe(fn: (tick: Tick) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  tick(): Tick {
    const now = this.#now();
    const secs = this.#prevT > 0 ? Math.max(0.001, (now - this.#prevT) / 1000) : 0;
    const servers: Record<string, Record<string, ServerPoint>> = {};
    for (const s of this.#metrics.servers()) {
      const prev = this.#bytes.get(s);
      const inRate = prev && secs > 0 ? Math.max(0, s.bytesIn - prev.in) / secs : 0;
      const outRate = prev && secs > 0 ? Math.max(0, s.bytesOut - prev.out) / secs : 0;
      if (prev) { prev.in = s.bytesIn; prev.out = s.bytesOut; } else this.#bytes.set(s, { in: s.bytesIn, out: s.bytesOut });
      (servers[s.pool] ??= {})[s.name] = [s.active, round(inRate), round(outRate)];
    }
    const totals = this.#totals();
    const rates = secs > 0 && this.#prevTotals ? perSecond(totals, this.#prevTotals, secs) : { handshakes: 0, rejections: {}, closes: {} };
    this.#prevTotals = totals;
    this.#prevT = now;
    let rejections = 0;
    for (const r of Object.values(rates.rejections)) rejections += r;
    const sample: Sample = { t: now, servers, handshakes: rates.handshakes, rejections: round(rejections) };
    this.#history.push(sample);
    if (this.#history.length > this.#points) this.#history.shift();
    const tick: Tick = { sample, rates, totals };
    this.#last = tick;

    this.#rejections.flush(now);
    for (const fn of this.#listeners) fn(tick);
    return tick;
  }

  #totals(): Counts {
    const c: Counts = { handshakes: 0, rejections: {}, closes: {} };
    for (const s of this.#rt.routeStats.values()) {
      c.handshakes += s.upgrades;
      for (const [reason, n] of s.rejections) c.rejections[reason] = (c.rejections[reason] ?? 0) + n;
    }
    for (const codes of this.#metrics.closes.values()) {
      for (const [code, n] of codes) c.closes[code] = (c.closes[code] ?? 0) + n;
    }
    return c;
  }
}

function perSecond(now: Counts, prev: Counts, secs: number): Counts {
  const rate = (a: number, b = 0): number => round(Math.max(0, a - b) / secs);
  const map = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(a)) { const r = rate(v, b[k]); if (r > 0) out[k] = r; }
    return out;
  };
  return { handshakes: rate(now.handshakes, prev.handshakes), rejections: map(now.rejections, prev.rejections), closes: map(now.closes, prev.closes) };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
