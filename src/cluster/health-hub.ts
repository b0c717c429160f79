/** Health checks run once per process tree, in the primary: its own Pools probe the servers and every state change goes to all workers. */

import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { logStateChanges } from '../pool/health.js';
import { Pool } from '../pool/pool.js';
import type { HealthState } from './protocol.js';

/** One server's failed checks as the tree reports them (the workers do not check configured pools). */
export interface CheckCount { readonly pool: string; readonly server: string; readonly removed: boolean; readonly failures: number }

const key = (pool: string, server: string): string => `${pool}\0${server}`;

export class HealthHub {
  readonly pools = new Map<string, Pool>();
  /**
   * Failed checks of servers a reload removed, by pool and name, while workers still list that name
   * (draining; see prune()): wslb_health_check_failures_total of the tree never goes down.
   */
  readonly #removed = new Map<string, number>();
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
    for (const [name, pool] of this.pools) {
      if (config.pools[name] && !config.pools[name].discover) continue;
      this.#keepCounts(pool.servers);
      pool.destroy();
      this.pools.delete(name);
    }
    for (const pc of Object.values(config.pools)) {
      if (pc.discover) continue;
      const pool = this.pools.get(pc.name);
      if (pool) { this.#keepCounts(pool.update(pc)); pool.retired.clear(); continue; }   // the workers drain removed servers; their counts stay here
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

  /** Failed checks per server of the pools checked here: members, then removed servers still counted. */
  checkCounts(): CheckCount[] {
    const out: CheckCount[] = [];
    for (const p of this.pools.values()) for (const s of p.servers) out.push({ pool: p.name, server: s.name, removed: false, failures: s.checkFailures });
    for (const [k, failures] of this.#removed) {
      const [pool, server] = k.split('\0') as [string, string];
      out.push({ pool, server, removed: true, failures });
    }
    return out;
  }

  /** Whether `pool` is checked here (its counts are the tree's); a discovered pool is checked in each worker. */
  checks(pool: string): boolean {
    return this.pools.has(pool);
  }

  /** Forgets removed servers' counts once no worker lists a server of that pool and name any more. */
  prune(listed: (pool: string, server: string) => boolean): void {
    for (const k of this.#removed.keys()) {
      const [pool, server] = k.split('\0') as [string, string];
      if (!listed(pool, server)) this.#removed.delete(k);
    }
  }

  #keepCounts(removed: Iterable<{ readonly pool: string; readonly name: string; readonly checkFailures: number }>): void {
    for (const s of removed) if (s.checkFailures > 0) this.#removed.set(key(s.pool, s.name), (this.#removed.get(key(s.pool, s.name)) ?? 0) + s.checkFailures);
  }

  snapshot(): HealthState[] {
    return [...this.pools.values()].flatMap((p) => p.servers.map((s) => ({ pool: p.name, server: s.name, healthy: s.healthy, reason: s.downReason })));
  }

  close(): Promise<void> {
    return Promise.all([...this.pools.values()].map((p) => p.close())).then(() => {});
  }
}
