/**
 * Least response time: lowest EWMA response time x (active + 1) / weight (NGINX Plus
 * "least_time", Finagle's peak-EWMA idea without the peak). The RTT comes from upgrade
 * latency and health-check round trips (src/pool/rtt.ts). A server never measured has rtt 0
 * and so is tried first: that is how it gets its first measurement.
 */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';
import { perWeight, pickAmongLowest } from './lowest.js';

export const leastResponseTime: BalancerFactory = (_options, { random }) => ({
  name: 'least-response-time',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    return pickAmongLowest(ctx.servers, (s) => perWeight(s.rtt * (s.active + 1), s.weight), random, (s) => perWeight(s.active, s.weight));
  },
});
