/**
 * Weighted least connections: fewest active tunnels per unit of weight (HAProxy leastconn).
 * Ties are broken by the injected random source so no server is favoured by its position.
 */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';
import { perWeight, pickAmongLowest } from './lowest.js';

export const leastConnections: BalancerFactory = (_options, { random }) => ({
  name: 'least-connections',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    return pickAmongLowest(ctx.servers, (s) => perWeight(s.active, s.weight), random);
  },
});
