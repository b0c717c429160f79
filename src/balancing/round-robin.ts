/**
 * Smooth weighted round robin, as in nginx's ngx_http_upstream_get_peer: each pick adds every
 * server's weight to its running score, takes the highest, and subtracts the total from the
 * winner. Weights 5,1,1 give a a b a c a a (interleaved), not a burst of a.
 */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';

export const roundRobin: BalancerFactory = () => {
  // Running score per server name; survives snapshot changes, forgotten names are harmless.
  const current = new Map<string, number>();
  return {
    name: 'round-robin',
    pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
      let best: S | undefined;
      let bestScore = -Infinity;
      let total = 0;
      for (const s of ctx.servers) {
        const w = s.weight > 0 ? s.weight : 0;
        const score = (current.get(s.name) ?? 0) + w;
        current.set(s.name, score);
        total += w;
        if (score > bestScore) { best = s; bestScore = score; }
      }
      if (best) current.set(best.name, bestScore - total);
      return best;
    },
  };
};
