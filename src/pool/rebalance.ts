/**
 * Rebalancing long-lived connections after scale-out or recovery: when a ready server holds
 * more than `tolerance` x its weighted share of the pool's active tunnels, its oldest excess
 * tunnels are closed with 1012 (at frame boundaries) at no more than `max_closes_per_second`,
 * on a jittered tick; closed clients reconnect through the normal algorithm to emptier servers.
 * Least-connections alone never does this: it only places new connections.
 */

import { CLOSE } from '../errors.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { Pool } from './pool.js';
import type { Server } from './server.js';

const TICK_MS = 250;

export interface RebalanceDeps {
  readonly now: () => number;
  readonly random: () => number;
}

export class Rebalancer {
  readonly #pool: Pool;
  readonly #deps: RebalanceDeps;
  #timer: NodeJS.Timeout | null = null;
  #tokens = 0;
  #last = 0;
  /** Tunnels this rebalancer asked to close, still finishing: not counted as excess twice. */
  readonly #closing = new WeakSet<Tunnel>();
  closes = 0;

  constructor(pool: Pool, deps: RebalanceDeps = { now: () => performance.now(), random: Math.random }) {
    this.#pool = pool;
    this.#deps = deps;
  }

  start(): void {
    this.#last = this.#deps.now();
    this.#schedule();
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    // +-20% jitter so several balancers (or pools) do not close in lockstep.
    const delay = TICK_MS * (0.8 + 0.4 * this.#deps.random());
    this.#timer = setTimeout(() => { this.tick(); this.#schedule(); }, delay);
    this.#timer.unref();
  }

  /** One pass: refill the close budget, then close oldest tunnels of the most overloaded servers. */
  tick(): number {
    const cfg = this.#pool.config.rebalance;
    if (!cfg) return 0;
    const now = this.#deps.now();
    const rate = cfg.max_closes_per_second;
    // At most one second of budget banked, so a quiet period cannot release a burst.
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#last) / 1000) * rate);
    this.#last = now;
    let closed = 0;
    while (this.#tokens >= 1) {
      const victim = this.#mostOverloaded(cfg.tolerance);
      if (!victim) break;
      const t = this.#oldestOpen(victim);
      if (!t) break;
      this.#closing.add(t);
      t.close(CLOSE.SERVICE_RESTART);
      this.#tokens -= 1;
      this.closes++;
      closed++;
    }
    return closed;
  }

  /** Live tunnels of s, minus those already closing because of us. */
  #live(s: Server): number {
    let n = 0;
    for (const t of s.tunnels) if (!this.#closing.has(t) && !t.finished) n++;
    return n;
  }

  #mostOverloaded(tolerance: number): Server | undefined {
    const ready = this.#pool.servers.filter((s) => s.ready);
    if (ready.length < 2) return undefined;
    let total = 0;
    let weight = 0;
    const live = ready.map((s) => { const n = this.#live(s); total += n; weight += s.weight; return n; });
    if (weight <= 0 || total === 0) return undefined;
    let worst: Server | undefined;
    let worstRatio = tolerance;
    ready.forEach((s, i) => {
      const share = (total * s.weight) / weight;
      const ratio = share > 0 ? live[i]! / share : Infinity;
      // Past tolerance and at least one whole tunnel over its share.
      if (ratio > worstRatio && live[i]! - share >= 1) { worst = s; worstRatio = ratio; }
    });
    return worst;
  }

  #oldestOpen(s: Server): Tunnel | undefined {
    for (const t of s.tunnels) if (!this.#closing.has(t) && !t.finished) return t;
    return undefined;
  }
}
