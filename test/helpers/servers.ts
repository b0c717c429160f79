/** Test helper for algorithm tables: mutable server views, scripted random sources, and a pick loop. */

import type { Balancer, BalancerDeps, ServerView } from '../../src/balancing/balancer.js';

export type MutableView = { -readonly [K in keyof ServerView]: ServerView[K] };

export function sv(name: string, fields: Partial<MutableView> = {}): MutableView {
  return { name, url: `ws://127.0.0.1/${name}`, weight: 1, active: 0, bandwidth: 0, rtt: 0, load: 0, ...fields };
}

/** Returns the values in order, then throws: a test that draws more randoms than it scripted fails loudly. */
export function scripted(values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error(`scripted random exhausted after ${values.length} draws`);
    return values[i++]!;
  };
}

export const deps = (values: number[] = []): BalancerDeps => ({ random: scripted(values), now: () => 0 });

/** A seeded Park-Miller generator for long runs. */
export function seeded(seed = 7): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Picks n times; with `hold`, each pick's server keeps the connection (active++). */
export function picks(b: Balancer, servers: MutableView[], n: number, opts: { hold?: boolean; key?: string } = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = b.pick({ servers, clientAddress: '127.0.0.1', ...(opts.key !== undefined ? { key: opts.key } : {}) });
    if (s && opts.hold) s.active++;
    out.push(s?.name ?? '-');
  }
  return out;
}

export function counts(names: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of names) c[n] = (c[n] ?? 0) + 1;
  return c;
}
