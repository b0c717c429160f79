/** What metrics and the dashboard's sampler read from the balancer's live state at scrape and sample time (src/runtime.ts's Runtime is one), so metrics/ never imports the runtime. */

import type { ListedPool } from '../pool/retired.js';

/** One route's plain counters, as read (the runtime increments them). */
export interface RouteCounts {
  readonly upgrades: number;
  /** Refusals by error code. */
  readonly rejections: ReadonlyMap<string, number>;
}

export interface TelemetrySource {
  /** Per route name. */
  readonly routeStats: ReadonlyMap<string, RouteCounts>;
  readonly reloads: { readonly ok: number; readonly ok_restart_required: number; readonly error: number };
  /** Upgrades admitted and not yet tunnelled or refused. */
  readonly pendingHandshakes: number;
  /** Pools with their members and retired servers still draining. */
  listedPools(): readonly ListedPool[];
}
