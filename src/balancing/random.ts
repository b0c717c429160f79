/** Weighted random: each pick lands on a server with probability weight / total weight, independent of history (the baseline). */

import type { BalancerFactory, PickContext, ServerView } from './balancer.js';

export const randomAlgorithm: BalancerFactory = (_options, { random }) => ({
  name: 'random',
  pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
    return ctx.servers.length ? weightedDraw(ctx.servers, random(), null) : undefined;
  },
});

/**
 * The server whose cumulative-weight interval holds `r x total`, skipping `skip`.
 * With every weight 0 (reports can set 0) the draw is uniform instead.
 */
export function weightedDraw<S extends ServerView>(servers: readonly S[], r: number, skip: ReadonlySet<S> | null): S | undefined {
  let total = 0;
  let count = 0;
  for (const s of servers) if (!skip?.has(s)) { total += s.weight > 0 ? s.weight : 0; count++; }
  if (count === 0) return undefined;
  const uniform = total === 0;
  let x = r * (uniform ? count : total);
  let last: S | undefined;
  for (const s of servers) {
    if (skip?.has(s)) continue;
    const w = uniform ? 1 : s.weight > 0 ? s.weight : 0;
    if (w === 0) continue;
    if (x < w) return s;
    x -= w;
    last = s;
  }
  return last;   // r rounding up against the total
}
