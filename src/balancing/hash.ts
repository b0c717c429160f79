/**
 * Consistent hashing by weighted rendezvous hashing (see rendezvous.ts), with optional bounded
 * loads (Mirrokni, Thorup & Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2018).
 *
 * Why rendezvous and not a ring: the `consistent-hash` package places ring points with
 * Math.random(), so two replicas disagree on most keys; a ketama ring is deterministic but
 * needs ~100-160 virtual points per server for an even spread, only approximates weights,
 * and must be rebuilt whenever the ready set changes. Rendezvous needs no table: a key goes
 * to the ready server with the highest weight / -ln(hash(key, name)), so two processes with
 * the same server names agree, removing a server moves exactly its own keys (each to its next
 * choice, and back when it returns), adding one moves only the ~1/N keys it now wins, and
 * weights hold exactly in expectation. Cost is O(N) per handshake (measured on a 2-core machine: 1.5-1.8 M
 * lookups/s over 100 servers), which a per-handshake pick can afford.
 *
 * Options: `key` (ip, path, header:NAME, cookie:NAME, query:NAME, claim:NAME: a claim of the
 * token the route's `auth.jwt` verified; default ip), `fallback` (algorithm used when the
 * request lacks the key; default round-robin), `balance_factor`
 * (c > 1: no server takes a new connection while it holds ceil(c x (active total + 1) x
 * weight / total weight) or more; the key goes to its next choice that has room).
 */

import type { AlgorithmConfig } from '../config/types.js';
import type { Balancer, BalancerFactory, NeedsOf, PickContext, ServerView } from './balancer.js';
import { parseKeySpec } from './hash-key.js';
import { hashString, rendezvousScore } from './rendezvous.js';
import { roundRobin } from './round-robin.js';

/** The `key` option (default: the client IP), plus whatever the fallback reads. */
export const hashNeeds: NeedsOf = (options, of) => ({
  ...of(fallbackOf(options)),
  key: parseKeySpec(typeof options['key'] === 'string' ? options['key'] : 'ip'),
});

function fallbackOf(options: Readonly<Record<string, unknown>>): AlgorithmConfig {
  return { name: typeof options['fallback'] === 'string' ? options['fallback'] : 'round-robin', options: {} };
}

export const hash: BalancerFactory = (options, deps) => {
  const factor = typeof options['balance_factor'] === 'number' ? options['balance_factor'] : 0;
  const fallback: Balancer = deps.create ? deps.create(fallbackOf(options)) : roundRobin({}, deps);
  // Server name -> its hash, computed once per name (names are stable; a forgotten one costs a few bytes).
  const nameHashes = new Map<string, number>();
  const nameHash = (name: string): number => {
    let h = nameHashes.get(name);
    if (h === undefined) nameHashes.set(name, (h = hashString(name)));
    return h;
  };

  return {
    name: 'hash',
    pick<S extends ServerView>(ctx: PickContext<S>): S | undefined {
      if (ctx.key === undefined) return fallback.pick(ctx);
      const k = hashString(ctx.key);
      const servers = ctx.servers;
      if (factor > 0) return bounded(servers, k, factor, nameHash);
      let best: S | undefined;
      let bestScore = -Infinity;
      for (const s of servers) {
        const v = rendezvousScore(k, nameHash(s.name), s.weight);
        if (best === undefined || v > bestScore) { best = s; bestScore = v; }
      }
      return best;
    },
  };
};

/** Highest score among the servers below their cap: scores sorted once, walked in order. */
function bounded<S extends ServerView>(servers: readonly S[], k: number, factor: number, nameHash: (n: string) => number): S | undefined {
  let active = 0;
  let weight = 0;
  for (const s of servers) { active += s.active; weight += s.weight > 0 ? s.weight : 0; }
  const order = servers.map((s) => ({ s, v: rendezvousScore(k, nameHash(s.name), s.weight) }));
  order.sort((a, b) => (b.v > a.v ? 1 : b.v < a.v ? -1 : 0));   // not b.v - a.v: -Infinity - -Infinity is NaN
  for (const { s } of order) {
    const cap = weight > 0 ? Math.ceil((factor * (active + 1) * s.weight) / weight) : Infinity;
    if (s.active < cap) return s;
  }
  return order[0]?.s;   // unreachable with weights > 0: the caps add up to more than the load
}
