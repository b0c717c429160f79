/**
 * Load polls run once per process tree: the primary's pollers write load reports on its own
 * Pool objects (HealthHub's); each server's report (load, staleness, and any agent-style weight
 * or drain) goes to the workers, which apply it as their own poller would have. Reports are
 * snapshots sent whole per server: only the servers whose report changed, every tick.
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { Monitors } from '../pool/monitors.js';
import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Runtime } from '../runtime.js';
import { serverKey } from './counts.js';
import type { HealthHub } from './health-hub.js';
import type { LoadState, ToWorker } from './protocol.js';

/** The reason the load poller gives a drain it asked for (src/pool/load-poller.ts). */
const REPORT_DRAIN = 'load report: drain';

/** The report state of each server of the polled pools. The primary's pools are drained by nothing but their poller. */
export function loadStates(pools: Iterable<Pool>, polled: (pool: Pool) => boolean): LoadState[] {
  const out: LoadState[] = [];
  for (const p of pools) {
    if (!polled(p)) continue;
    for (const s of p.servers) out.push({ pool: p.name, server: s.name, load: s.load, stale: s.loadStale, error: s.loadError, weight: s.configWeight, drain: s.draining });
  }
  return out;
}

/** What to send this tick: the states that changed since the last call (all of them after `reset`). */
export class LoadChanges {
  #last = new Map<string, string>();

  next(states: readonly LoadState[]): LoadState[] {
    const seen = new Map<string, string>();
    const changed: LoadState[] = [];
    for (const st of states) {
      const key = serverKey(st.pool, st.server);
      const body = JSON.stringify(st);
      seen.set(key, body);
      if (this.#last.get(key) !== body) changed.push(st);
    }
    this.#last = seen;
    return changed;
  }

  reset(): void {
    this.#last.clear();
  }
}

/** A worker's side: the reports land on its Servers; drains it applied for a report are undone when a report no longer asks. */
export class LoadApplier {
  readonly #drained = new WeakSet<Server>();

  apply(rt: Runtime, states: readonly LoadState[]): void {
    for (const st of states) {
      const s = rt.pools.get(st.pool)?.server(st.server);
      if (!s) continue;
      s.load = st.load;
      s.loadStale = st.stale;
      s.loadError = st.error;
      if (s.configWeight !== st.weight) s.weight = st.weight;
      if (st.drain && !s.draining) {
        s.draining = true;
        s.reason = REPORT_DRAIN;
        this.#drained.add(s);
      } else if (!st.drain && this.#drained.has(s)) {
        this.#drained.delete(s);   // an admin drain is not ours to undo
        s.draining = false;
        if (s.reason === REPORT_DRAIN) s.reason = null;
      }
    }
  }
}

/** The primary's side: the tree's one set of load pollers on HealthHub's Pools; each worker gets the reports that changed. */
export class LoadHub {
  /** Load pollers only: the primary holds no tunnels, so no bandwidth to sample. */
  readonly monitors = new Monitors({ sample: false });
  readonly #sent = new Map<number, LoadChanges>();
  readonly #health: HealthHub;
  readonly #log: Logger;
  readonly #send: (w: Worker, m: ToWorker) => void;

  constructor(health: HealthHub, log: Logger, send: (w: Worker, m: ToWorker) => void) {
    this.#health = health;
    this.#log = log;
    this.#send = send;
  }

  /** Starts (or, after a reload, matches) the load pollers of the pools the primary checks; after a reload every worker gets every report again. */
  sync(config: Config, reloaded = false): void {
    const routes = config.routes.flatMap((r) => {
      const pool = this.#health.pools.get(r.pool);
      return pool ? [{ config: r, pool }] : [];
    });
    this.monitors.sync(this.#health.pools.values(), routes, this.#log);
    if (reloaded) for (const c of this.#sent.values()) c.reset();
  }

  /** A worker just started listening to messages: it gets every report now. */
  welcome(w: Worker): void {
    this.#sent.set(w.id, new LoadChanges());
    this.tick([w]);
  }

  forget(w: Worker): void {
    this.#sent.delete(w.id);
  }

  tick(workers: readonly Worker[]): void {
    const states = loadStates(this.#health.pools.values(), (p: Pool) => this.monitors.poller(p) !== null);
    for (const w of workers) {
      let c = this.#sent.get(w.id);
      if (!c) this.#sent.set(w.id, (c = new LoadChanges()));
      const changed = c.next(states);
      if (changed.length) this.#send(w, { t: 'load', states: changed });
    }
  }

  close(): void {
    this.monitors.close();
  }
}
