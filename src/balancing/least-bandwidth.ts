/**
 * Weighted least bandwidth: lowest recent traffic per unit of weight (HAProxy-style "least
 * traffic"; the figure is an EWMA of bytes/s in both directions that src/pool/bandwidth.ts
 * computes off the hot path). Ties go to fewer active tunnels per weight, then to chance,
 * so a burst of new clients between two samples still spreads over the idle servers.
 *
 * Option `window` (duration, default 10s) is the EWMA time constant; the pool's sampler reads it.
 */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';
import { perWeight, pickAmongLowest } from './lowest.js';

export const DEFAULT_BANDWIDTH_WINDOW_MS = 10_000;

export const leastBandwidth: BalancerFactory = (_options, { random }) => ({
  name: 'least-bandwidth',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    return pickAmongLowest(ctx.servers, (s) => perWeight(s.bandwidth, s.weight), random, (s) => perWeight(s.active, s.weight));
  },
});
