/** A pool of servers at run time: its Server objects, its default algorithm, and the ready snapshot algorithms see. */

import type { PoolConfig } from '../config/types.js';
import type { Balancer, BalancerDeps } from '../balancing/balancer.js';
import { createBalancer, defaultDeps, sameAlgorithm } from '../balancing/index.js';
import { Server, type StateListener } from './server.js';
import type { ServerConfig } from '../config/types.js';
import { HealthChecker } from './health.js';
import { OutlierDetector } from './outlier.js';
import { TokenBucket } from '../edge/token-bucket.js';
import type { Discovery } from './discovery.js';
import type { Rebalancer } from './rebalance.js';
import type { Logger } from '../log.js';

export class Pool {
  readonly name: string;
  config: PoolConfig;
  /** Members that take traffic when ready, in config order. */
  readonly servers: Server[];
  /** Removed by reload or discovery, still holding tunnels while they drain; gone when empty. */
  readonly retired = new Set<Server>();
  balancer: Balancer;
  readonly #deps: BalancerDeps;
  /** Background parts, set by the Runtime when configured (read by /status and metrics). */
  rebalancer: Rebalancer | null = null;
  /** Reconnect-storm guard (`max_handshakes_per_second`), null when unset. */
  handshakeBucket: TokenBucket | null = null;
  discovery: Discovery | null = null;
  /** Active checks (`health`) and passive ejection (`outlier`, a no-op when unset); both read the live config. */
  readonly health: HealthChecker;
  readonly outlier: OutlierDetector;
  /** Told of every state change of every member (each server's state machine calls them, in order). */
  readonly #stateListeners: StateListener[] = [];
  /** Whether the listeners are open: servers becoming ready from then on ramp (slow start). */
  readonly #serving: () => boolean;
  readonly #log: Logger | undefined;

  /**
   * `serving`: the Runtime's "listeners are open" (a pool built by a reload sees true at once); default never.
   * `log`: where a failing state listener is logged (without one, a process warning).
   */
  constructor(config: PoolConfig, deps: BalancerDeps = defaultDeps, serving: () => boolean = () => false, log?: Logger) {
    this.name = config.name;
    this.config = config;
    this.#deps = deps;
    this.#serving = serving;
    this.#log = log;
    this.servers = config.servers.map((s) => this.#newServer(s));
    this.balancer = createBalancer(config.algorithm, deps);
    this.health = new HealthChecker(this, deps);
    this.outlier = new OutlierDetector(this, deps.now);
    this.#configureGuard();
  }

  #configureGuard(): void {
    const rate = this.config.max_handshakes_per_second;
    if (!rate) this.handshakeBucket = null;
    else if (this.handshakeBucket?.rate !== rate) this.handshakeBucket = new TokenBucket(rate);
  }

  /**
   * Applies a reloaded pool config in place: servers kept by name and URL keep their object
   * (counters, health, tunnels); new ones are added; the removed ones are returned for the
   * caller to drain. The algorithm is rebuilt only when its config changed (the owner of the
   * algorithms in force, src/balancing/in-force.ts, closes the one replaced).
   */
  update(config: PoolConfig): Server[] {
    const byKey = new Map(this.servers.map((s) => [`${s.name} ${s.url}`, s]));
    const next: Server[] = [];
    for (const sc of config.servers) {
      const key = `${sc.name} ${sc.url}`;
      const kept = byKey.get(key);
      if (kept) { kept.configure(sc); byKey.delete(key); next.push(kept); }
      else next.push(this.#newServer(sc));
    }
    if (!sameAlgorithm(config.algorithm, this.config.algorithm)) {
      this.balancer = createBalancer(config.algorithm, this.#deps);
    }
    this.config = config;
    this.#configureGuard();
    this.servers.splice(0, this.servers.length, ...next);
    const removed = [...byKey.values()];
    for (const s of removed) this.retired.add(s);
    void this.health.sync();
    return removed;
  }

  /**
   * A member built for this pool: not healthy until its first check passes (unless `check: none`),
   * weight ramped by `slow_start` whenever it becomes ready after the listeners opened.
   */
  #newServer(sc: ServerConfig): Server {
    return new Server(this.name, sc, {
      healthy: this.config.health.check === 'none',
      ramp: { now: this.#deps.now, window: () => this.config.slow_start, serving: this.#serving },
      listeners: this.#stateListeners,
      ...(this.#log ? { log: this.#log } : {}),
    });
  }

  /** Hooks a listener to every state change of this pool's servers (log line, metrics, hash-ring rebuilds). */
  onStateChange(listener: StateListener): void {
    this.#stateListeners.push(listener);
  }

  /** The whole pool left the config: every member joins `retired` (to drain); returns them. */
  retireAll(): Server[] {
    for (const s of this.servers) this.retired.add(s);
    return [...this.servers];
  }

  /** Starts health checks; resolves when every server has its first result (bounded by `health.timeout`). */
  start(): Promise<void> {
    return this.health.start();
  }

  /** Stops checks (waiting for those in flight) and ejection timers. */
  async close(): Promise<void> {
    this.outlier.close();
    await this.health.close();
  }

  destroy(): void {
    this.outlier.destroy();
    this.health.destroy();
  }

  /** Ready servers in config order, minus those already tried for this request. Allocates once per handshake, never per chunk. */
  ready(exclude?: ReadonlySet<Server>): Server[] {
    const out: Server[] = [];
    for (const s of this.servers) if (s.ready && !exclude?.has(s)) out.push(s);
    return out;
  }

  server(name: string): Server | undefined {
    return this.servers.find((s) => s.name === name);
  }
}
