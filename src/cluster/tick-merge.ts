/** Sums the workers' dashboard ticks (src/metrics/sampler.ts) into one: per-server open tunnels and byte rates, handshake, rejection and close rates and totals. */

import type { Counts as Events, ServerPoint, Tick } from '../metrics/sampler.js';
import type { Counts } from './protocol.js';

/** A worker's answer to `{ t: 'sample' }`: its sampler's last tick and its own open tunnels per `pool/server`. */
export interface WorkerTick {
  readonly tick: Tick | null;
  /**
   * The sampler's active count is what picks read (farm-wide once the primary shares counts):
   * summing it over workers would count every tunnel once per worker, so each sends its own.
   */
  readonly active: Counts;
}

export function emptyEvents(): Events {
  return { handshakes: 0, rejections: {}, closes: {} };
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addEvents(a: Events, b: Events): Events {
  a.handshakes = round(a.handshakes + b.handshakes);
  for (const [k, n] of Object.entries(b.rejections)) a.rejections[k] = round((a.rejections[k] ?? 0) + n);
  for (const [k, n] of Object.entries(b.closes)) a.closes[k] = round((a.closes[k] ?? 0) + n);
  return a;
}

/**
 * One tick at `t` for the whole process tree. `base`: totals counted besides these replies (workers
 * gone, so the farm's totals never go down when one is replaced; workers that did not answer).
 */
export function mergeTicks(t: number, workers: readonly WorkerTick[], base: Events = emptyEvents()): Tick {
  const servers: Record<string, Record<string, ServerPoint>> = {};
  const rates = emptyEvents();
  const totals = addEvents(emptyEvents(), base);
  const point = (pool: string, server: string): ServerPoint => ((servers[pool] ??= {})[server] ??= [0, 0, 0]);
  for (const w of workers) {
    for (const [key, n] of Object.entries(w.active)) {
      const slash = key.indexOf('/');
      point(key.slice(0, slash), key.slice(slash + 1))[0] += n;
    }
    if (!w.tick) continue;
    for (const [pool, byName] of Object.entries(w.tick.sample.servers)) {
      for (const [name, [, bytesIn, bytesOut]] of Object.entries(byName)) {
        const p = point(pool, name);
        p[1] = round(p[1] + bytesIn);
        p[2] = round(p[2] + bytesOut);
      }
    }
    addEvents(rates, w.tick.rates);
    addEvents(totals, w.tick.totals);
  }
  let rejections = 0;
  for (const r of Object.values(rates.rejections)) rejections += r;
  return { sample: { t, servers, handshakes: rates.handshakes, rejections: round(rejections) }, rates, totals };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
