/** A pool of servers at run time: its Server objects, its default algorithm, and the ready snapshot algorithms see. */

import type { PoolConfig } from '../config/types.js';
import type { Balancer, BalancerDeps } from '../balancing/balancer.js';
import { createBalancer, defaultDeps } from '../balancing/index.js';
import { Server } from './server.js';

export class Pool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly servers: Server[];
  readonly balancer: Balancer;

  constructor(config: PoolConfig, deps: BalancerDeps = defaultDeps) {
    this.name = config.name;
    this.config = config;
    this.servers = config.servers.map((s) => new Server(config.name, s));
    this.balancer = createBalancer(config.algorithm, deps);
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
