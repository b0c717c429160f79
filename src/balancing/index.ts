/** The algorithm registry: YAML name -> factory and declared needs. Adding an algorithm is one file and one line here. */

import type { AlgorithmConfig } from '../config/types.js';
import type { AlgorithmEntry, AlgorithmNeeds, Balancer, BalancerDeps } from './balancer.js';
import { customLoad, customLoadNeeds } from './custom-load.js';
import { hash, hashNeeds } from './hash.js';
import { leastBandwidth, leastBandwidthNeeds } from './least-bandwidth.js';
import { leastConnections } from './least-connections.js';
import { leastResponseTime } from './least-response-time.js';
import { moduleBalancer, moduleNeeds } from './module.js';
import { p2c } from './p2c.js';
import { randomAlgorithm } from './random.js';
import { roundRobin } from './round-robin.js';

export const ALGORITHMS: Readonly<Record<string, AlgorithmEntry>> = {
  'round-robin': { create: roundRobin },
  'least-connections': { create: leastConnections },
  'least-bandwidth': { create: leastBandwidth, needs: leastBandwidthNeeds },
  'least-response-time': { create: leastResponseTime },
  'hash': { create: hash, needs: hashNeeds },
  'p2c': { create: p2c },
  'random': { create: randomAlgorithm },
  'custom-load': { create: customLoad, needs: customLoadNeeds },
};

export const defaultDeps: BalancerDeps = {
  random: Math.random,
  now: () => performance.now(),
};

const NOTHING: AlgorithmNeeds = {};

/** Builds the algorithm a config names; `{ module }` gives a balancer that imports its file in `start()`. */
export function createBalancer(cfg: AlgorithmConfig, deps: BalancerDeps = defaultDeps): Balancer {
  if (cfg.name === 'module') return moduleBalancer(cfg, deps);
  return entry(cfg.name).create(cfg.options, { ...deps, create: (c) => createBalancer(c, deps) });
}

/** What the algorithm a config names needs (a request key, a bandwidth window, load reports), read from its options. */
export function needsOf(cfg: AlgorithmConfig): AlgorithmNeeds {
  if (cfg.name === 'module') return moduleNeeds(cfg.options);
  return entry(cfg.name).needs?.(cfg.options, needsOf) ?? NOTHING;
}

/** Same algorithm and options: a reload keeps the running instance (and its state). */
export function sameAlgorithm(a: AlgorithmConfig, b: AlgorithmConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function entry(name: string): AlgorithmEntry {
  const e = ALGORITHMS[name];
  // Config validation lists every name it knows, so this is a programming error, raised at start.
  if (!e) throw new Error(`unknown algorithm "${name}"; available: ${Object.keys(ALGORITHMS).join(', ')}`);
  return e;
}
