/** Servers a reload or discovery removed while they still hold tunnels: listed under their pool (in /status and metrics) until empty. */

import type { Pool } from './pool.js';
import type { Server } from './server.js';

/** A pool as /status and metrics list it: members in config order, then its retired servers still draining. */
export interface ListedPool {
  readonly name: string;
  readonly algorithm: string;
  readonly servers: Server[];
  /** The entries of `servers` that were removed (shown with `removed: true`, state `draining`). */
  readonly retired: ReadonlySet<Server>;
}

export class RetiredServers {
  /** Pools a reload removed whose servers still drain; each leaves when its `retired` set is empty. */
  readonly pools = new Set<Pool>();

  /** A reload removed the whole pool: its members join its `retired` set (to drain); returns them. */
  poolRemoved(pool: Pool): Server[] {
    const members = pool.retireAll();
    if (pool.retired.size) this.pools.add(pool);
    return members;
  }

  /** A retired server drained: it leaves the retired sets of `live` pools and removed ones; an empty removed pool goes. */
  forget(server: Server, live: Iterable<Pool>): void {
    for (const pool of live) pool.retired.delete(server);
    for (const pool of this.pools) {
      pool.retired.delete(server);
      if (pool.retired.size === 0) this.pools.delete(pool);
    }
  }

  /** Every pool name with what it lists: `live` pools' members and retired servers, plus those of removed pools of that name. */
  listed(live: Iterable<Pool>): ListedPool[] {
    const out = new Map<string, { name: string; algorithm: string; servers: Server[]; retired: Set<Server> }>();
    for (const p of live) out.set(p.name, { name: p.name, algorithm: p.balancer.name, servers: [...p.servers], retired: new Set(p.retired) });
    for (const p of this.pools) {
      let e = out.get(p.name);
      if (!e) out.set(p.name, (e = { name: p.name, algorithm: p.balancer.name, servers: [], retired: new Set() }));
      for (const s of p.retired) e.retired.add(s);
    }
    for (const e of out.values()) e.servers.push(...e.retired);
    return [...out.values()];
  }
}
