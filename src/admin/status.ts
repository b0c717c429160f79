/** The /status document, built from live state at request time. */

import type { Runtime } from '../runtime.js';
import type { ListenerAddress, PoolStatus, ShuttingDown, StatusDocument } from './status-document.js';

export type { ListenerAddress, ShuttingDown, StatusDocument } from './status-document.js';

export function shuttingDown(shutdown: { readonly graceEndsAt: number } | null, draining: boolean, now = Date.now()): ShuttingDown | null {
  if (!shutdown) return null;
  return { phase: draining ? 'drain' : 'grace', grace_ends_in_ms: draining ? 0 : Math.max(0, shutdown.graceEndsAt - now) };
}

export function statusDocument(rt: Runtime, listeners: readonly ListenerAddress[]): StatusDocument {
  const part = rt.role.status;
  const pools: Record<string, PoolStatus> = {};
  // Members, then servers a reload or discovery removed while their tunnels drain (`removed: true`,
  // state `draining`), listed until empty, under their pool even when the reload removed the pool.
  for (const pool of rt.listedPools()) {
    pools[pool.name] = {
      algorithm: pool.algorithm,   // a `{ module }` shows the name its factory returned
      servers: pool.servers.map((s) => ({
        name: s.name, url: s.url, state: s.state, reason: s.reason,
        ...(pool.retired.has(s) ? { removed: true as const } : {}),
        weight: s.baseWeight, effective_weight: s.weight,   // base: configured or a load report's; effective: ramped by slow start
        active: s.localActive, total: s.total,
        ...(part.farmColumns ? { active_farm: s.active } : {}),   // with `cluster:`: every instance's tunnels, what picks read
        bytes_in: s.bytesIn, bytes_out: s.bytesOut,
        messages_in: s.messagesIn, messages_out: s.messagesOut,
        // This process's bytes/s (a primary's merge sums them over its workers, nothing counted twice);
        // rtt_ms is the farm-wide mean that picks read, the same in every worker, so merges keep one.
        bandwidth_bps: s.localBandwidth, rtt_ms: s.rtt, load: s.load,
        ...(part.farmColumns ? { bandwidth_farm_bps: s.bandwidth } : {}),   // with `cluster:`: every instance's bytes/s
        load_stale: s.loadStale, load_error: s.loadError,   // stale: custom-load uses least-connections for it
        // Counters since start, summed over workers by a cluster merge: answers to upgrades that opened no
        // tunnel by class ("5xx": 3; src/metrics/answers.ts), failed health checks, outlier ejections.
        answers: { ...s.answers }, check_failures: s.checkFailures, ejections: s.ejectionsTotal,
      })),
    };
  }
  return {
    draining: rt.draining || rt.shutdown !== null,   // what /healthz says: true from the stop signal on
    shutting_down: shuttingDown(rt.shutdown, rt.draining),
    connections: rt.connections,
    listeners: listeners.filter((l) => l.kind === 'proxy'),
    routes: rt.routes.map((r) => ({ name: r.config.name, pool: r.pool.name, algorithm: r.balancer.name, match: r.config.match })),
    pools,
    http2: {
      sessions: rt.http2.sessions, sessions_total: rt.http2.sessionsTotal,
      tunnels: rt.http2.tunnels, tunnels_total: rt.http2.tunnelsTotal,
      exchanges: rt.http2.exchanges, exchanges_total: rt.http2.exchangesTotal,
    },
    ...part.sections(),   // with `cluster:`: the Redis link and what is shared
  };
}
