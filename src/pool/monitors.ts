/**
 * The per-pool background measurements algorithms read: the bandwidth sampler (every pool,
 * window from the first algorithm on it that asks for one, else 10 s) and the load poller (pools
 * with a `load:` block or an algorithm on them that reads load reports). What each algorithm
 * reads is declared by its registry entry (src/balancing/index.ts needsOf). Kept across reloads
 * when their settings did not change, so a reload does not reset load reports.
 */

import type { AlgorithmNeeds } from '../balancing/balancer.js';
import { needsOf } from '../balancing/index.js';
import type { RouteConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { BandwidthSampler } from './bandwidth.js';
import { DEFAULT_LOAD, LoadPoller, type LoadSettings } from './load-poller.js';
import type { Pool } from './pool.js';

/** The sampler's window when no algorithm on the pool asks for one (least-bandwidth's default `window`). */
export const DEFAULT_BANDWIDTH_WINDOW_MS = 10_000;

interface Running { readonly sampler: BandwidthSampler | null; readonly window: number; readonly poller: LoadPoller | null; readonly load: string }

export class Monitors {
  readonly #running = new Map<Pool, Running>();
  readonly #sample: boolean;
  /**
   * Which pools this process polls for load (`polls`, default all). A cluster worker polls only its
   * discovered pools (the primary polls the others once and sends the reports: src/cluster/primary-checks.ts);
   * read at every sync, so reloads keep it.
   */
  readonly pollsHere: (pool: Pool) => boolean;

  /** `sample: false`: no bandwidth samplers (a cluster primary, which holds no tunnels). */
  constructor(opts: { sample?: boolean; polls?: (pool: Pool) => boolean } = {}) {
    this.#sample = opts.sample ?? true;
    this.pollsHere = opts.polls ?? (() => true);
  }

  /** Starts, keeps or replaces each pool's monitors to match the pools and routes now in force; stops those of pools gone. */
  sync(pools: Iterable<Pool>, routes: readonly { readonly config: RouteConfig; readonly pool: Pool }[], log?: Logger): void {
    const live = new Set(pools);
    for (const [pool, r] of this.#running) if (!live.has(pool)) { stop(r); this.#running.delete(pool); }
    for (const pool of live) {
      const needs = [pool.config.algorithm, ...routes.filter((r) => r.pool === pool).map((r) => r.config.algorithm ?? pool.config.algorithm)].map(needsOf);
      const window = needs.find((n) => n.bandwidthWindowMs !== undefined)?.bandwidthWindowMs ?? DEFAULT_BANDWIDTH_WINDOW_MS;
      const settings = this.pollsHere(pool) ? loadSettings(pool, needs) : null;
      const load = JSON.stringify(settings ?? null) + JSON.stringify(pool.config.tls ?? null);
      const prev = this.#running.get(pool);
      if (prev && prev.window === window && prev.load === load) continue;
      const keepSampler = prev && prev.window === window;
      const keepPoller = prev && prev.load === load;
      if (prev && !keepSampler) prev.sampler?.close();
      if (prev && !keepPoller) prev.poller?.close();
      const sampler = keepSampler ? prev.sampler : this.#sample ? new BandwidthSampler(() => pool.servers, window) : null;
      const poller = keepPoller ? prev.poller : settings ? new LoadPoller(pool, settings, { log }) : null;
      if (!keepSampler) sampler?.start();
      if (!keepPoller) poller?.start();
      this.#running.set(pool, { sampler, window, poller, load });
    }
  }

  /** The load poller of a pool, when it has one (tests drive rounds through it). */
  poller(pool: Pool): LoadPoller | null {
    return this.#running.get(pool)?.poller ?? null;
  }

  close(): void {
    for (const r of this.#running.values()) stop(r);
    this.#running.clear();
  }
}

function stop(r: Running): void {
  r.sampler?.close();
  r.poller?.close();
}

function loadSettings(pool: Pool, needs: readonly AlgorithmNeeds[]): LoadSettings | null {
  if (pool.config.load) return { ...DEFAULT_LOAD, ...(pool.config.load as Partial<LoadSettings>) };
  return needs.some((n) => n.loadReports) ? DEFAULT_LOAD : null;
}
