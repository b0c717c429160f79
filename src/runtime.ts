/** The balancer's live state: pools, routes with their algorithms, the tunnel set, admission and drain. */

import type { Balancer } from './balancing/balancer.js';
import { createBalancer } from './balancing/index.js';
import type { Config, RouteConfig } from './config/types.js';
import type { ErrorCode } from './errors.js';
import type { Logger } from './log.js';
import { Pool } from './pool/pool.js';
import type { Server } from './pool/server.js';
import { TunnelSet } from './tunnel/tunnel-set.js';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface RouteRuntime {
  readonly config: RouteConfig;
  readonly pool: Pool;
  readonly balancer: Balancer;
}

/** Per-route counters read at scrape time (metrics land with the observability issue). */
export interface RouteStats {
  upgrades: number;
  rejections: Map<string, number>;
}

export class Runtime {
  config: Config;
  readonly log: Logger;
  readonly pools = new Map<string, Pool>();
  routes: RouteRuntime[] = [];
  readonly tunnels: TunnelSet;
  readonly routeStats = new Map<string, RouteStats>();
  pendingHandshakes = 0;
  draining = false;

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
    for (const p of Object.values(config.pools)) this.pools.set(p.name, new Pool(p));
    this.routes = config.routes.map((r) => {
      const pool = this.pools.get(r.pool)!;   // validated by the config loader
      return { config: r, pool, balancer: r.algorithm ? createBalancer(r.algorithm) : pool.balancer };
    });
    this.tunnels = new TunnelSet({ idleMs: config.timeouts.idle });
  }

  get connections(): number {
    return this.tunnels.size + this.pendingHandshakes;
  }

  /** Balancer-wide admission; per-IP limits land with the hardening issue. */
  admit(_route: RouteRuntime, _clientAddress: string): ErrorCode | null {
    if (this.draining) return 'WSLB_ERR_DRAINING';
    if (this.connections >= this.config.limits.max_connections) return 'WSLB_ERR_OVER_CAPACITY';
    return null;
  }

  isTls(socket: Socket): boolean {
    return socket instanceof TLSSocket;
  }

  onRejected(route: string, code: ErrorCode): void {
    const s = this.#stats(route);
    s.rejections.set(code, (s.rejections.get(code) ?? 0) + 1);
  }

  onUpgraded(route: RouteRuntime, _server: Server, _ms: number): void {
    this.#stats(route.config.name).upgrades++;
  }

  #stats(route: string): RouteStats {
    let s = this.routeStats.get(route);
    if (!s) this.routeStats.set(route, (s = { upgrades: 0, rejections: new Map() }));
    return s;
  }
}
