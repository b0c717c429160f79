/**
 * Health checks and load polls run once per process tree, in the primary: its own Pools probe and
 * poll the servers of the configured pools (discovered pools are left to the workers: their members
 * come from each worker's own DNS lookups). Every tick each worker is sent the server reports that
 * changed for it (all of them when it says hello and after a reload); it applies them as its own
 * checks and poller would have (src/cluster/worker-role.ts).
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { logStateChanges } from '../pool/health.js';
import { Monitors } from '../pool/monitors.js';
import { Pool } from '../pool/pool.js';
import { serverKey, type ServerReport, type ToWorker } from './protocol.js';
import { TICK_MS } from './replicated-table.js';

/** One server's failed checks as the tree reports them (the workers do not check configured pools). */
export interface CheckCount { readonly pool: string; readonly server: string; readonly removed: boolean; readonly failures: number }

export class PrimaryChecks {
  readonly pools = new Map<string, Pool>();
  /** Load pollers only: the primary holds no tunnels, so no bandwidth to sample. */
  readonly monitors = new Monitors({ sample: false });
  /**
   * Failed checks of servers a reload removed, by pool and name, while workers still list that name
   * (draining; see prune()): wslb_health_check_failures_total of the tree never goes down.
   */
  readonly #removed = new Map<string, number>();
  readonly #first = new Set<Promise<void>>();
  /** Per worker, each server's report as last sent (JSON): what changed is sent, nothing else. */
  readonly #sent = new Map<Worker, Map<string, string>>();
  readonly #log: Logger;
  readonly #send: (w: Worker, m: ToWorker) => void;
  #timer: NodeJS.Timeout | null = null;

  constructor(config: Config, log: Logger, send: (w: Worker, m: ToWorker) => void) {
    this.#log = log;
    this.#send = send;
    this.apply(config);
  }

  /** Pools and load pollers follow the config (a reload): kept servers keep their health and reports. */
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
      this.pools.set(pc.name, created);
      this.#first.add(created.start());
    }
    const routes = config.routes.flatMap((r) => {
      const pool = this.pools.get(r.pool);
      return pool ? [{ config: r, pool }] : [];
    });
    this.monitors.sync(this.pools.values(), routes, this.#log);
  }

  /** First results for every server (bounded by each pool's `health.timeout`). */
  async ready(): Promise<void> {
    await Promise.all(this.#first);
  }

  /** Sends what changed to `workers()` every tick from now on. */
  start(workers: () => readonly Worker[]): void {
    this.#timer = setInterval(() => this.#tick(workers()), TICK_MS);
  }

  /** A worker just started listening to messages: it gets every report now (even none: its wait for them ends). */
  welcome(w: Worker): void {
    this.#sent.set(w, new Map());
    this.#send(w, { t: 'servers', reports: this.#changed(w, this.#bodies()) });
  }

  forget(w: Worker): void {
    this.#sent.delete(w);
  }

  /** After the workers applied a reload: every one gets every report again at the next tick (servers it did not know before). */
  resend(): void {
    for (const sent of this.#sent.values()) sent.clear();
  }

  /** Every server of the pools checked here: its health, and its load report when the pool is polled. */
  reports(): ServerReport[] {
    const out: ServerReport[] = [];
    for (const p of this.pools.values()) {
      const polled = this.monitors.poller(p) !== null;
      for (const s of p.servers) {
        const health = { pool: p.name, server: s.name, healthy: s.healthy, reason: s.status.downReason };
        // The primary's pools are drained by nothing but their poller: `drain` is the report's.
        out.push(polled ? { ...health, load: { load: s.load, stale: s.loadStale, error: s.loadError, weight: s.baseWeight, drain: s.draining } } : health);
      }
    }
    return out;
  }

  #tick(workers: readonly Worker[]): void {
    const bodies = this.#bodies();
    for (const w of workers) {
      const changed = this.#changed(w, bodies);
      if (changed.length) this.#send(w, { t: 'servers', reports: changed });
    }
  }

  /** Each report with its key and JSON text, computed once per tick for every worker. */
  #bodies(): { report: ServerReport; key: string; body: string }[] {
    return this.reports().map((report) => ({ report, key: serverKey(report.pool, report.server), body: JSON.stringify(report) }));
  }

  /** The reports that differ from what `w` was last sent; remembered as sent. */
  #changed(w: Worker, bodies: readonly { report: ServerReport; key: string; body: string }[]): ServerReport[] {
    const sent = this.#sent.get(w);
    const seen = new Map<string, string>();
    const changed: ServerReport[] = [];
    for (const { report, key, body } of bodies) {
      seen.set(key, body);
      if (sent?.get(key) !== body) changed.push(report);
    }
    this.#sent.set(w, seen);
    return changed;
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

  /** Forgets removed servers' counts once no worker lists a server of that pool and name any more. */
  prune(listed: (pool: string, server: string) => boolean): void {
    for (const k of this.#removed.keys()) {
      const [pool, server] = k.split('\0') as [string, string];
      if (!listed(pool, server)) this.#removed.delete(k);
    }
  }

  #keepCounts(removed: Iterable<{ readonly pool: string; readonly name: string; readonly checkFailures: number }>): void {
    for (const s of removed) {
      const key = `${s.pool}\0${s.name}`;
      if (s.checkFailures > 0) this.#removed.set(key, (this.#removed.get(key) ?? 0) + s.checkFailures);
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.monitors.close();
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}
