/** What metrics and the dashboard's sampler read from the balancer's live state at scrape and sample time (src/runtime.ts's Runtime is one), so metrics/ never imports the runtime. */

import type { ListedPool } from '../pool/retired.js';

/** One route's plain counters, as read (the runtime increments them). */
export interface RouteCounts {
  readonly upgrades: number;
  /** Refusals by error code. */
  readonly rejections: ReadonlyMap<string, number>;
}

/**
 * Streams that arrived over HTTP/2 on `http2: true` listeners (src/edge/h2-front.ts counts them):
 * sessions (TLS connections that chose h2), WebSocket tunnels (extended CONNECT) and plain-HTTP
 * exchanges, open now and since start. Their tunnels and exchanges are in every other count too.
 */
export interface Http2Counts {
  sessions: number;
  sessionsTotal: number;
  tunnels: number;
  tunnelsTotal: number;
  exchanges: number;
  exchangesTotal: number;
}

export function http2Counts(): Http2Counts {
  return { sessions: 0, sessionsTotal: 0, tunnels: 0, tunnelsTotal: 0, exchanges: 0, exchangesTotal: 0 };
}

export interface TelemetrySource {
  /** Per route name. */
  readonly routeStats: ReadonlyMap<string, RouteCounts>;
  readonly reloads: { readonly ok: number; readonly ok_restart_required: number; readonly error: number };
  /** Upgrades admitted and not yet tunnelled or refused. */
  readonly pendingHandshakes: number;
  /** What arrived over HTTP/2 (absent: nothing can). */
  readonly http2?: Http2Counts;
  /** Pools with their members and retired servers still draining. */
  listedPools(): readonly ListedPool[];
}
