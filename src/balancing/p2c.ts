/**
 * Power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing", 2001): draw two distinct servers at random, keep the one with fewer active
 * tunnels per weight. Candidates are drawn in proportion to weight so a heavy server can
 * reach its share even in a small farm; ties keep the first draw (the draws are symmetric,
 * so that is unbiased). Option `choices` (integer >= 2, default 2) draws d instead of two.
 * O(N) per pick like the ready list it reads, but with no global order: suits large farms
 * and several balancers that cannot see each other's picks.
 */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';
import { perWeight } from './lowest.js';
import { weightedDraw } from './random.js';

export const p2c: BalancerFactory = (options, { random }) => {
  const choices = typeof options['choices'] === 'number' ? options['choices'] : 2;
  return {
    name: 'p2c',
    pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
      const servers = ctx.servers;
      if (servers.length <= 1) return servers[0];
      const drawn = new Set<S>();
      let best: S | undefined;
      let bestShare = Infinity;
      for (let i = 0; i < choices && drawn.size < servers.length; i++) {
        const s = weightedDraw(servers, random(), drawn)!;
        drawn.add(s);
        const v = perWeight(s.active, s.weight);
        if (best === undefined || v < bestShare) { best = s; bestShare = v; }
      }
      return best;
    },
  };
};
