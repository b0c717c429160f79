/** Health checks run once per process tree, in the primary: its own Pools probe the servers and every state change goes to all workers. */

import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { logStateChanges } from '../pool/health.js';
import { Pool } from '../pool/pool.js';
import type { HealthState } from './protocol.js';

export class HealthHub {
  readonly pools = new Map<string, Pool>();
  readonly #first = new Set<Promise<void>>();
  readonly #log: Logger;
  readonly #onChange: (states: HealthState[]) => void;

  constructor(config: Config, log: Logger, onChange: (states: HealthState[]) => void) {
    this.#log = log;
    this.#onChange = onChange;
    this.apply(config);
  }

  /**
   * Pools follow the config (a reload): kept servers keep their health. Discovered pools are
   * left to the workers (their members come from each worker's own DNS lookups).
   */
  apply(config: Config): void {
    for (const [name, pool] of this.pools) if (!config.pools[name] || config.pools[name].discover) { pool.destroy(); this.pools.delete(name); }
    for (const pc of Object.values(config.pools)) {
      if (pc.discover) continue;
      const pool = this.pools.get(pc.name);
      if (pool) { pool.update(pc); pool.retired.clear(); continue; }   // the workers drain removed servers; nothing to keep here
      const created = new Pool(pc);
      created.onStateChange(logStateChanges(this.#log));   // the tree's one line per health change (workers skip them)
      created.onStateChange((s) => this.#onChange([{ pool: s.pool, server: s.name, healthy: s.healthy, reason: s.downReason }]));
      this.pools.set(pc.name, created);
      this.#first.add(created.start());
    }
  }

  /** First results for every server (bounded by each pool's `health.timeout`). */
  async ready(): Promise<void> {
    await Promise.all(this.#first);
  }

  snapshot(): HealthState[] {
    return [...this.pools.values()].flatMap((p) => p.servers.map((s) => ({ pool: p.name, server: s.name, healthy: s.healthy, reason: s.downReason })));
  }

  close(): Promise<void> {
    return Promise.all([...this.pools.values()].map((p) => p.close())).then(() => {});
  }
}
