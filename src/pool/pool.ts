/** A pool of servers at run time: its Server objects, its default algorithm, and the ready snapshot algorithms see. */

import type { PoolConfig } from '../config/types.js';
import type { Balancer, BalancerDeps } from '../balancing/balancer.js';
import { createBalancer, defaultDeps } from '../balancing/index.js';
import { Server } from './server.js';

export class Pool {
  readonly name: string;
  config: PoolConfig;
  /** Members that take traffic when ready, in config order. */
  readonly servers: Server[];
  /** Removed by reload or discovery, still holding tunnels while they drain; gone when empty. */
  readonly retired = new Set<Server>();
  balancer: Balancer;
  readonly #deps: BalancerDeps;

  constructor(config: PoolConfig, deps: BalancerDeps = defaultDeps) {
    this.name = config.name;
    this.config = config;
    this.servers = config.servers.map((s) => new Server(config.name, s));
    this.balancer = createBalancer(config.algorithm, deps);
    this.#deps = deps;
  }

  /**
   * Applies a reloaded pool config in place: servers kept by name and URL keep their object
   * (counters, health, tunnels); new ones are added; the removed ones are returned for the
   * caller to drain. The algorithm is rebuilt only when its config changed.
   */
  update(config: PoolConfig): Server[] {
    const byKey = new Map(this.servers.map((s) => [`${s.name} ${s.url}`, s]));
    const next: Server[] = [];
    for (const sc of config.servers) {
      const key = `${sc.name} ${sc.url}`;
      const kept = byKey.get(key);
      if (kept) { kept.configure(sc); byKey.delete(key); next.push(kept); }
      else next.push(new Server(config.name, sc));
    }
    if (JSON.stringify(config.algorithm) !== JSON.stringify(this.config.algorithm)) {
      this.balancer = createBalancer(config.algorithm, this.#deps);
    }
    this.config = config;
    this.servers.splice(0, this.servers.length, ...next);
    const removed = [...byKey.values()];
    for (const s of removed) this.retired.add(s);
    return removed;
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
