/**
 * Weighted least bandwidth: lowest recent traffic per unit of weight (HAProxy-style "least
 * traffic"; the figure is an EWMA of bytes/s in both directions that src/pool/bandwidth.ts
 * computes off the hot path). Ties go to fewer active tunnels per weight, then to chance,
 * so a burst of new clients between two samples still spreads over the idle servers.
 *
 * Option `window` (duration, default 10s) is the EWMA time constant of the pool's sampler.
 */

import type { BalancerFactory, NeedsOf, PickContext, ServerView } from './balancer.js';
import { perWeight, pickAmongLowest } from './lowest.js';

/** A `window` set here becomes the pool's sampler window; without one the sampler keeps its 10 s default. */
export const leastBandwidthNeeds: NeedsOf = (options) =>
  (typeof options['window'] === 'number' ? { bandwidthWindowMs: options['window'] } : {});

export const leastBandwidth: BalancerFactory = (_options, { random }) => ({
  name: 'least-bandwidth',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    return pickAmongLowest(ctx.servers, (s) => perWeight(s.bandwidth, s.weight), random, (s) => perWeight(s.active, s.weight));
  },
});
