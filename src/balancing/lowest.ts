/** Shared selection step for "least X" algorithms: the lowest score wins, ties broken uniformly at random. */

export function pickAmongLowest<S>(servers: readonly S[], score: (s: S) => number, random: () => number): S | undefined {
  let best = Infinity;
  let ties = 0;
  let chosen: S | undefined;
  // Reservoir sampling over the tied minimum: one pass, no allocation, uniform among ties.
  for (const s of servers) {
    const v = score(s);
    if (v < best) { best = v; chosen = s; ties = 1; }
    else if (v === best) {
      ties++;
      if (random() * ties < 1) chosen = s;
    }
  }
  return chosen;
}
