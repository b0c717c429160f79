/** Shared selection step for "least X" algorithms: the lowest score wins, ties broken by an optional second score, then uniformly at random. */

export function pickAmongLowest<S>(
  servers: readonly S[],
  score: (s: S) => number,
  random: () => number,
  tie?: (s: S) => number,
): S | undefined {
  let best = Infinity;
  let bestTie = Infinity;
  let ties = 0;
  let chosen: S | undefined;
  // Reservoir sampling over the tied minimum: one pass, no allocation, uniform among ties.
  for (const s of servers) {
    const v = score(s);
    const t = tie && v <= best ? tie(s) : 0;
    if (chosen === undefined || v < best || (v === best && t < bestTie)) { best = v; bestTie = t; chosen = s; ties = 1; }
    else if (v === best && t === bestTie) {
      ties++;
      if (random() * ties < 1) chosen = s;
    }
  }
  return chosen;
}

/** x / weight; a weight of 0 (a load report can set one) makes a server the last resort. */
export function perWeight(x: number, weight: number): number {
  return weight > 0 ? x / weight : Infinity;
}
