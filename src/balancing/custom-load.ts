/**
 * Custom load: servers report their own load and the lowest score per unit of weight wins
 * (F5 "dynamic ratio", HAProxy agent-check, Kemp adaptive). The pool's poller
 * (src/pool/load-poller.ts) writes `load`, `loadStale` and any reported weight or drain.
 *
 * A server whose report is missing, failed or older than `stale_after` falls back to least
 * connections: it is scored as if it carried the fresh servers' mean load, scaled by its
 * connections per weight against the pool's mean, (share + 1) / (mean share + 1). So a stale
 * server with fewer tunnels than average looks lighter than average and one with more looks
 * heavier. When no server is fresh, this is plain weighted least connections.
 */

import type { BalancerFactory, NeedsOf, PickContext, ServerView } from './balancer.js';
import { perWeight, pickAmongLowest } from './lowest.js';

/** Reads `load`: its pool polls reports (with the defaults when the pool has no `load:` block). */
export const customLoadNeeds: NeedsOf = () => ({ loadReports: true });

export const customLoad: BalancerFactory = (_options, { random }) => ({
  name: 'custom-load',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    const servers = ctx.servers;
    let freshLoad = 0;
    let fresh = 0;
    let shares = 0;
    let weighted = 0;
    for (const s of servers) {
      if (!(s.weight > 0)) continue;   // weight 0 (a report can set it): last resort, kept out of the means
      weighted++;
      shares += s.active / s.weight;
      if (!s.loadStale) { freshLoad += s.load / s.weight; fresh++; }
    }
    const connections = (s: S) => perWeight(s.active, s.weight);
    if (fresh === 0) return pickAmongLowest(servers, connections, random);
    const meanLoad = freshLoad / fresh;
    const meanShare = shares / weighted;
    const score = (s: S) => (!(s.weight > 0) ? Infinity
      : s.loadStale ? (meanLoad * (s.active / s.weight + 1)) / (meanShare + 1)
      : s.load / s.weight);
    return pickAmongLowest(servers, score, random, connections);
  },
});
