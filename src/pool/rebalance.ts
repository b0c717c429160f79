/**
 * Rebalancing long-lived connections after scale-out or recovery: when a ready server holds
 * more than `tolerance` x its weighted share of the pool's active tunnels, its oldest excess
 * tunnels are closed with 1012 (at frame boundaries) at no more than `max_closes_per_second`,
 * on a jittered tick; closed clients reconnect through the normal algorithm to emptier servers.
 * Least-connections alone never does this: it only places new connections.
 *
 * In a farm (cluster workers, instances sharing through Redis) the overload test reads farm-wide
 * counts (`remoteActive` + this process's live tunnels) and each process closes only its own
 * tunnels, with the close budget scaled by its share of the pool's farm-wide tunnels, so the
 * processes together close at about `max_closes_per_second`. Alone (remote = 0) the share is 1.
 */

import type { PoolConfig } from '../config/types.js';
import { CLOSE } from '../errors.js';
import type { Server, ServerTunnel } from './server.js';

const TICK_MS = 250;

/** What a rebalancer reads of its pool (src/pool/pool.ts's Pool is one, and owns the rebalancer): its settings and members. */
export interface RebalancedPool {
  readonly config: Pick<PoolConfig, 'rebalance'>;
  readonly servers: readonly Server[];
}

export interface RebalanceDeps {
  readonly now: () => number;
  readonly random: () => number;
}

export class Rebalancer {
  readonly #pool: RebalancedPool;
  readonly #deps: RebalanceDeps;
  #timer: NodeJS.Timeout | null = null;
  #tokens = 0;
  #last = 0;
  /** Tunnels this rebalancer asked to close, still finishing: not counted as excess twice. */
  readonly #closing = new WeakSet<ServerTunnel>();
  closes = 0;

  constructor(pool: RebalancedPool, deps: RebalanceDeps = { now: () => performance.now(), random: Math.random }) {
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
    const part = this.#part();
    const rate = cfg.max_closes_per_second * part;
    // At most one second of budget banked, so a quiet period cannot release a burst (but a small part can still reach one close).
    this.#tokens = Math.min(Math.max(rate, Math.min(1, cfg.max_closes_per_second)), this.#tokens + ((now - this.#last) / 1000) * rate);
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

  /** This process's share of the pool's farm-wide tunnels (its part of the close budget); exactly 1 when no other process holds any. */
  #part(): number {
    let own = 0;
    let remote = 0;
    for (const s of this.#pool.servers) if (s.ready) { own += this.#live(s); remote += s.remoteActive; }
    return remote > 0 ? own / (own + remote) : 1;
  }

  /** The ready server furthest over its weighted share of the farm's tunnels, among those this process holds tunnels on. */
  #mostOverloaded(tolerance: number): Server | undefined {
    const ready = this.#pool.servers.filter((s) => s.ready);
    if (ready.length < 2) return undefined;
    let total = 0;
    let weight = 0;
    const own = ready.map((s) => this.#live(s));
    const farm = ready.map((s, i) => { const n = own[i]! + s.remoteActive; total += n; weight += s.weight; return n; });
    if (weight <= 0 || total === 0) return undefined;
    let worst: Server | undefined;
    let worstRatio = tolerance;
    ready.forEach((s, i) => {
      const share = (total * s.weight) / weight;
      const ratio = share > 0 ? farm[i]! / share : Infinity;
      // Past tolerance, at least one whole tunnel over its share, and one of ours to close.
      if (ratio > worstRatio && farm[i]! - share >= 1 && own[i]! > 0) { worst = s; worstRatio = ratio; }
    });
    return worst;
  }

  #oldestOpen(s: Server): ServerTunnel | undefined {
    for (const t of s.tunnels) if (!this.#closing.has(t) && !t.finished) return t;
    return undefined;
  }
}
