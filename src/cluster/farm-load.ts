/**
 * Load polls run once per process tree: the primary's pollers write load reports on its own
 * Pool objects (HealthHub's); each server's report (load, staleness, and any agent-style weight
 * or drain) goes to the workers, which apply it as their own poller would have.
 */

import type { Pool } from '../pool/pool.js';
import type { Server } from '../pool/server.js';
import type { Runtime } from '../runtime.js';
import { serverKey } from './counts.js';
import type { LoadState } from './protocol.js';

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
